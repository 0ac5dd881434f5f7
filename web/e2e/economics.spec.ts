// The Economics page as an operator uses it: open it from the navigation, lower a facility's cap
// below what the plan draws there with a demand-response window starting now, and watch the plan
// come under the new cap (the planner replans at once on a window in force); a window ending
// before it starts is refused beside its field; the window is cancelled behind a confirmation.
// And axe on the page, loading and loaded.
import type { Locator, Page } from "@playwright/test";
import { NO_CHROMIUM, OPERATOR, chromiumPath, expect, expectAccessible, heading, holdData, signIn, test } from "./fixtures";

test.skip(!chromiumPath(), NO_CHROMIUM);

const FACILITY = "Texas North";
const REASON = "E2E grid call";
// A replan (~1 s after the window), the page's refetch (2.5 s after the create, or the live
// plan.decided event) and a busy two-core machine.
const REPLAN_MS = 15_000;

/** A datetime-local value in the browser's zone (the same as this process's). */
function localInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function planRow(page: Page, name: string): Locator {
  return page.getByRole("table", { name: "Plan by facility" }).getByRole("row").filter({
    has: page.getByRole("rowheader", { name, exact: true }),
  });
}

/** What the plan draws at a facility, its cap in force and its running work, in kW, as the row shows them. */
async function planned(page: Page, name: string): Promise<{ power: number; cap: number; running: number }> {
  // cells: mining, spot, workload, idle, curtailed, power against cap, running work, ...
  const cells = await planRow(page, name).getByRole("cell").allTextContents();
  const m = /([\d,.]+) kW of ([\d,.]+) kW/.exec(cells[5] ?? "");
  const r = /([\d,.]+) kW/.exec(cells[6] ?? "");
  expect(m && r, `the plan's row of ${name}: ${cells.join(" | ")}`).toBeTruthy();
  const n = (s: string | undefined) => Number((s ?? "").replace(/,/g, ""));
  return { power: n(m![1]), cap: n(m![2]), running: n(r![1]) };
}

test("an operator lowers a facility's cap for a window and the plan follows at once", async ({ page }) => {
  await signIn(page, OPERATOR);
  await page.getByRole("navigation", { name: "Main navigation" }).getByRole("link", { name: "Economics" }).click();
  await expect(heading(page, "Economics")).toBeVisible();
  await expect(planRow(page, FACILITY)).toBeVisible({ timeout: 20_000 });
  const before = await planned(page, FACILITY);
  // Halfway between the running work (a commitment the plan cannot move) and what it draws now.
  const cap = Math.floor((before.power + before.running) / 2);
  expect(cap, `a cap under ${before.power} kW above the running work ${before.running} kW`).toBeGreaterThan(before.running);
  expect(cap).toBeLessThan(before.power);

  const form = page.getByRole("form", { name: "New window" });
  await form.getByLabel("Facility").selectOption({ label: FACILITY });
  await form.getByLabel("Cap (kW)").fill(String(cap));
  await form.getByLabel("Reason").fill(REASON);
  // Ending before it starts: refused, and said beside the field.
  await form.getByLabel("Ends").fill("2020-01-01T00:00");
  await form.getByRole("button", { name: "Create window" }).click();
  await expect(form.getByLabel("Ends")).toHaveAccessibleDescription(/must be after starts_at/);

  await form.getByLabel("Ends").fill(localInput(new Date(Date.now() + 3600_000)));
  await form.getByRole("button", { name: "Create window" }).click();
  await expect(form.getByRole("status")).toContainText(`Window created: ${cap.toFixed(1)} kW at ${FACILITY}`);

  await expect(planRow(page, FACILITY)).toContainText(REASON, { timeout: REPLAN_MS });
  await expect.poll(async () => (await planned(page, FACILITY)).power, { timeout: REPLAN_MS }).toBeLessThanOrEqual(cap);
  expect((await planned(page, FACILITY)).cap).toBe(cap);

  const windows = page.getByRole("table", { name: "Demand-response windows" });
  await expect(windows.getByRole("row").filter({ hasText: REASON })).toContainText("In force");
  await expectAccessible(page, "Economics with a window in force");

  await page.getByRole("button", { name: `Cancel the window at ${FACILITY}: ${REASON}` }).click();
  const dialog = page.getByRole("dialog", { name: "Cancel this demand-response window?" });
  await expect(dialog).toContainText("goes back to its own cap at once");
  await dialog.getByRole("button", { name: "Cancel window" }).click();
  await expect(dialog).toBeHidden();
  await expect(windows.getByRole("row").filter({ hasText: REASON })).toHaveCount(0);
  await expect(planRow(page, FACILITY)).not.toContainText(REASON, { timeout: REPLAN_MS });
  expect((await planned(page, FACILITY)).cap).toBe(before.cap);
});

test("axe: the Economics page, loading and loaded", async ({ page }) => {
  await signIn(page, OPERATOR);
  const release = await holdData(page);
  await page.goto("/app/economics", { waitUntil: "domcontentloaded" });
  await expect(heading(page, "Economics")).toBeVisible();
  await expectAccessible(page, "Economics (loading)");
  await release();
  await expect(planRow(page, FACILITY)).toBeVisible({ timeout: 20_000 });
  await expect(page.getByRole("figure", { name: /Bitcoin/ })).toBeVisible();
  await expectAccessible(page, "Economics (loaded)");
});
