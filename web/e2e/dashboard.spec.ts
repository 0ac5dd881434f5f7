// The operations dashboard as an operator and an admin read it: every section shows a value within
// seconds, power per facility shows each facility with its cap (and a demand-response window
// announced through the API), the open alerts link to the alerts page filtered, an admin sees the
// revenue this month; axe on the loaded page.
import type { APIRequestContext, Page } from "@playwright/test";
import {
  ADMIN, NO_CHROMIUM, OPERATOR, apiToken, chromiumPath, expect, expectAccessible, figure, heading, signIn, test,
} from "./fixtures";

test.skip(!chromiumPath(), NO_CHROMIUM);

/** The headline figures: a StatCard each, whose value is its first paragraph. */
const HEADLINES = ["Hashrate", "Power", "GPUs busy", "Profit per hour", "Queue"];
/** The sections below them, by heading. */
const SECTIONS = ["Power by facility", "Fleet by mode", "GPUs by model", "Prices", "Open alerts", "Active workloads by customer"];

interface Facility {
  id: string;
  name: string;
  power_cap_kw: number;
}

/** A cap as the dashboard writes it (format.ts' formatPower). */
function power(kw: number): string {
  const group = (v: number, digits: number) =>
    new Intl.NumberFormat("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
  return kw >= 1000 ? `${group(kw / 1000, 2)} MW` : `${group(kw, 1)} kW`;
}

async function getJson<T>(request: APIRequestContext, token: string, path: string): Promise<T> {
  const response = await request.get(path, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status(), await response.text()).toBe(200);
  return (await response.json()) as T;
}

async function expectSectionsFilled(page: Page): Promise<void> {
  for (const name of HEADLINES) {
    const value = figure(page, name).locator("p").first();
    await expect(value, `${name}'s value`).toHaveText(/\d/);
    await expect(value, `${name}'s value`).not.toHaveText("—");
  }
  for (const name of SECTIONS) {
    const section = figure(page, name);
    await expect(section.getByRole("heading", { level: 2, name, exact: true })).toBeVisible();
    await expect(section, `${name} loaded`).not.toHaveAttribute("aria-busy", "true");
    await expect(section.getByRole("status")).toHaveCount(0); // no skeleton left
    await expect(section.getByRole("alert")).toHaveCount(0);
    await expect(section, name).toContainText(/\d/);
  }
}

test("operator: every section filled, power per facility against its cap, alerts by severity linked", async ({ page, request }) => {
  const token = await apiToken(request, OPERATOR);
  const facilities = (await getJson<{ items: Facility[] }>(request, token, "/api/v1/facilities")).items;
  expect(facilities.length).toBeGreaterThanOrEqual(3);
  // A demand-response window to come (by the platform's clock), on the first facility.
  const { now } = await getJson<{ now: string }>(request, token, "/api/v1/market/prices");
  const start = Date.parse(now) + 3600_000;
  const target = facilities[0]!;
  const created = await request.post("/api/v1/economics/demand-response", {
    headers: { authorization: `Bearer ${token}` },
    data: { facility_id: target.id, power_cap_kw: 12.3, starts_at: new Date(start).toISOString(),
      ends_at: new Date(start + 3600_000).toISOString(), reason: "e2e: dashboard" },
  });
  expect(created.status(), await created.text()).toBe(201);
  const windowId = ((await created.json()) as { id: string }).id;
  try {
    await signIn(page, OPERATOR);
    await expect(page.getByText("Admin", { exact: true })).toHaveCount(0);
    await expectSectionsFilled(page);
    await expect(figure(page, "Revenue, month to date")).toHaveCount(0);

    const byFacility = figure(page, "Power by facility");
    for (const f of facilities) {
      const row = byFacility.getByRole("row").filter({ has: page.getByRole("rowheader", { name: f.name }) });
      await expect(row, f.name).toContainText(power(f.power_cap_kw));
      await expect(row, f.name).toContainText(/\d+(\.\d)? (kW|MW)/);
      await expect(row.getByRole("progressbar", { name: `${f.name}: share of the cap drawn` })).toBeVisible();
    }
    const targetRow = byFacility.getByRole("row").filter({ has: page.getByRole("rowheader", { name: target.name }) });
    await expect(targetRow).toContainText("Next: 12.3 kW", { timeout: 20_000 }); // refetched, no reload

    const alerts = figure(page, "Open alerts");
    const critical = alerts.getByRole("link", { name: /^\d+ open critical alerts$/ });
    await expect(critical).toBeVisible();
    await critical.click();
    await expect(heading(page, "Alerts")).toBeVisible();
    expect(new URL(page.url()).pathname).toBe("/app/alerts");
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ status: "open", severity: "critical" });
  } finally {
    await request.delete(`/api/v1/economics/demand-response/${windowId}`, { headers: { authorization: `Bearer ${token}` } });
  }
});

test("admin: revenue month to date, and axe on the loaded dashboard", async ({ page }) => {
  await signIn(page, ADMIN);
  const revenue = figure(page, "Revenue, month to date");
  await expect(revenue.getByRole("heading", { level: 2, name: "Revenue, month to date" })).toBeVisible();
  await expect(revenue.locator("p").first()).toHaveText(/^\$\d[\d,]*\.\d\d$/);
  await expect(revenue).toContainText(/AI \$[\d,.]+ · Mining \$[\d,.]+/);
  await expectSectionsFilled(page);
  await expectAccessible(page, "the operations dashboard as Admin (loaded)");
});
