// axe (WCAG 2 A and AA): no serious or critical violation on the public pages and each dashboard,
// both right after navigation (data still on its way) and once loaded.
import {
  DEMO_USERS, LANDING_H1, NO_CHROMIUM, chromiumPath, expect, expectAccessible, expectFigureValue,
  heading, holdData, signIn, test,
} from "./fixtures";

test.skip(!chromiumPath(), NO_CHROMIUM);

const publicPages = [
  { what: "the landing page", path: "/", h1: LANDING_H1 },
  { what: "the sign-in page", path: "/signin?role=operator", h1: "Sign in" },
  { what: "the 404 page", path: "/no/such/page", h1: "Page not found" },
];

for (const { what, path, h1 } of publicPages) {
  test(`axe: ${what}, loading and loaded`, async ({ page }) => {
    await page.goto(path, { waitUntil: "domcontentloaded" });
    await expectAccessible(page, `${what} (loading)`);
    await expect(heading(page, h1)).toBeVisible();
    await page.waitForLoadState("networkidle");
    await expectAccessible(page, `${what} (loaded)`);
  });
}

for (const user of DEMO_USERS) {
  test(`axe: the ${user.role.toLowerCase()}'s dashboard, loading and loaded`, async ({ page }) => {
    await signIn(page, user);
    const release = await holdData(page);
    await page.reload({ waitUntil: "domcontentloaded" });
    await expect(heading(page, user.dashboard)).toBeVisible();
    await expectAccessible(page, `${user.dashboard} as ${user.role} (loading)`);
    await release();
    await expectFigureValue(page, user.headline);
    await expectAccessible(page, `${user.dashboard} as ${user.role} (loaded)`);
  });
}
