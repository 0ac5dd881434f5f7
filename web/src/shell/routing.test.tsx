// The app's routes and shell, end to end in jsdom: the guard, the per-role dashboard and nav, the
// Account menu, the theme toggle, the live chip, 404s. Dashboards and the live connection are
// helper B's and stand in here as stubs.
import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, useLocation } from "react-router";
import { QueryClient } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AppProviders, AppRoutes } from "../App";
import { STORAGE_KEY, getAccessToken, resetSessionForTests } from "../auth/session";
import { USERS, json, signedInAs, stubMatchMedia } from "./testing";
import { NAV, navFor } from "./nav";

const live = vi.hoisted(() => ({ status: "live" as "connecting" | "live" | "reconnecting" | "offline" }));

vi.mock("../live/LiveProvider", () => ({
  LiveProvider: ({ children }: { children: ReactNode }) => <>{children}</>,
}));
vi.mock("../live/status", () => ({ useLiveStatus: () => live.status }));
vi.mock("../pages/dashboard/OperatorDashboard", () => ({ default: () => <h1>Operations dashboard</h1> }));
vi.mock("../pages/dashboard/CustomerDashboard", () => ({ default: () => <h1>Customer dashboard</h1> }));

function Where() {
  const l = useLocation();
  return <output data-testid="where">{l.pathname + l.search}</output>;
}

function renderApp(path: string) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <AppProviders queryClient={queryClient}>
      <MemoryRouter initialEntries={[path]}>
        <AppRoutes />
        <Where />
      </MemoryRouter>
    </AppProviders>,
  );
}

/** The API as far as the shell uses it: login, me, logout. */
function fakeApi() {
  const calls: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      const path = new URL(req.url).pathname;
      calls.push(path);
      const auth = req.headers.get("Authorization") ?? "";
      if (path === "/api/v1/auth/login") {
        const body = JSON.parse(await req.text());
        const user = Object.values(USERS).find((u) => u.email === body.email);
        return user
          ? json(200, { access_token: `access-${user.role}`, refresh_token: "r", token_type: "bearer", expires_in: 900 })
          : json(401, { error: { code: "invalid_credentials", message: "invalid email or password", details: null } });
      }
      if (path === "/api/v1/auth/me") {
        const role = auth.replace("Bearer access-", "") as keyof typeof USERS;
        return USERS[role] ? json(200, USERS[role]) : json(401, { error: { code: "invalid_token", message: "invalid access token", details: null } });
      }
      if (path === "/api/v1/auth/logout") return new Response(null, { status: 204 });
      return json(404, { error: { code: "not_found", message: "no such route", details: null } });
    }),
  );
  return calls;
}

beforeEach(() => {
  stubMatchMedia({ wide: true });
  live.status = "live";
  resetSessionForTests();
});
afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
  resetSessionForTests();
});

