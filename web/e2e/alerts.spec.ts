// The Alerts page as an operator uses it: a simulated miner overheats (the demo's fault injection),
// the notification comes within two poll intervals of the miner running hot, "View alert" opens it
// on the Alerts page, the operator acknowledges it, the fault is cleared, and the alert resolves by
// itself, live (no reload). And axe on the page, loading and loaded.
import type { APIRequestContext, Page } from "@playwright/test";
import {
  CUSTOMER, NO_CHROMIUM, OPERATOR, apiToken, chromiumPath, expect, expectAccessible, heading, holdData, signIn, test,
} from "./fixtures";

test.skip(!chromiumPath(), NO_CHROMIUM);

// The health monitor's poll interval: ResourcesSettings.poll_interval_s, which e2e/platform.ts
// leaves at its default (HCP_RESOURCES__POLL_INTERVAL_S unset).
const POLL_INTERVAL_MS = 10_000;
// Where the monitor calls an ASIC hot (ResourcesSettings.asic_temp_warning_c).
const HOT_C = 85;
// The WebSocket, the page and a busy two-core machine, on top of the two poll intervals.
const SLACK_MS = 3_000;

interface SimAsic {
  id: string;
  kind: string;
  address: string;
  firmware: string;
  status: string;
  mode: string;
  faults: string[];
  hashrate_ths: number;
  chip_temp_c: number[];
}

interface Unit {
  id: string;
  address: string | null;
  status: string;
  health: string;
  mode: string;
}

async function getJson<T>(request: APIRequestContext, token: string, path: string): Promise<T> {
  const response = await request.get(path, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status(), `${path}: ${await response.text()}`).toBe(200);
  return (await response.json()) as T;
}

/** A LuxOS miner of the simulator (its temperatures are read on every poll; stock firmware's
 * only every minute) that mines, healthy, with no alert open; and its id in the resource manager. */
async function healthyMiner(request: APIRequestContext, token: string): Promise<{ sim: SimAsic; unitId: string }> {
  const sims = await getJson<{ items: SimAsic[] }>(request, token, "/api/v1/sim/units?kind=asic");
  const units = await getJson<{ items: Unit[] }>(request, token, "/api/v1/resources?kind=asic&limit=1000");
  const open = await getJson<{ items: { subject_kind: string; subject_id: string; status: string }[] }>(
    request, token, "/api/v1/alerts?subject_kind=unit&limit=1000");
  const alerting = new Set(open.items.filter((a) => a.status !== "resolved").map((a) => a.subject_id));
  for (const sim of sims.items) {
    if (sim.firmware !== "luxos" || sim.status !== "online" || sim.mode !== "mining" || sim.faults.length > 0) continue;
    if (sim.hashrate_ths <= 0 || Math.max(...sim.chip_temp_c) >= HOT_C - 5) continue;
    const unit = units.items.find((u) => u.address === sim.address);
    if (unit && unit.status === "online" && unit.health === "ok" && unit.mode === "mining" && !alerting.has(unit.id)) {
      return { sim, unitId: unit.id };
    }
  }
  throw new Error(`no healthy LuxOS miner mining: ${JSON.stringify(sims.items.map((s) => [s.id, s.firmware, s.mode, s.faults]))}`);
}

async function hottestChip(request: APIRequestContext, token: string, simId: string): Promise<number> {
  const sim = await getJson<SimAsic>(request, token, `/api/v1/sim/units/${simId}`);
  return Math.max(...sim.chip_temp_c);
}

async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __hcpAlerts: number }).__hcpAlerts = 1));
}

async function expectNotReloaded(page: Page): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { __hcpAlerts?: number }).__hcpAlerts), "the page was reloaded").toBe(1);
}

