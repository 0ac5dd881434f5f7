// The public landing page: what HCP is, and the way in for each role, without a credential.
import { LANDING_H1, NO_CHROMIUM, chromiumPath, expect, heading, test } from "./fixtures";

test.skip(!chromiumPath(), NO_CHROMIUM);

test("the landing page shows what HCP does and a sign-in link per role, and asks the API nothing private", async ({ page }) => {
  const apiCalls: { url: string; authorized: boolean }[] = [];
  const refused: string[] = [];
  const sockets: string[] = [];
  page.on("request", (request) => {
    if (new URL(request.url()).pathname.startsWith("/api/v1")) {
      apiCalls.push({ url: request.url(), authorized: "authorization" in request.headers() });
    }
  });
  page.on("response", (response) => {
    if (response.status() === 401) refused.push(response.url());
  });
  page.on("websocket", (socket) => sockets.push(socket.url()));

  await page.goto("/");
  await expect(heading(page, LANDING_H1)).toBeVisible();
  await expect(page.getByRole("heading", { level: 2, name: "What HCP does" })).toBeVisible();
  for (const role of ["Operator", "Admin", "Customer"]) {
    const link = page.getByRole("link", { name: `Sign in as ${role}`, exact: true });
    await expect(link).toBeVisible();
    await expect(link).toHaveAttribute("href", new RegExp(`/signin\\?role=${role.toLowerCase()}$`));
  }
  await page.waitForLoadState("networkidle");

  expect(apiCalls.filter((call) => call.authorized), "API calls with a credential").toEqual([]);
  expect(refused, "responses 401").toEqual([]);
  expect(sockets, "WebSockets opened (they need a credential)").toEqual([]);
});

test("a role link leads to the sign-in form", async ({ page }) => {
  await page.goto("/");
  await page.getByRole("link", { name: "Sign in as Customer", exact: true }).click();
  await expect(page).toHaveURL(/\/signin\?role=customer$/);
  await expect(heading(page, "Sign in")).toBeVisible();
  await expect(page.getByRole("textbox", { name: "Email", exact: true })).toBeVisible();
  await expect(page.getByRole("textbox", { name: "Password", exact: true })).toBeVisible();
});
