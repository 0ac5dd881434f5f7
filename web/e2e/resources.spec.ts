// Resources as an operator works them: filter to one facility's miners (kept in the URL, across a
// reload), export them as CSV (as many rows as the total shown), open one, see its chart, curtail
// it through the confirmation and see its mode change; axe on the list and the unit page, loading
// and loaded.
import { readFileSync } from "node:fs";
import type { Page } from "@playwright/test";
import {
  NO_CHROMIUM, OPERATOR, apiToken, chromiumPath, expect, expectAccessible, heading, holdData, signIn, test,
} from "./fixtures";

test.skip(!chromiumPath(), NO_CHROMIUM);

const FACILITY = { id: "tx-north", name: "Texas North" };

async function chooseOption(page: Page, field: string, option: string): Promise<void> {
  await page.getByRole("combobox", { name: field, exact: true }).click();
  await page.getByRole("option", { name: option, exact: true }).click();
}

/** The filtered total the page shows ("12 units match"). */
async function shownTotal(page: Page): Promise<number> {
  const status = page.getByTestId("units-total");
  await expect(status).toHaveText(/^\d[\d,]* units? match$/);
  return Number((await status.innerText()).split(" ")[0]!.replace(/,/g, ""));
}

/** The list's request for tx-north's miners. */
function isFilteredList(href: string): boolean {
  const url = new URL(href);
  return url.pathname === "/api/v1/resources" && url.searchParams.get("facility_id") === FACILITY.id &&
    url.searchParams.get("kind") === "asic";
}

/** RFC 4180 rows of a CSV text (quoted fields may hold commas and line breaks). */
function csvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 1; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i += 1;
      row.push(cell); rows.push(row); row = []; cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length > 0) { row.push(cell); rows.push(row); }
  return rows;
}

test("an operator filters to one facility's miners, exports them, opens one and curtails it", async ({ page }) => {
  await signIn(page, OPERATOR);
  await page.getByRole("navigation", { name: "Main navigation" }).getByRole("link", { name: "Resources" }).click();
  await expect(heading(page, "Resources")).toBeVisible();
  await expect(page.getByTestId("units-total")).toHaveText(/^\d[\d,]* units?$/);
  const everything = Number((await page.getByTestId("units-total").innerText()).split(" ")[0]!.replace(/,/g, ""));

  await chooseOption(page, "Facility", FACILITY.name);
  const listed = page.waitForResponse((r) => isFilteredList(r.url()));
  await chooseOption(page, "Kind", "Miner (ASIC)");
  await expect(page).toHaveURL(/[?&]facility_id=tx-north(&|$)/);
  await expect(page).toHaveURL(/[?&]kind=asic(&|$)/);
  // The page shows the API's total for the filter (not a page's row count).
  const total = ((await (await listed).json()) as { total: number }).total;
  await expect(page.getByTestId("units-total")).toHaveText(`${total} ${total === 1 ? "unit" : "units"} match`);
  expect(total).toBeGreaterThan(0);
  expect(total).toBeLessThan(everything);
  const rows = page.getByRole("table", { name: "Units" }).getByRole("row").filter({ has: page.getByRole("link") });
  await expect(rows.first()).toBeVisible();
  for (const text of await rows.allInnerTexts()) {
    expect(text).toContain(FACILITY.id);
    expect(text).toContain("ASIC");
  }

  // The URL keeps the filter: a reload shows the same units.
  const url = page.url();
  const relisted = page.waitForResponse((r) => isFilteredList(r.url()));
  await page.reload();
  await expect(heading(page, "Resources")).toBeVisible();
  expect(page.url()).toBe(url);
  await relisted;
  await expect(page.getByRole("combobox", { name: "Facility", exact: true })).toHaveText(FACILITY.name);
  await expect(page.getByRole("combobox", { name: "Kind", exact: true })).toHaveText("Miner (ASIC)");
  expect(await shownTotal(page)).toBe(total);

  // The export holds the whole filtered set, not the page.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export CSV" }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^hcp-resources-.*\.csv$/);
  const csv = csvRows(readFileSync((await download.path())!, "utf8"));
  const header = csv[0]!;
  const body = csv.slice(1);
  expect(header.slice(0, 4)).toEqual(["id", "kind", "model", "facility_id"]);
  expect(body.length).toBe(total);
  expect(new Set(body.map((r) => r[header.indexOf("facility_id")]))).toEqual(new Set([FACILITY.id]));
  expect(new Set(body.map((r) => r[header.indexOf("kind")]))).toEqual(new Set(["asic"]));

  // Open a miner that is mining, and see its chart.
  const mining = rows.filter({ hasText: "Mining" }).first();
  const unitId = (await mining.getByRole("link").innerText()).trim();
  await mining.getByRole("link").click();
  await expect(heading(page, unitId)).toBeVisible();
  const caption = page.getByTestId("telemetry-caption");
  await expect(caption).toContainText("Hashrate (TH/s) over the last hour");
  await expect(caption).toContainText(/\d+ readings?, lowest/, { timeout: 45_000 });

  // Curtail it, through the confirmation.
  const token = await apiToken(page.request, OPERATOR);
  try {
    await page.getByRole("button", { name: "Curtail", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: `Curtail ${unitId}?` });
    await expect(dialog).toContainText("stops mining");
    await dialog.getByRole("button", { name: "Curtail", exact: true }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByText(`${unitId} is now curtailed`)).toBeVisible();
    await expect(page.getByRole("button", { name: "Curtail", exact: true })).toBeDisabled();
    const seen = await page.request.get(`/api/v1/resources/${unitId}`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await seen.json()) as { mode: string }).mode).toBe("curtailed");
    // Back to the list the operator came from: the filter is still there.
    await page.getByRole("link", { name: "Back to resources" }).click();
    await expect(page).toHaveURL(/facility_id=tx-north/);
  } finally {
    // Put it back for the other specs.
    await page.request.post(`/api/v1/resources/${unitId}/commands`, {
      headers: { authorization: `Bearer ${token}` }, data: { action: "start_mining" },
    });
  }
});

