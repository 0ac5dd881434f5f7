// Billing as an admin uses it (real hcp up --demo): the revenue figures and charts, every
// customer's invoices; a draft issued and an issued invoice voided through the page, each behind
// its confirmation; the filtered invoices exported as CSV (as many rows as the table's total); a
// customer gets the 404 page; axe on the page loading and loaded, and on a confirmation.
import { readFileSync } from "node:fs";
import type { APIRequestContext, Page } from "@playwright/test";
import {
  ADMIN, CUSTOMER, NO_CHROMIUM, apiToken, chromiumPath, expect, expectAccessible, heading, holdData, signIn, test,
} from "./fixtures";

test.skip(!chromiumPath(), NO_CHROMIUM);

// Initech's invoices: no other spec touches them.
const CUSTOMER_NAME = "Initech AI";

interface Invoice { id: string; number: string; tenant_id: string; period: string; status: string }

function nav(page: Page) {
  return page.getByRole("navigation", { name: "Main navigation" });
}

/** RFC 4180 rows (quoted fields with "" escapes, CRLF) as objects keyed by the header. */
function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") { row.push(cell); cell = ""; }
    else if (ch === "\n") { row.push(cell.replace(/\r$/, "")); rows.push(row); row = []; cell = ""; }
    else cell += ch;
  }
  if (cell !== "" || row.length > 0) rows.push([...row, cell]);
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ""])));
}

async function adminApi(request: APIRequestContext) {
  const headers = { authorization: `Bearer ${await apiToken(request, ADMIN)}` };
  const tenants = (await (await request.get("/api/v1/auth/tenants", { headers })).json()) as { items: { id: string; name: string }[] };
  const tenantId = tenants.items.find((t) => t.name === CUSTOMER_NAME)!.id;
  return {
    tenantId,
    async invoices(status: string): Promise<Invoice[]> {
      const r = await request.get("/api/v1/billing/invoices", { headers, params: { tenant_id: tenantId, status } });
      expect(r.status(), await r.text()).toBe(200);
      return ((await r.json()) as { items: Invoice[] }).items;
    },
    /** A draft of the tenant's unbilled usage of `period` (as an admin would draw one). */
    async draft(period: string): Promise<Invoice> {
      const r = await request.post("/api/v1/billing/invoices", { headers, data: { tenant_id: tenantId, month: period, issue: false } });
      expect(r.status(), await r.text()).toBe(201);
      return (await r.json()) as Invoice;
    },
  };
}

function invoiceRow(page: Page, number: string) {
  return page.getByRole("table", { name: "Invoices" }).getByRole("row")
    .filter({ has: page.getByRole("rowheader", { name: number, exact: true }) });
}

/** Confirms `action` ("Issue", "Void") on the invoice's row through its dialog. */
async function confirmMove(page: Page, number: string, action: "Issue" | "Void") {
  await invoiceRow(page, number).getByRole("button", { name: `${action} ${number}`, exact: true }).click();
  const dialog = page.getByRole("dialog", { name: `${action} invoice ${number}?` });
  await expect(dialog).toContainText(CUSTOMER_NAME);
  await dialog.getByRole("button", { name: `${action} invoice`, exact: true }).click();
  await expect(dialog).toBeHidden();
}

