import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useLocation } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { json, renderWithProviders, signedInAs } from "../../shell/testing";
import UsersPage from "./UsersPage";

const TENANTS = { items: [{ id: "t-acme", slug: "acme", name: "Acme", created_at: "2026-01-01T00:00:00Z" }], total: 1 };
const users = (active = true) => ({
  items: [
    { id: "u-admin", email: "admin@mara.com", role: "admin", tenant_id: null, is_active: true, created_at: "2026-01-01T00:00:00Z" },
    { id: "u-john", email: "john@acme.com", role: "customer", tenant_id: "t-acme", is_active: active, created_at: "2026-01-02T00:00:00Z" },
  ],
  total: 2,
});

let calls: { method: string; path: string; body: unknown }[];
let johnActive: boolean;

beforeEach(() => {
  calls = [];
  johnActive = true;
  signedInAs("admin");
  vi.stubGlobal("fetch", vi.fn(async (request: Request) => {
    const url = new URL(request.url);
    const body = request.method === "GET" ? undefined : await request.json();
    calls.push({ method: request.method, path: url.pathname + url.search, body });
    if (url.pathname === "/api/v1/auth/tenants") return json(200, TENANTS);
    if (url.pathname === "/api/v1/auth/users") return json(200, users(johnActive));
    if (url.pathname === "/api/v1/auth/users/u-john" && request.method === "PATCH") {
      johnActive = (body as { is_active: boolean }).is_active;
      return json(200, users(johnActive).items[1]);
    }
    return json(404, { error: { code: "not_found", message: "no", details: null } });
  }));
});
afterEach(() => vi.unstubAllGlobals());

/** Whether a GET of `path` with exactly these query parameters was made. */
function asked(path: string, query: Record<string, string>): boolean {
  return calls.some((c) => {
    const u = new URL(c.path, "http://x");
    return c.method === "GET" && u.pathname === path &&
      JSON.stringify(Object.fromEntries([...u.searchParams].sort())) === JSON.stringify(Object.fromEntries(Object.entries(query).sort()));
  });
}

function Where() {
  const l = useLocation();
  return <output data-testid="where">{l.pathname + l.search}</output>;
}

function renderPage(path = "/app/admin/users") {
  return renderWithProviders(
    <Routes><Route path="/app/admin/users" element={<><UsersPage /><Where /></>} /></Routes>, { path });
}

describe("UsersPage", () => {
  it("lists users with their customer, filters by role in the URL and asks the API so", async () => {
    renderPage("/app/admin/users?page=2");
    const table = await screen.findByRole("table", { name: "Users" });
    const john = await within(table).findByRole("rowheader", { name: "john@acme.com" });
    expect(john.closest("tr")).toHaveTextContent("Acme");
    expect(asked("/api/v1/auth/users", { limit: "25", offset: "25" })).toBe(true);

    await userEvent.selectOptions(screen.getByLabelText("Role"), "customer");
    expect(screen.getByTestId("where")).toHaveTextContent("/app/admin/users?role=customer"); // page reset
    await waitFor(() => expect(asked("/api/v1/auth/users", { role: "customer", limit: "25", offset: "0" })).toBe(true));
  });

  it("disables a user only after the confirmation, and never offers to disable yourself", async () => {
    renderPage();
    await screen.findByRole("rowheader", { name: "john@acme.com" });
    expect(screen.queryByRole("button", { name: "Disable admin@mara.com" })).toBeNull();

    await userEvent.click(screen.getByRole("button", { name: "Disable john@acme.com" }));
    let dialog = screen.getByRole("dialog", { name: "Disable john@acme.com?" });
    expect(dialog).toHaveTextContent("signed out at once");
    await userEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(calls.filter((c) => c.method === "PATCH")).toEqual([]);

    await userEvent.click(screen.getByRole("button", { name: "Disable john@acme.com" }));
    dialog = screen.getByRole("dialog", { name: "Disable john@acme.com?" });
    await userEvent.click(within(dialog).getByRole("button", { name: "Disable user" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(calls.filter((c) => c.method === "PATCH")).toEqual([
      { method: "PATCH", path: "/api/v1/auth/users/u-john", body: { is_active: false } },
    ]);
    expect(await screen.findByRole("button", { name: "Enable john@acme.com" })).toBeInTheDocument();
  });

  it("creates a customer with their tenant and shows the API's 422 under the field", async () => {
    renderPage();
    await screen.findByRole("rowheader", { name: "john@acme.com" });
    const fetchMock = vi.mocked(globalThis.fetch);
    const base = fetchMock.getMockImplementation()!;
    fetchMock.mockImplementation(async (request) => {
      const r = request as Request;
      if (r.method === "POST" && new URL(r.url).pathname === "/api/v1/auth/users") {
        calls.push({ method: "POST", path: "/api/v1/auth/users", body: await r.clone().json() });
        return json(422, { error: { code: "validation_error", message: "invalid", details: [{ field: "password", message: "String should have at least 8 characters" }] } });
      }
      return base(r);
    });
    await userEvent.click(screen.getByRole("button", { name: "Create user" }));
    const dialog = screen.getByRole("dialog", { name: "Create user" });
    await userEvent.type(within(dialog).getByLabelText(/^Email/), "new@acme.com");
    await userEvent.type(within(dialog).getByLabelText(/^Initial password/), "short");
    await userEvent.selectOptions(within(dialog).getByLabelText(/^Customer/), "t-acme");
    await userEvent.click(within(dialog).getByRole("button", { name: "Create user" }));
    expect(await within(dialog).findByText("String should have at least 8 characters")).toBeInTheDocument();
    expect(within(dialog).getByLabelText(/^Initial password/)).toHaveAttribute("aria-invalid", "true");
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({
      email: "new@acme.com", password: "short", role: "customer", tenant_id: "t-acme",
    });
  });
});
