import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useLocation } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { json, renderWithProviders, signedInAs } from "../../shell/testing";
import AuditPage from "./AuditPage";

const ENTRY = {
  seq: 7, id: "e7", ts: "2026-12-07T10:00:00Z", actor_id: "u-admin", actor_email: "admin@mara.com", api_key_id: null,
  action: "user.created", object_type: "user", object_id: "u9", tenant_id: "t-acme", address: "127.0.0.1",
  details: { email: "new@acme.com", role: "customer" }, prev_hash: "a".repeat(64), hash: "b".repeat(64),
};
let verification: unknown;
let gets: URL[];

beforeEach(() => {
  gets = [];
  verification = { ok: true, checked: 7, head: "b".repeat(64), broken: null };
  signedInAs("admin");
  vi.stubGlobal("fetch", vi.fn(async (request: Request) => {
    const url = new URL(request.url);
    gets.push(url);
    if (url.pathname === "/api/v1/auth/tenants") return json(200, { items: [{ id: "t-acme", slug: "acme", name: "Acme", created_at: "2026-01-01T00:00:00Z" }], total: 1 });
    if (url.pathname === "/api/v1/auth/audit") return json(200, { items: [ENTRY], total: 1 });
    if (url.pathname === "/api/v1/auth/audit/verify") return json(200, verification);
    if (url.pathname === "/api/v1/auth/audit/export.csv") {
      return new Response("seq,id\r\n7,e7\r\n", { status: 200, headers: { "content-type": "text/csv", "content-disposition": 'attachment; filename="audit-20261207T100000Z.csv"' } });
    }
    return json(404, { error: { code: "not_found", message: "no", details: null } });
  }));
});
afterEach(() => vi.unstubAllGlobals());

function Where() {
  const l = useLocation();
  return <output data-testid="where">{l.search}</output>;
}

const renderPage = (path = "/app/admin/audit") =>
  renderWithProviders(<Routes><Route path="/app/admin/audit" element={<><AuditPage /><Where /></>} /></Routes>, { path });

describe("AuditPage", () => {
  it("shows entries with the tenant's name, and the chain as intact", async () => {
    renderPage();
    const row = (await screen.findByText("new@acme.com", { exact: false })).closest("tr")!;
    expect(row).toHaveTextContent("user.created");
    expect(row).toHaveTextContent("admin@mara.com");
    expect(row).toHaveTextContent("Acme");
    const chain = screen.getByRole("region", { name: "Chain verification" });
    expect(await within(chain).findByRole("status")).toHaveTextContent("Intact: 7 entries checked");
  });

  it("names the first broken entry as an alert", async () => {
    verification = { ok: false, checked: 2, head: "c".repeat(64), broken: { seq: 3, id: "e3", reason: "content does not match its hash (the entry was edited)" } };
    renderPage();
    const chain = screen.getByRole("region", { name: "Chain verification" });
    expect(await within(chain).findByRole("alert")).toHaveTextContent("Broken at entry #3 (e3): content does not match its hash");
  });

  it("puts the filters in the URL on Apply, asks the API with them, and exports with the same", async () => {
    renderPage("/app/admin/audit?page=3");
    await screen.findByText("new@acme.com", { exact: false });
    await userEvent.type(screen.getByLabelText("Actor e-mail"), "ops@mara.com");
    await userEvent.type(screen.getByLabelText(/^Action/), "auth.login");
    await userEvent.type(screen.getByLabelText("From"), "2026-12-01T08:30");
    await userEvent.click(screen.getByRole("button", { name: "Apply filters" }));
    const from = new Date(2026, 11, 1, 8, 30).toISOString();
    const search = new URLSearchParams(screen.getByTestId("where").textContent ?? "");
    expect(Object.fromEntries(search)).toEqual({ actor: "ops@mara.com", action: "auth.login", from });
    await waitFor(() => expect(gets.some((u) => u.pathname === "/api/v1/auth/audit" && u.searchParams.get("actor_email") === "ops@mara.com"
      && u.searchParams.get("action") === "auth.login" && u.searchParams.get("from") === from && u.searchParams.get("offset") === "0")).toBe(true));

    const createObjectURL = vi.fn(() => "blob:x");
    const revokeObjectURL = vi.fn();
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL, revokeObjectURL }));
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => undefined);
    await userEvent.click(screen.getByRole("button", { name: "Export CSV" }));
    await waitFor(() => expect(click).toHaveBeenCalled());
    const exported = gets.find((u) => u.pathname === "/api/v1/auth/audit/export.csv")!;
    expect(Object.fromEntries(exported.searchParams)).toEqual({ actor_email: "ops@mara.com", action: "auth.login", from });
    expect((click.mock.contexts[0] as HTMLAnchorElement).download).toBe("audit-20261207T100000Z.csv");
  });
});
