// The console's common parts: a refused sign-in, the 404 page, the theme, the keyboard.
import { LANDING_H1, NO_CHROMIUM, OPERATOR, chromiumPath, expect, heading, signIn, test } from "./fixtures";

test.skip(!chromiumPath(), NO_CHROMIUM);

test("a wrong password shows the API's error and stays on the sign-in page", async ({ page, request }) => {
  const wrong = { email: OPERATOR.email, password: "not-the-password" };
  const refusal = await request.post("/api/v1/auth/login", { data: wrong });
  expect(refusal.status()).toBe(401);
  const message = ((await refusal.json()) as { error: { message: string } }).error.message;
  expect(message).not.toBe("");

  await page.goto("/signin?role=operator");
  await page.getByRole("textbox", { name: "Email", exact: true }).fill(wrong.email);
  await page.getByRole("textbox", { name: "Password", exact: true }).fill(wrong.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText(message, { ignoreCase: true });
  await expect(page).toHaveURL(/\/signin/);
  await expect(heading(page, "Sign in")).toBeVisible();
});

test("an unknown path shows 'Page not found' with a way back", async ({ page }) => {
  await page.goto("/no/such/page");
  await expect(heading(page, "Page not found")).toBeVisible();
  await page.getByRole("link", { name: "Back to the start", exact: true }).click();
  await expect(heading(page, LANDING_H1)).toBeVisible();
});

test("the theme chosen stays after a reload", async ({ page }) => {
  await signIn(page, OPERATOR);
  const toggle = page.getByRole("button", { name: /^Switch to (dark|light) theme$/ });
  await expect(toggle).toBeVisible();
  const first = (await toggle.getAttribute("aria-label")) ?? (await toggle.innerText());
  const other = first.includes("dark") ? "Switch to light theme" : "Switch to dark theme";
  await toggle.click();
  await expect(page.getByRole("button", { name: other, exact: true })).toBeVisible();
  await page.reload();
  await expect(heading(page, OPERATOR.dashboard)).toBeVisible();
  await expect(page.getByRole("button", { name: other, exact: true })).toBeVisible();
});

test("the main navigation is reachable with the Tab key", async ({ page }) => {
  await signIn(page, OPERATOR);
  await page.reload(); // focus starts at the top of the document
  await expect(heading(page, OPERATOR.dashboard)).toBeVisible();
  const links = page.getByRole("navigation", { name: "Main navigation" }).getByRole("link");
  await expect(links.first()).toBeVisible();
  const count = await links.count();
  let reached = -1;
  for (let presses = 0; presses < 40 && reached < 0; presses++) {
    await page.keyboard.press("Tab");
    reached = await links.evaluateAll((all) => all.findIndex((link) => link === document.activeElement));
  }
  expect(reached, `none of the ${count} navigation links got the focus in 40 Tab presses`).toBeGreaterThanOrEqual(0);
  await expect(links.nth(reached)).toBeFocused();
  // The next link is one more Tab away, and Enter follows the focused one.
  if (reached + 1 < count) {
    await page.keyboard.press("Tab");
    const next = links.nth(reached + 1);
    await expect(next).toBeFocused();
    const href = await next.getAttribute("href");
    await page.keyboard.press("Enter");
    if (href) await expect(page).toHaveURL(new RegExp(`${href.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`));
  }
});
