// Administration and Settings as people use them: an admin creates a customer user and finds it in
// the users list and the audit log (and in its CSV export); a customer cannot reach Administration;
// anyone creates an API key in Settings, sees its secret once, and revokes it; axe on every page,
// while its data loads and once loaded.
import { readFileSync } from "node:fs";
import type { Page } from "@playwright/test";
import {
  ADMIN, CUSTOMER, NO_CHROMIUM, OPERATOR, apiToken, chromiumPath, expect, expectAccessible, heading, signIn, test,
  uniqueName, type DemoUser,
} from "./fixtures";

test.skip(!chromiumPath(), NO_CHROMIUM);

function nav(page: Page) {
  return page.getByRole("navigation", { name: "Main navigation" });
}

/** Holds every API request but the session's own (login, refresh, me, logout) until released:
 * these pages read /api/v1/auth/..., which fixtures' holdData lets through. */
async function holdPageData(page: Page): Promise<() => Promise<void>> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const held = (url: URL) => url.pathname.startsWith("/api/v1/") &&
    !/^\/api\/v1\/auth\/(login|refresh|me|logout)$/.test(url.pathname);
  const handler = async (route: import("@playwright/test").Route) => {
    await gate;
    await route.continue().catch(() => undefined);
  };
  await page.route(held, handler);
  return async () => {
    release();
    await page.unroute(held, handler);
  };
}

/** A simple CSV parser (quoted fields with "" escapes, CRLF rows): the rows as objects. */
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

test("an admin creates a customer user and finds it in the users list and the audit log", async ({ page, request }) => {
  const email = `${uniqueName("e2e-customer")}@acme.example`;
  await signIn(page, ADMIN);
  await nav(page).getByRole("link", { name: "Users", exact: true }).click();
  await expect(heading(page, "Users")).toBeVisible();

  await page.getByRole("button", { name: "Create user", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: "Create user" });
  await dialog.getByRole("textbox", { name: "Email" }).fill(email);
  await dialog.getByLabel("Initial password").fill("welcome-to-hcp");
  await dialog.getByRole("combobox", { name: "Role" }).selectOption("customer");
  await dialog.getByRole("combobox", { name: "Customer" }).selectOption({ label: "Acme Corp (acme)" });
  await dialog.getByRole("button", { name: "Create user", exact: true }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("status").filter({ hasText: `Created ${email}` })).toBeVisible();

  // In the list, filtered to customers (the filter lands in the URL).
  await page.getByRole("combobox", { name: "Role" }).selectOption("customer");
  await expect(page).toHaveURL(/[?&]role=customer/);
  const users = page.getByRole("table", { name: "Users" });
  const row = users.getByRole("row").filter({ has: page.getByRole("rowheader", { name: email, exact: true }) });
  await expect(row).toBeVisible();
  await expect(row).toContainText("Customer");
  await expect(row).toContainText("Acme Corp");
  await expect(row).toContainText("Active");

  // In the audit log: the creation, by the admin; the chain intact.
  await nav(page).getByRole("link", { name: "Audit log", exact: true }).click();
  await expect(heading(page, "Audit log")).toBeVisible();
  await expect(page.getByRole("region", { name: "Chain verification" })).toContainText("The audit log is intact");
  await page.getByRole("combobox", { name: "Action" }).fill("user.created"); // a text field with suggestions
  await page.getByRole("textbox", { name: "Actor e-mail" }).fill(ADMIN.email);
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(/[?&]action=user\.created/);
  const entry = page.getByRole("table", { name: "Audit log" }).getByRole("row").filter({ hasText: email });
  await expect(entry).toHaveCount(1);
  await expect(entry).toContainText("user.created");
  await expect(entry).toContainText(ADMIN.email);
  await expect(entry).toContainText("Acme Corp");

  // The same filters as CSV: every entry the API counts for them, the new one among them.
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export CSV" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^audit-\d{8}T\d{6}Z\.csv$/);
  const rows = parseCsv(readFileSync((await download.path())!, "utf8"));
  const token = await apiToken(request, ADMIN);
  const listed = await request.get("/api/v1/auth/audit", {
    headers: { authorization: `Bearer ${token}` }, params: { action: "user.created", actor_email: ADMIN.email, limit: 1 },
  });
  const total = ((await listed.json()) as { total: number }).total;
  expect(rows.length).toBe(total);
  expect(rows.every((r) => r.action === "user.created" && r.actor_email === ADMIN.email)).toBe(true);
  expect(rows.some((r) => JSON.parse(r.details ?? "{}").email === email)).toBe(true);
});

test("a customer reaching Administration gets the 404 page", async ({ page }) => {
  await signIn(page, CUSTOMER);
  await expect(nav(page).getByRole("link", { name: "Users", exact: true })).toHaveCount(0);
  await expect(nav(page).getByRole("link", { name: "Settings", exact: true })).toBeVisible();
  for (const path of ["/app/admin/users", "/app/admin/audit"]) {
    await page.goto(path);
    await expect(heading(page, "Page not found")).toBeVisible();
  }
});