test("axe: the resources list and a unit's page, loading and loaded", async ({ page }) => {
  await signIn(page, OPERATOR);
  await page.goto(`/app/resources?facility_id=${FACILITY.id}&kind=asic`);
  await expect(heading(page, "Resources")).toBeVisible();
  let release = await holdData(page);
  await page.reload({ waitUntil: "domcontentloaded" });
  await expect(heading(page, "Resources")).toBeVisible();
  await expectAccessible(page, "the resources list (loading)");
  await release();
  await shownTotal(page);
  const link = page.getByRole("table", { name: "Units" }).getByRole("link").first();
  await expect(link).toBeVisible();
  await expectAccessible(page, "the resources list (loaded)");

  const unitId = (await link.innerText()).trim();
  await link.click();
  await expect(heading(page, unitId)).toBeVisible();
  release = await holdData(page);
  await page.reload({ waitUntil: "domcontentloaded" });
  await expect(heading(page, unitId)).toBeVisible();
  await expectAccessible(page, "a unit's page (loading)");
  await release();
  await expect(page.getByRole("region", { name: "Power", exact: true })).toContainText(/kW/);
  await expect(page.getByTestId("telemetry-caption")).toContainText("over the last hour");
  await expect(page.getByRole("button", { name: "Curtail", exact: true })).toBeVisible();
  await expectAccessible(page, "a unit's page (loaded)");
  // The confirmation dialog too.
  await page.getByRole("region", { name: "Commands" }).locator("button:enabled").first().click();
  await expect(page.getByRole("dialog")).toBeVisible();
  await expectAccessible(page, "a unit's command confirmation");
  await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();

  await page.goto(`/app/facilities/${FACILITY.id}`);
  await expect(heading(page, FACILITY.name)).toBeVisible();
  await expect(page.getByRole("heading", { level: 3 }).first()).toBeVisible();
  await expectAccessible(page, "a facility's racks (loaded)");
});