describe("routes", () => {
  it("sends a visitor to sign-in with next, and back there after signing in", async () => {
    fakeApi();
    renderApp("/app/help");
    expect(await screen.findByRole("heading", { level: 1, name: "Sign in" })).toBeInTheDocument();
    expect(screen.getByTestId("where")).toHaveTextContent("/signin?next=%2Fapp%2Fhelp");
    await userEvent.type(screen.getByLabelText(/^Email/), "ops@mara.com");
    await userEvent.type(screen.getByLabelText(/^Password/), "operator123");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Help & Support" })).toBeInTheDocument();
    expect(screen.getByTestId("where")).toHaveTextContent(/^\/app\/help$/);
  });

  it("shows staff the operations dashboard and customers theirs", async () => {
    fakeApi();
    signedInAs("operator");
    const { unmount } = renderApp("/app");
    expect(await screen.findByRole("heading", { level: 1, name: "Operations dashboard" })).toBeInTheDocument();
    unmount();
    signedInAs("customer");
    renderApp("/app");
    expect(await screen.findByRole("heading", { level: 1, name: "Customer dashboard" })).toBeInTheDocument();
  });

  it("answers unknown paths with a 404, inside the shell and outside it", async () => {
    fakeApi();
    const { unmount } = renderApp("/nowhere");
    expect(await screen.findByRole("heading", { level: 1, name: "Page not found" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Back to the start" })).toHaveAttribute("href", "/");
    unmount();
    signedInAs("customer");
    renderApp("/app/nowhere");
    expect(await screen.findByRole("heading", { level: 1, name: "Page not found" })).toBeInTheDocument();
    expect(screen.getByRole("navigation", { name: "Main navigation" })).toBeInTheDocument();
  });
});

describe("shell", () => {
  it("lists the role's pages in the main navigation, marking admins", async () => {
    fakeApi();
    signedInAs("admin");
    const { unmount } = renderApp("/app");
    const nav = await screen.findByRole("navigation", { name: "Main navigation" });
    expect(within(nav).getByRole("link", { name: "Dashboard" })).toHaveAttribute("aria-current", "page");
    expect(within(nav).getByRole("link", { name: "Help" })).toHaveAttribute("href", "/app/help");
    expect(within(nav).getByText("Admin")).toBeInTheDocument();
    unmount();
    signedInAs("operator");
    renderApp("/app/help");
    const nav2 = await screen.findByRole("navigation", { name: "Main navigation" });
    expect(within(nav2).queryByText("Admin")).toBeNull();
    expect(within(nav2).getByRole("link", { name: "Help" })).toHaveAttribute("aria-current", "page");
  });

  it("opens the Account menu with the e-mail and signs out", async () => {
    const calls = fakeApi();
    signedInAs("customer");
    renderApp("/app");
    await userEvent.click(await screen.findByRole("button", { name: "Account" }));
    const item = await screen.findByRole("menuitem", { name: "Sign out" });
    expect(screen.getByText("john@acme.com")).toBeInTheDocument();
    expect(screen.getByRole("menu")).toHaveAccessibleName(/john@acme.com/);
    await userEvent.click(item);
    expect(await screen.findByRole("heading", { level: 1, name: "Sign in" })).toBeInTheDocument();
    expect(calls).toContain("/api/v1/auth/logout");
    expect(getAccessToken()).toBeNull();
    expect(localStorage.getItem(STORAGE_KEY)).toBeNull();
  });

  it("switches the theme and shows the live state", async () => {
    fakeApi();
    signedInAs("operator");
    live.status = "reconnecting";
    renderApp("/app");
    expect(await screen.findByRole("status", { name: "Live updates: reconnecting" })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Switch to dark theme" }));
    expect(screen.getByRole("button", { name: "Switch to light theme" })).toBeInTheDocument();
    expect(localStorage.getItem("hcp.theme")).toBe("dark");
  });

  it("on a narrow screen the navigation opens from the menu button", async () => {
    stubMatchMedia({ wide: false });
    fakeApi();
    signedInAs("operator");
    renderApp("/app");
    await screen.findByRole("heading", { level: 1, name: "Operations dashboard" });
    expect(screen.queryByRole("navigation", { name: "Main navigation" })).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Open navigation" }));
    const nav = await screen.findByRole("navigation", { name: "Main navigation" });
    await userEvent.click(within(nav).getByRole("link", { name: "Help" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Help & Support" })).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole("navigation", { name: "Main navigation" })).toBeNull());
  });

  it("ends up at sign-in when the session ends in another tab", async () => {
    fakeApi();
    signedInAs("operator");
    renderApp("/app");
    await screen.findByRole("heading", { level: 1, name: "Operations dashboard" });
    localStorage.removeItem(STORAGE_KEY);
    act(() => {
      window.dispatchEvent(new StorageEvent("storage", { key: STORAGE_KEY, newValue: null }));
    });
    expect(await screen.findByRole("heading", { level: 1, name: "Sign in" })).toBeInTheDocument();
  });
});

describe("nav table", () => {
  it("gives every role a dashboard and help, and nothing to the signed out", () => {
    for (const role of ["admin", "operator", "customer"] as const) {
      expect(navFor(role).map((i) => i.key)).toEqual(expect.arrayContaining(["dashboard", "help"]));
    }
    expect(navFor(null)).toEqual([]);
    expect(new Set(NAV.map((i) => i.key)).size).toBe(NAV.length);
    expect(NAV.every((i) => i.to.startsWith("/app"))).toBe(true);
  });
});