test("in Settings, an API key is created, its secret shown once and usable, then revoked", async ({ page, request }) => {
  const name = uniqueName("e2e-key");
  await signIn(page, OPERATOR);
  await nav(page).getByRole("link", { name: "Settings", exact: true }).click();
  await expect(heading(page, "Settings")).toBeVisible();
  const keys = page.getByRole("region", { name: "API keys" });
  await keys.getByRole("button", { name: "Create API key" }).click();
  let dialog = page.getByRole("dialog", { name: "Create API key" });
  await dialog.getByRole("textbox", { name: "Name" }).fill(name);
  await dialog.getByRole("button", { name: "Create key" }).click();

  dialog = page.getByRole("dialog", { name: "Your new API key" });
  await expect(dialog.getByRole("alert")).toContainText("shown this once");
  await expect(dialog.getByRole("button", { name: "Copy key" })).toBeVisible();
  const secret = await dialog.getByRole("textbox", { name: "API key" }).inputValue();
  expect(secret).toMatch(/^hcp_/);
  const asKey = await request.get("/api/v1/auth/me", { headers: { "X-API-Key": secret } });
  expect(asKey.status()).toBe(200);
  expect(((await asKey.json()) as { email: string }).email).toBe(OPERATOR.email);
  await dialog.getByRole("button", { name: "I have copied it" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText(secret)).toHaveCount(0);
  await expect(page.locator(`input[value="${secret}"]`)).toHaveCount(0);

  const row = keys.getByRole("row").filter({ has: page.getByRole("rowheader", { name, exact: true }) });
  await expect(row).toContainText("Active");
  await row.getByRole("button", { name: `Revoke ${name}` }).click();
  const confirm = page.getByRole("dialog", { name: `Revoke the API key ${name}?` });
  await expect(confirm).toContainText("stops working at once");
  await confirm.getByRole("button", { name: "Revoke key" }).click();
  await expect(confirm).toBeHidden();
  await expect(row).toContainText("Revoked");
  expect((await request.get("/api/v1/auth/me", { headers: { "X-API-Key": secret } })).status()).toBe(401);
});

const pages: { user: DemoUser; path: string; h1: string; loaded: (page: Page) => Promise<void> }[] = [
  { user: ADMIN, path: "/app/admin/users", h1: "Users",
    loaded: (p) => expect(p.getByRole("rowheader", { name: ADMIN.email })).toBeVisible() },
  { user: ADMIN, path: "/app/admin/customers", h1: "Customers",
    loaded: (p) => expect(p.getByRole("table", { name: "Customers" })).toContainText(/\$\d/) },
  { user: ADMIN, path: "/app/admin/api-keys", h1: "API keys",
    loaded: (p) => expect(p.getByRole("table", { name: /^API keys of/ })).toBeVisible() },
  { user: ADMIN, path: "/app/admin/audit", h1: "Audit log",
    loaded: async (p) => {
      await expect(p.getByRole("region", { name: "Chain verification" })).toContainText("intact");
      await expect(p.getByRole("table", { name: "Audit log" }).getByRole("row").nth(1)).toContainText(/\d/);
    } },
  { user: ADMIN, path: "/app/settings", h1: "Settings",
    loaded: (p) => expect(p.getByRole("table", { name: "Facilities' power caps" })).toContainText(/MW|kW/) },
  { user: CUSTOMER, path: "/app/settings", h1: "Settings",
    loaded: async (p) => {
      await expect(p.getByRole("table", { name: "Facilities' power caps" })).toContainText(/MW|kW/);
      await expect(p.getByText("Budget alerts")).toBeVisible();
    } },
];

for (const { user, path, h1, loaded } of pages) {
  test(`axe: ${path} as ${user.role.toLowerCase()}, loading and loaded`, async ({ page }) => {
    await signIn(page, user);
    const release = await holdPageData(page);
    await page.goto(path, { waitUntil: "domcontentloaded" });
    await expect(heading(page, h1)).toBeVisible();
    await expectAccessible(page, `${path} as ${user.role} (loading)`);
    await release();
    await loaded(page);
    await expectAccessible(page, `${path} as ${user.role} (loaded)`);
  });
}

test("axe: the create-user and new-key dialogs", async ({ page }) => {
  await signIn(page, ADMIN);
  await page.goto("/app/admin/users");
  await page.getByRole("button", { name: "Create user", exact: true }).click();
  await expect(page.getByRole("dialog", { name: "Create user" })).toBeVisible();
  await expectAccessible(page, "the create-user dialog");
  await page.keyboard.press("Escape");
  await page.goto("/app/settings");
  await page.getByRole("button", { name: "Create API key" }).click();
  const dialog = page.getByRole("dialog", { name: "Create API key" });
  await dialog.getByRole("textbox", { name: "Name" }).fill(uniqueName("axe-key"));
  await dialog.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByRole("dialog", { name: "Your new API key" })).toBeVisible();
  await expectAccessible(page, "the new-key dialog");
});