test("an admin voids an issued invoice, issues a draft and exports the customer's invoices", async ({ page, request }) => {
  const api = await adminApi(request);
  const [issued] = await api.invoices("issued");
  expect(issued, "the demo's latest invoice of the customer, issued and unpaid").toBeDefined();

  await signIn(page, ADMIN);
  await nav(page).getByRole("link", { name: "Billing", exact: true }).click();
  await expect(heading(page, "Billing")).toBeVisible();
  await expect(page.getByRole("region", { name: "Total revenue", exact: true })).toContainText(/\$\d/);
  const months = page.getByRole("figure", { name: "Revenue by month" });
  await expect(months.locator("figcaption")).toContainText(/AI \$[\d,]+\.\d\d, mining \$[\d,]+\.\d\d/);
  await expect(months.locator("svg").first()).toBeVisible();
  await expect(page.getByRole("table", { name: "Invoices" }).getByRole("row").nth(1)).toContainText(/INV-/);

  // One customer's invoices (the filter lands in the URL).
  await page.getByRole("combobox", { name: "Customer" }).selectOption({ label: CUSTOMER_NAME });
  await expect(page).toHaveURL(new RegExp(`[?&]customer=${api.tenantId}`));

  // Void the issued one: its usage is unbilled again.
  await confirmMove(page, issued!.number, "Void");
  await expect(invoiceRow(page, issued!.number)).toContainText("Void");
  await expect(invoiceRow(page, issued!.number).getByRole("button", { name: `Void ${issued!.number}` })).toHaveCount(0);
  await expect(page.getByRole("status").filter({ hasText: `Invoice ${issued!.number} is now void.` })).toBeVisible();

  // Setup through the public API: a draft of that usage; the page issues it.
  const draft = await api.draft(issued!.period);
  expect(draft.status).toBe("draft");
  await page.getByRole("combobox", { name: "Status" }).selectOption("draft");
  await expect(invoiceRow(page, draft.number)).toContainText("Draft");
  await confirmMove(page, draft.number, "Issue");
  await page.getByRole("combobox", { name: "Status" }).selectOption("");
  await expect(invoiceRow(page, draft.number)).toContainText("Issued");
  expect((await api.invoices("issued")).map((i) => i.id)).toContain(draft.id);

  // The filtered invoices as CSV: as many rows as the table's total, all the customer's.
  const shown = await page.locator(".MuiTablePagination-displayedRows").textContent();
  const total = Number(/of (\d+)/.exec(shown ?? "")?.[1]);
  expect(total).toBeGreaterThanOrEqual(4);
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export CSV" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^hcp-invoices-\d{8}T\d{6}Z\.csv$/);
  const rows = parseCsv(readFileSync((await download.path())!, "utf8"));
  expect(rows.length).toBe(total);
  expect(new Set(rows.map((r) => r.customer))).toEqual(new Set([CUSTOMER_NAME]));
  expect(rows.find((r) => r.id === issued!.id)?.status).toBe("void");
  expect(rows.find((r) => r.id === draft.id)?.status).toBe("issued");
});

test("a customer visiting Billing gets the 404 page", async ({ page }) => {
  await signIn(page, CUSTOMER);
  await expect(nav(page).getByRole("link", { name: "Billing", exact: true })).toHaveCount(0);
  await page.goto("/app/billing");
  await expect(heading(page, "Page not found")).toBeVisible();
});

/** Waits for the top dialog's fade-in to end (axe measures contrast mid-fade otherwise). */
async function opened(page: Page) {
  await expect(page.locator(".MuiDialog-container").last()).toHaveCSS("opacity", "1");
}

test("axe: Billing loading and loaded, an invoice and a confirmation", async ({ page }) => {
  await signIn(page, ADMIN);
  const release = await holdData(page);
  await page.goto("/app/billing", { waitUntil: "domcontentloaded" });
  await expect(heading(page, "Billing")).toBeVisible();
  await expectAccessible(page, "Billing (loading)");
  await release();
  await expect(page.getByRole("figure", { name: "AI revenue by customer" }).locator("svg").first()).toBeVisible();
  await expect(page.getByRole("table", { name: "Rates per GPU-hour" })).toContainText("H100");
  const first = page.getByRole("table", { name: "Invoices" }).getByRole("rowheader").first();
  await expect(first).toContainText("INV-");
  await expectAccessible(page, "Billing (loaded)");

  await first.getByRole("button").click();
  const dialog = page.getByRole("dialog", { name: /^Invoice INV-/ });
  await expect(dialog.getByRole("table", { name: /^Lines of invoice/ })).toContainText("Total");
  await opened(page);
  await expectAccessible(page, "an invoice's dialog");
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await page.getByRole("table", { name: "Invoices" }).getByRole("button", { name: /^Correct INV-/ }).first().click();
  await expect(page.getByRole("dialog", { name: /^Correct invoice INV-.*\?$/ })).toBeVisible();
  await opened(page);
  await expectAccessible(page, "the correction's confirmation");
});
