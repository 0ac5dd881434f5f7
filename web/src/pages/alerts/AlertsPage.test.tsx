import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter, useLocation } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { applyEvent, liveQueryDefaults } from "../../live/cache";
import type { AlertView } from "../../live/types";
import AlertsPage from "./AlertsPage";

vi.mock("../../auth/AuthProvider", () => ({ useAuth: () => ({ user: null, isAdmin: false, isStaff: true }) }));

type Reply = { status?: number; body: unknown };
type Handler = (method: string, url: URL) => Reply;
let handler: Handler;
const requests: string[] = [];

beforeEach(() => {
  requests.length = 0;
  vi.stubGlobal("fetch", vi.fn(async (request: Request) => {
    const url = new URL(request.url);
    requests.push(`${request.method} ${url.pathname}${url.search}`);
    const { status = 200, body } = handler(request.method, url);
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }));
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const alert = (id: string, over: Partial<AlertView> = {}): AlertView => ({
  id, cause: `temperature:${id}`, rule: "temperature", severity: "warning", status: "open", subject_kind: "unit",
  subject_id: `asic-${id}`, tenant_id: null, message: `ASIC asic-${id}: temperature at or above 85 °C`,
  details: { temp_c: 88.25 }, raised_at: "2026-01-01T10:00:00Z", updated_at: "2026-01-01T10:00:00Z",
  acked_at: null, acked_by: null, resolved_at: null, resolved_by: null, ...over,
});

const tenants = { items: [{ id: "t1", slug: "acme", name: "Acme Corp", created_at: "2026-01-01T00:00:00Z" }], total: 1 };
const summary = (openWarn: number, ackedWarn = 0) => ({
  open: { info: 0, warning: openWarn, critical: 1 }, acked: { info: 0, warning: ackedWarn, critical: 0 },
});

function Where() {
  const location = useLocation();
  return <output data-testid="location">{location.pathname + location.search}</output>;
}

function renderAt(url: string, ui: ReactNode = <AlertsPage />) {
  const client = new QueryClient({ defaultOptions: { queries: { ...liveQueryDefaults, retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[url]}>
        {ui}
        <Where />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return client;
}

const figure = (name: string) => screen.getByRole("region", { name });

// MUI in jsdom on a busy machine: a few seconds per test.
describe("AlertsPage", { timeout: 30_000 }, () => {
  it("shows the summary and the filtered page the URL asks for", async () => {
    handler = (_m, url) => {
      if (url.pathname === "/api/v1/alerts/summary") return { body: summary(2) };
      if (url.pathname === "/api/v1/auth/tenants") return { body: tenants };
      if (url.pathname === "/api/v1/resources") return { body: { items: [], total: 0 } };
      expect(url.pathname).toBe("/api/v1/alerts");
      return { body: { items: [alert("1", { tenant_id: "t1", subject_kind: "tenant", subject_id: "t1", rule: "budget" })], total: 60 } };
    };
    renderAt("/app/alerts?status=open&unit=asic-1&customer=t1&page=2");
    expect(screen.getByRole("heading", { level: 1, name: "Alerts" })).toBeInTheDocument();
    await waitFor(() => expect(within(figure("Warning")).getByText("2 open")).toBeInTheDocument());
    expect(within(figure("Critical")).getByText("1 open")).toBeInTheDocument();
    expect(within(figure("Warning")).getByText("0 acknowledged, not yet resolved")).toBeInTheDocument();
    const row = await screen.findByRole("row", { name: /Budget/ });
    expect(within(row).getByText("Acme Corp")).toBeInTheDocument();
    expect(requests).toContain(
      "GET /api/v1/alerts?status=open&subject_kind=unit&subject_id=asic-1&tenant_id=t1&limit=25&offset=25");
    expect(screen.getByText("26–50 of 60")).toBeInTheDocument();

    fireEvent.mouseDown(screen.getByRole("combobox", { name: "Severity" }));
    fireEvent.click(await screen.findByRole("option", { name: "Critical" }));
    await waitFor(() => expect(screen.getByTestId("location").textContent).toBe(
      "/app/alerts?status=open&unit=asic-1&customer=t1&severity=critical"));
    await waitFor(() => expect(requests).toContain(
      "GET /api/v1/alerts?status=open&severity=critical&subject_kind=unit&subject_id=asic-1&tenant_id=t1&limit=25&offset=0"));

    fireEvent.click(screen.getByRole("button", { name: "Clear filters" }));
    await waitFor(() => expect(screen.getByTestId("location").textContent).toBe("/app/alerts"));
  });

  it("acknowledges from the row, and the row and the summary follow at once", async () => {
    let acked = false;
    handler = (method, url) => {
      if (url.pathname === "/api/v1/alerts/summary") return { body: acked ? summary(0, 1) : summary(1) };
      if (url.pathname === "/api/v1/auth/tenants") return { body: tenants };
      const now = acked ? alert("1", { status: "acked", acked_at: "2026-01-01T10:05:00Z", acked_by: "ops@mara.com" }) : alert("1");
      if (method === "POST" && url.pathname === "/api/v1/alerts/1/ack") {
        acked = true;
        return { body: alert("1", { status: "acked", acked_at: "2026-01-01T10:05:00Z", acked_by: "ops@mara.com" }) };
      }
      return { body: { items: [now], total: 1 } };
    };
    renderAt("/app/alerts");
    const row = await screen.findByRole("row", { name: /asic-1/ });
    expect(within(row).getByText("Open")).toBeInTheDocument();
    fireEvent.click(within(row).getByRole("button", { name: "Acknowledge: Temperature, Unit asic-1" }));
    await waitFor(() => expect(within(row).getByText("Acknowledged")).toBeInTheDocument());
    expect(within(row).queryByRole("button", { name: /^Acknowledge/ })).toBeNull();
    expect(requests).toContain("POST /api/v1/alerts/1/ack");
    await waitFor(() => expect(within(figure("Warning")).getByText("0 open")).toBeInTheDocument());
    expect(within(figure("Warning")).getByText("1 acknowledged, not yet resolved")).toBeInTheDocument();
  });

  it("shows the API's refusal of an action", async () => {
    handler = (method, url) => {
      if (url.pathname === "/api/v1/alerts/summary") return { body: summary(1) };
      if (url.pathname === "/api/v1/auth/tenants") return { body: tenants };
      if (method === "POST") {
        return { status: 409, body: { error: { code: "alert_resolved", message: "alert 1 is resolved", details: null } } };
      }
      return { body: { items: [alert("1")], total: 1 } };
    };
    renderAt("/app/alerts");
    const row = await screen.findByRole("row", { name: /asic-1/ });
    fireEvent.click(within(row).getByRole("button", { name: /^Acknowledge/ }));
    const error = await screen.findByRole("alert");
    expect(error).toHaveTextContent("The alert did not change");
    expect(error).toHaveTextContent("alert 1 is resolved");
  });

  it("?id= opens the alert, which live events keep current; Close leaves the list", async () => {
    handler = (method, url) => {
      if (url.pathname === "/api/v1/alerts/summary") return { body: summary(1) };
      if (url.pathname === "/api/v1/auth/tenants") return { body: tenants };
      if (url.pathname === "/api/v1/alerts/7") return { body: alert("7", { severity: "critical" }) };
      if (method === "POST" && url.pathname === "/api/v1/alerts/7/ack") {
        return { body: alert("7", { severity: "critical", status: "acked", acked_by: "ops@mara.com", acked_at: "2026-01-01T10:01:00Z" }) };
      }
      return { body: { items: [], total: 0 } };
    };
    const client = renderAt("/app/alerts?id=7");
    const dialog = await screen.findByRole("dialog", { name: "Alert: Temperature" });
    await within(dialog).findByText("ASIC asic-7: temperature at or above 85 °C");
    expect(within(dialog).getByText("Status: Open")).toBeInTheDocument();
    expect(within(dialog).getByText("Temp c")).toBeInTheDocument();
    expect(within(dialog).getByText("88.25")).toBeInTheDocument();

    fireEvent.click(within(dialog).getByRole("button", { name: "Acknowledge" }));
    await within(dialog).findByText("Status: Acknowledged");
    expect(within(dialog).getByText(/by ops@mara\.com/)).toBeInTheDocument();
    expect(within(dialog).queryByRole("button", { name: "Acknowledge" })).toBeNull();

    act(() => applyEvent(client, {
      id: "e1", channel: "alerts", event: "alert.resolved", ts: "2026-01-01T10:02:00Z",
      data: alert("7", { severity: "critical", status: "resolved", acked_by: "ops@mara.com", acked_at: "2026-01-01T10:01:00Z",
        resolved_at: "2026-01-01T10:02:00Z", resolved_by: "auto" }),
    }));
    await within(dialog).findByText("Status: Resolved");
    expect(within(dialog).getByText(/automatically/)).toBeInTheDocument();
    expect(within(dialog).queryByRole("button", { name: "Resolve" })).toBeNull();

    fireEvent.click(within(dialog).getByRole("button", { name: "Close" }));
    await waitFor(() => expect(screen.getByTestId("location").textContent).toBe("/app/alerts"));
  });

  it("a page past the last goes to the last", async () => {
    handler = (_m, url) => {
      if (url.pathname === "/api/v1/alerts/summary") return { body: summary(0) };
      if (url.pathname === "/api/v1/auth/tenants") return { body: tenants };
      const offset = Number(url.searchParams.get("offset"));
      return { body: { items: offset < 30 ? [alert(`p${offset}`)] : [], total: 30 } };
    };
    renderAt("/app/alerts?severity=warning&page=9");
    await waitFor(() => expect(screen.getByTestId("location").textContent).toBe("/app/alerts?severity=warning&page=2"));
    expect(await screen.findByRole("row", { name: /asic-p25/ })).toBeInTheDocument();
  });

  it("says when the alert cannot be loaded", async () => {
    handler = (_m, url) => {
      if (url.pathname === "/api/v1/alerts/nope") {
        return { status: 404, body: { error: { code: "not_found", message: "no alert nope", details: null } } };
      }
      if (url.pathname === "/api/v1/alerts/summary") return { body: summary(0) };
      if (url.pathname === "/api/v1/auth/tenants") return { body: tenants };
      return { body: { items: [], total: 0 } };
    };
    renderAt("/app/alerts?id=nope");
    const dialog = await screen.findByRole("dialog", { name: "Alert" });
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("no alert nope");
    expect(screen.getByText("No alerts.")).toBeInTheDocument();
  });
});
