// Workloads as an operator works them (real `hcp up --demo`): Acme submits two workloads through the
// public API; the operator filters to Acme and to their names (kept in the URL), opens one and sees
// its timeline, cancels it through the confirmation and sees it cancelled, exports the filtered set
// (as many rows as the total shown, Acme's only); axe on the page loading and loaded, and the dialog.
import { readFileSync } from "node:fs";
import type { Page } from "@playwright/test";
import {
  CUSTOMER, NO_CHROMIUM, OPERATOR, apiToken, chromiumPath, expect, expectAccessible, heading, holdData, signIn,
  submitWorkload, test, uniqueName,
} from "./fixtures";

test.skip(!chromiumPath(), NO_CHROMIUM);

const ACME = "Acme Corp";

async function chooseOption(page: Page, field: string, option: string): Promise<void> {
  await page.getByRole("combobox", { name: field, exact: true }).click();
  await page.getByRole("option", { name: option, exact: true }).click();
}

/** The filtered total the page shows ("2 workloads match"). */
async function shownTotal(page: Page): Promise<number> {
  const status = page.getByTestId("workloads-total");
  await expect(status).toHaveText(/^\d[\d,]* workloads? match$/);
  return Number((await status.innerText()).split(" ")[0]!.replace(/,/g, ""));
}

/** Rows of a CSV text split at every comma: enough for the header and the first column (these names hold no
 * comma or line break). */
function csvRows(text: string): string[][] {
  return text.split(/\r\n/).filter((line) => line !== "").map((line) => line.split(","));
}

test("an operator filters to a customer's workloads, opens one, cancels it and exports the set", async ({ page }) => {
  const token = await apiToken(page.request, CUSTOMER);
  const prefix = uniqueName("e2e-wl");
  const ids = [await submitWorkload(page.request, token, `${prefix}-a`), await submitWorkload(page.request, token, `${prefix}-b`)];

  await signIn(page, OPERATOR);
  await page.getByRole("navigation", { name: "Main navigation" }).getByRole("link", { name: "Workloads" }).click();
  await expect(heading(page, "Workloads")).toBeVisible();
  await expect(page.getByRole("region", { name: "Batch queue" })).toContainText(/\d+ waiting/);
  await expect(page.getByRole("region", { name: "Switch latency" })).toBeVisible();

  const byAcme = page.waitForResponse((r) => {
    const url = new URL(r.url());
    return url.pathname === "/api/v1/workloads" && url.searchParams.has("tenant_id") && !url.searchParams.has("q");
  });
  await chooseOption(page, "Customer", ACME);
  await expect(page).toHaveURL(/[?&]customer=[^&]+/);
  const acmeTotal = ((await (await byAcme).json()) as { total: number }).total;
  expect(acmeTotal).toBeGreaterThanOrEqual(2);
  const table = page.getByRole("table", { name: "Workloads", exact: true });
  const rows = table.getByRole("row").filter({ has: page.getByRole("link") });
  await expect(rows.first()).toBeVisible();
  for (const text of await rows.allInnerTexts()) expect(text).toContain(ACME);

  await page.getByRole("searchbox", { name: "Search" }).fill(prefix);
  await expect(page).toHaveURL(new RegExp(`[?&]q=${prefix}`));
  expect(await shownTotal(page)).toBe(2);
  // The URL keeps the filters: a reload shows the same workloads.
  await page.reload();
  await expect(heading(page, "Workloads")).toBeVisible();
  await expect(page.getByRole("combobox", { name: "Customer", exact: true })).toHaveText(ACME);
  expect(await shownTotal(page)).toBe(2);

  // The export holds the whole filtered set: as many rows as the total, Acme's only.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export CSV" }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^hcp-workloads-.*\.csv$/);
  const csv = csvRows(readFileSync((await download.path())!, "utf8"));
  const header = csv[0]!;
  expect(header.slice(0, 4)).toEqual(["id", "name", "tenant_id", "type"]);
  expect(csv.length - 1).toBe(await shownTotal(page));
  expect(new Set(csv.slice(1).map((r) => r[0]))).toEqual(new Set(ids)); // id is first: later cells may hold commas

  // Open one: its timeline says it was admitted to the queue.
  await table.getByRole("link", { name: `${prefix}-a` }).click();
  const dialog = page.getByRole("dialog", { name: `Workload ${prefix}-a` });
  const timeline = dialog.getByRole("list", { name: "State timeline" });
  await expect(timeline).toContainText("Submitted");
  await expect(timeline).toContainText("Queued (from submitted): admitted");
  await expect(page).toHaveURL(new RegExp(`[?&]id=${ids[0]}`));

  // Cancel it, through the confirmation.
  await dialog.getByRole("button", { name: "Cancel workload" }).click();
  const confirm = page.getByRole("dialog", { name: `Cancel ${prefix}-a?` });
  await expect(confirm).toContainText("cannot be undone");
  await confirm.getByRole("button", { name: "Cancel workload" }).click();
  await expect(confirm).toBeHidden();
  await expect(timeline).toContainText("cancelled by user");
  await expect(dialog.getByRole("button", { name: "Cancel workload" })).toHaveCount(0);
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect(table.getByRole("row", { name: new RegExp(`${prefix}-a`) })).toContainText("Cancelled");
  const seen = await page.request.get(`/api/v1/workloads/${ids[0]}`, { headers: { authorization: `Bearer ${token}` } });
  expect(((await seen.json()) as { status: string }).status).toBe("cancelled");
  // Leave nothing running for the other specs.
  await page.request.post(`/api/v1/workloads/${ids[1]}/cancel`, { headers: { authorization: `Bearer ${token}` } });
});

test("axe: the workloads page loading and loaded, and a workload's dialog", async ({ page }) => {
  const token = await apiToken(page.request, CUSTOMER);
  const name = uniqueName("e2e-axe");
  const id = await submitWorkload(page.request, token, name);
  try {
    await signIn(page, OPERATOR);
    await page.goto("/app/workloads");
    await expect(heading(page, "Workloads")).toBeVisible();
    const release = await holdData(page);
    await page.reload({ waitUntil: "domcontentloaded" });
    await expect(heading(page, "Workloads")).toBeVisible();
    await expectAccessible(page, "the workloads page (loading)");
    await release();
    await expect(page.getByTestId("workloads-total")).toHaveText(/^\d[\d,]* workloads?$/);
    await expect(page.getByRole("region", { name: "Inference queue" })).toContainText(/waiting/);
    await expectAccessible(page, "the workloads page (loaded)");
    await page.goto(`/app/workloads?id=${id}`);
    const dialog = page.getByRole("dialog", { name: `Workload ${name}` });
    await expect(dialog.getByRole("list", { name: "State timeline" })).toContainText("Queued");
    await expect(dialog.getByText(/No GPU has switched|Switches/).first()).toBeVisible();
    await expectAccessible(page, "a workload's dialog");
  } finally {
    await page.request.post(`/api/v1/workloads/${id}/cancel`, { headers: { authorization: `Bearer ${token}` } });
  }
});