test("operator: an overheating miner's alert, notified, acknowledged, resolved by itself", async ({ page }) => {
  // Heating past 85 °C takes the simulated chips ~20 s of real time, cooling back ~30 s, each
  // followed by up to one poll (10 s).
  test.setTimeout(240_000);
  const request = page.request;
  await signIn(page, OPERATOR);
  await expect(page.getByRole("status", { name: "Live updates: live" }).or(page.getByLabel("Live updates: live")).first())
    .toBeVisible({ timeout: 15_000 });
  await markDocument(page);
  const token = await apiToken(request, OPERATOR);
  const { sim, unitId } = await healthyMiner(request, token);
  const headers = { authorization: `Bearer ${token}` };
  let cleared = false;

  try {
    const injected = await request.post(`/api/v1/sim/units/${sim.id}/fault`, { headers, data: { type: "overheat" } });
    expect(injected.status(), await injected.text()).toBe(200);

    // The chips heat at the demo's real-time speed: from the moment they are hot, the health
    // monitor's next poll sees it and the alert follows, so the notification is due within two
    // poll intervals.
    await expect.poll(() => hottestChip(request, token, sim.id), {
      message: `${sim.id}'s chips reaching ${HOT_C} °C`, timeout: 90_000, intervals: [500],
    }).toBeGreaterThanOrEqual(HOT_C);
    const notifications = page.getByRole("region", { name: "Notifications" });
    const notification = notifications.getByRole("alert").filter({ hasText: unitId }).filter({ hasText: "temperature" });
    await expect(notification, "the overheat notification").toBeVisible({ timeout: 2 * POLL_INTERVAL_MS + SLACK_MS });
    await expect(notification).toContainText("temperature at or above");

    await notification.getByRole("link", { name: "View alert" }).click();
    await expect(page).toHaveURL(/\/app\/alerts\?id=/);
    const dialog = page.getByRole("dialog", { name: "Alert: Temperature" });
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText(`Unit ${unitId}`);
    await expect(dialog.getByText(/^Status: Open$/)).toBeVisible();
    // The list behind the dialog has it too, marked as the one open.
    const alertId = new URL(page.url()).searchParams.get("id")!;
    expect(alertId).toBeTruthy();

    await dialog.getByRole("button", { name: "Acknowledge", exact: true }).click();
    await expect(dialog.getByText(/^Status: Acknowledged$/)).toBeVisible();
    await expect(dialog).toContainText(`by ${OPERATOR.email}`);
    await expect(dialog.getByRole("button", { name: "Acknowledge", exact: true })).toHaveCount(0);
    await expectAccessible(page, "the Alerts page with an alert's dialog open");

    const clear = await request.delete(`/api/v1/sim/units/${sim.id}/fault`, { headers });
    expect(clear.status(), await clear.text()).toBe(200);
    cleared = true;

    // The chips cool, the next poll finds the miner healthy, and the alert resolves by itself:
    // the dialog (and the row behind it) follow the live event, without a reload.
    await expect(dialog.getByText(/^Status: Resolved$/)).toBeVisible({ timeout: 120_000 });
    await expect(dialog).toContainText("automatically");
    await expect(dialog.getByRole("button", { name: "Resolve", exact: true })).toHaveCount(0);
    await expectNotReloaded(page);

    await dialog.getByRole("button", { name: "Close", exact: true }).click();
    await expect(dialog).toBeHidden();
    await expect(page).toHaveURL(/\/app\/alerts$/);
    await expect(heading(page, "Alerts")).toBeVisible();
    const row = page.getByRole("row").filter({ hasText: unitId }).filter({ hasText: "Temperature" }).first();
    await expect(row).toContainText("Resolved");
    await expectNotReloaded(page);

    const resolved = await getJson<{ status: string; acked_by: string; resolved_by: string }>(
      request, token, `/api/v1/alerts/${alertId}`);
    expect(resolved).toMatchObject({ status: "resolved", acked_by: OPERATOR.email, resolved_by: "auto" });
  } finally {
    if (!cleared) await request.delete(`/api/v1/sim/units/${sim.id}/fault`, { headers }).catch(() => undefined);
  }
});

test("operator: the Alerts page filters by status, kept in the URL", async ({ page }) => {
  await signIn(page, OPERATOR);
  await page.getByRole("navigation", { name: "Main navigation" }).getByRole("link", { name: "Alerts" }).click();
  await expect(heading(page, "Alerts")).toBeVisible();
  await expect(page.getByRole("region", { name: "Critical", exact: true })).toContainText(/\d+ open/);
  await page.getByRole("combobox", { name: "Status" }).click();
  await page.getByRole("option", { name: "Resolved" }).click();
  await expect(page).toHaveURL(/[?&]status=resolved/);
  const table = page.getByRole("table", { name: "All alerts" });
  await expect(table.getByRole("row").nth(1)).toBeVisible();
  for (const row of await table.getByRole("row").all()) {
    const text = await row.innerText();
    if (/^Severity/.test(text) || /No alerts/.test(text)) continue;
    expect(text).toContain("Resolved");
  }
  await page.reload();
  await expect(page.getByRole("combobox", { name: "Status" })).toHaveText("Resolved");
});

test("axe: the Alerts page, loading and loaded", async ({ page }) => {
  await signIn(page, OPERATOR);
  const release = await holdData(page);
  await page.goto("/app/alerts", { waitUntil: "domcontentloaded" });
  await expect(heading(page, "Alerts")).toBeVisible();
  await expectAccessible(page, "the Alerts page (loading)");
  await release();
  await expect(page.getByRole("region", { name: "Critical", exact: true })).toContainText(/\d+ open/);
  await expect(page.getByRole("table", { name: "All alerts" }).getByText("Loading the alerts")).toHaveCount(0);
  await expectAccessible(page, "the Alerts page (loaded)");
});

test("customer: the operators' Alerts page is not there for them", async ({ page }) => {
  await signIn(page, CUSTOMER);
  await expect(page.getByRole("navigation", { name: "Main navigation" }).getByRole("link", { name: "Alerts" })).toHaveCount(0);
  await page.goto("/app/alerts");
  await expect(heading(page, "Page not found")).toBeVisible();
});
