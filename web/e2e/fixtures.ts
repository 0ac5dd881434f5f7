// What every spec uses: the platform's base URL, the demo users, signing in as a person does,
// the public API for setting things up, and axe.
import AxeBuilder from "@axe-core/playwright";
import { type APIRequestContext, type Locator, type Page, test as base, expect } from "@playwright/test";
import { BASE_URL_ENV } from "./env";

export { expect };
export { NO_CHROMIUM, chromiumPath } from "./env";

export const test = base.extend<{ failOnPageError: void }>({
  // Known only once global setup has started the platform (playwright.config.ts cannot say it).
  baseURL: async ({}, use) => {
    await use(process.env[BASE_URL_ENV]);
  },
  // An uncaught exception in the page fails the test, whatever it was checking.
  failOnPageError: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(`${error.name}: ${error.message}`));
      await use();
      expect(errors, "uncaught errors in the page").toEqual([]);
    },
    { auto: true },
  ],
});

export interface DemoUser {
  role: "Admin" | "Operator" | "Customer";
  email: string;
  password: string;
  dashboard: "Operations dashboard" | "Customer dashboard";
  /** The headline figure whose value the dashboard must show. */
  headline: string;
  staff: boolean;
}

export const ADMIN: DemoUser = { role: "Admin", email: "admin@mara.com", password: "admin123",
  dashboard: "Operations dashboard", headline: "Hashrate", staff: true };
export const OPERATOR: DemoUser = { role: "Operator", email: "ops@mara.com", password: "operator123",
  dashboard: "Operations dashboard", headline: "Hashrate", staff: true };
export const CUSTOMER: DemoUser = { role: "Customer", email: "john@acme.com", password: "customer123",
  dashboard: "Customer dashboard", headline: "Active workloads", staff: false };
export const DEMO_USERS: DemoUser[] = [ADMIN, OPERATOR, CUSTOMER];

export const LANDING_H1 = "MARA Hybrid Compute Platform";

export function heading(page: Page, name: string): Locator {
  return page.getByRole("heading", { level: 1, name, exact: true });
}

/** From the landing page's role link to the role's dashboard, through the sign-in form. */
export async function signIn(page: Page, user: DemoUser): Promise<void> {
  await page.goto("/");
  await page.getByRole("link", { name: `Sign in as ${user.role}`, exact: true }).click();
  await expect(heading(page, "Sign in")).toBeVisible();
  await page.getByRole("textbox", { name: "Email", exact: true }).fill(user.email);
  await page.getByRole("textbox", { name: "Password", exact: true }).fill(user.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(heading(page, user.dashboard)).toBeVisible();
}

/** A headline number's section (a `section` with aria-label, i.e. a region). */
export function figure(page: Page, name: string): Locator {
  return page.getByRole("region", { name, exact: true });
}

/** Waits until a headline figure shows a number. */
export async function expectFigureValue(page: Page, name: string): Promise<void> {
  await expect(figure(page, name)).toBeVisible();
  await expect(figure(page, name)).toContainText(/\d/);
}

/** Logs in through the public API; the access token. */
export async function apiToken(request: APIRequestContext, user: DemoUser): Promise<string> {
  const response = await request.post("/api/v1/auth/login", { data: { email: user.email, password: user.password } });
  expect(response.status(), await response.text()).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** Submits a small batch workload as `token`'s user; its id. */
export async function submitWorkload(request: APIRequestContext, token: string, name: string): Promise<string> {
  const response = await request.post("/api/v1/workloads", {
    headers: { authorization: `Bearer ${token}` },
    data: { name, type: "batch", priority: 5, gpu_model: "any", gpu_count: 1, duration_s: 3600 },
  });
  expect(response.status(), await response.text()).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

/** Holds every data request (the API less /auth) until released: the page as it is while loading. */
export async function holdData(page: Page): Promise<() => Promise<void>> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const isData = (url: URL) => url.pathname.startsWith("/api/v1/") && !url.pathname.startsWith("/api/v1/auth/");
  const handler = async (route: import("@playwright/test").Route) => {
    await gate;
    await route.continue().catch(() => undefined); // the page may have gone meanwhile
  };
  await page.route(isData, handler);
  return async () => {
    release();
    await page.unroute(isData, handler);
  };
}

/** No serious or critical WCAG 2 A/AA violation on the page as it is now; lists them if any. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  // Colours settled first: a dialog fading in is read half-blended with its backdrop (a contrast
  // "violation" of a frame nobody sees). Endless animations (skeletons, spinners) do not settle.
  await page.waitForFunction(() => document.getAnimations().every(
    (a) => a.playState !== "running" || a.effect?.getTiming().iterations === Infinity), undefined, { timeout: 5_000 });
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const report = bad.map((v) => `${v.id} (${v.impact}): ${v.help} ${v.helpUrl}\n` +
    v.nodes.map((n) => `    ${n.target.join(" ")}: ${n.failureSummary?.replace(/\n/g, " ")}`).join("\n")).join("\n");
  expect(bad.length, `axe on ${what}:\n${report}`).toBe(0);
}
