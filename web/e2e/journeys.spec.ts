// Each demo user's visit: landing -> sign in -> their dashboard, live -> a live update arrives
// through the WebSocket alone (no reload, no data request answered) -> sign out -> the console is closed again.
import type { Page } from "@playwright/test";
import {
  CUSTOMER, DEMO_USERS, type DemoUser, LANDING_H1, NO_CHROMIUM, apiToken, chromiumPath, expect,
  expectFigureValue, figure, heading, signIn, submitWorkload, test, uniqueName,
} from "./fixtures";

test.skip(!chromiumPath(), NO_CHROMIUM);

/** Counts the WebSocket frames of each event the page receives. */
function countEvents(page: Page): Map<string, number> {
  const counts = new Map<string, number>();
  page.on("websocket", (socket) => {
    socket.on("framereceived", ({ payload }) => {
      try {
        const frame = JSON.parse(typeof payload === "string" ? payload : payload.toString()) as { event?: string };
        if (frame.event) counts.set(frame.event, (counts.get(frame.event) ?? 0) + 1);
      } catch {
        // not JSON: not an event
      }
    });
  });
  return counts;
}

/** Marks the document, so that a reload (which would drop the mark) can be told apart. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __hcpE2e: number }).__hcpE2e = 1));
}

async function expectNotReloaded(page: Page): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { __hcpE2e?: number }).__hcpE2e), "the page was reloaded").toBe(1);
}

async function staffText(page: Page): Promise<string> {
  const parts = [await figure(page, "Hashrate").innerText(), await figure(page, "Power").innerText()];
  for (const updated of await page.getByText(/^Updated\b/).all()) parts.push(await updated.innerText());
  return parts.join(" | ");
}

async function seeLiveUpdate(page: Page, user: DemoUser, events: Map<string, number>): Promise<void> {
  await markDocument(page);
  // From here on the API answers nothing but the workload submission: what changes on screen
  // came through the WebSocket.
  const isData = (url: URL) => url.pathname.startsWith("/api/v1/") && !url.pathname.startsWith("/api/v1/auth/");
  await page.route(isData, (route) => route.abort());
  if (user.staff) {
    await expectFigureValue(page, "Hashrate");
    await expectFigureValue(page, "Power");
    const before = await staffText(page);
    const metricsBefore = events.get("fleet.metrics") ?? 0;
    // fleet.metrics comes every second here (HCP_METRICS__INTERVAL_S=1 in global setup).
    await expect.poll(() => events.get("fleet.metrics") ?? 0, { message: "fleet.metrics events over the WebSocket", timeout: 15_000 })
      .toBeGreaterThan(metricsBefore);
    await expect.poll(() => staffText(page), { message: "Hashrate, Power or Updated changing live", timeout: 20_000 })
      .not.toBe(before);
  } else {
    const name = uniqueName("e2e-journey");
    await submitWorkload(page.request, await apiToken(page.request, CUSTOMER), name);
    await expect(page.getByText(name).first(), "the new workload, shown without reloading").toBeVisible({ timeout: 10_000 });
    expect(events.get("workload.state") ?? 0, "workload.state events over the WebSocket").toBeGreaterThan(0);
  }
  await expectNotReloaded(page);
  await page.unroute(isData);
}

for (const user of DEMO_USERS) {
  test(`${user.role}: sign in, a live dashboard, sign out`, async ({ page }) => {
    const events = countEvents(page);
    await signIn(page, user);
    await expect(page).toHaveURL(/\/app(\/|$)/);
    await expect(page.getByRole("navigation", { name: "Main navigation" })).toBeVisible();
    await expect(page.getByRole("status", { name: "Live updates: live" }).or(page.getByLabel("Live updates: live")).first())
      .toBeVisible({ timeout: 15_000 });
    await expectFigureValue(page, user.headline);
    if (user.role === "Admin") {
      await expect(page.getByText(/^Admin(istration)?$/).first(), "the admin badge or nav section").toBeVisible();
    }

    await seeLiveUpdate(page, user, events);

    await page.getByRole("button", { name: "Account", exact: true }).click();
    // The menu names who is signed in (its accessible name, or its text).
    const menu = page.getByRole("menu");
    await expect(menu).toBeVisible();
    const named = new RegExp(user.email.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    await expect(menu.and(page.getByRole("menu", { name: named })).or(menu.filter({ hasText: named })).first()).toBeVisible();
    await menu.getByRole("menuitem", { name: "Sign out", exact: true }).click();
    await expect(heading(page, LANDING_H1).or(heading(page, "Sign in"))).toBeVisible();

    await page.goto("/app");
    await expect(page).toHaveURL(/\/signin/);
    await expect(heading(page, "Sign in")).toBeVisible();
  });
}
