import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, render, screen, waitFor, within } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { applyEvent, liveQueryDefaults } from "../../live/cache";
import type { ChannelEvent, FleetHistory, FleetMetricsSnapshot, Workload } from "../../live/types";
import CustomerDashboard from "./CustomerDashboard";
import { describeHistory } from "./fleetSummary";
import OperatorDashboard from "./OperatorDashboard";

const auth = vi.hoisted(() => ({ isAdmin: true }));
vi.mock("../../auth/AuthProvider", () => ({ useAuth: () => ({ user: null, isAdmin: auth.isAdmin, isStaff: true }) }));
// the chart itself (SVG, lazy) is not what these tests look at
vi.mock("./FleetChart", () => ({ default: ({ points }: { points: unknown[] }) => <div data-testid="chart">{points.length}</div> }));

type Handler = (url: URL) => { status?: number; body: unknown };
let handler: Handler;
const requests: string[] = [];

beforeEach(() => {
  requests.length = 0;
  auth.isAdmin = true;
  vi.stubGlobal("fetch", vi.fn(async (request: Request) => {
    const url = new URL(request.url);
    requests.push(url.pathname + url.search);
    const { status = 200, body } = handler(url);
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }));
});
afterEach(() => {
  vi.unstubAllGlobals();
});

function renderWithClient(ui: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { ...liveQueryDefaults, retry: false } } });
  render(<QueryClientProvider client={client}><MemoryRouter>{ui}</MemoryRouter></QueryClientProvider>);
  return client;
}

const value = (name: string) => within(screen.getByRole("region", { name })).getAllByText(/./)[1]!.textContent;

const w = (id: string, status: Workload["status"], over: Partial<Workload> = {}): Workload & { wait_reason: string | null } => ({
  id, name: `job-${id}`, tenant_id: "t1", type: "ai_inference", priority: 5, gpu_model: "H100", gpu_count: 4,
  duration_s: 600, max_price_usd_per_gpu_hour: null, preemptible: false, status, units: [], facility_id: null,
  submitted_at: "2026-01-01T09:00:00Z", queued_at: null, started_at: null, finished_at: null, failure_reason: null,
  preemptions: 0, created_by: null, wait_reason: null, ...over,
});

describe("OperatorDashboard", () => {
  const history: FleetHistory = {
    window_s: 3600, step_s: 60, source: "rollup",
    points: [
      { ts: "2026-01-01T10:00:00Z", hashrate_ths: 100, power_w: { mining: 1e6, ai: 2e5, idle: 0, total: 1.2e6 }, power_w_by_facility: {}, gpu_utilization: 0.5, gpus_busy: 8, gpus_total: 16 },
      { ts: "2026-01-01T10:30:00Z", hashrate_ths: 120.5, power_w: { mining: 1.1e6, ai: 3e5, idle: 1e5, total: 1.5e6 }, power_w_by_facility: { "tx-north": 9e5, "nd": 6e5 }, gpu_utilization: 0.75, gpus_busy: 11.6, gpus_total: 16 },
    ],
  };
  const snapshot: FleetMetricsSnapshot = {
    ts: "2026-01-01T10:31:00Z", hashrate_ths: 130, power_w: { mining: 1.2e6, ai: 4e5, idle: 5e4, total: 1.65e6 },
    power_w_by_facility: { "tx-north": 1.2e6, "nd": 4.5e5 }, gpus_busy: 12, gpus_total: 16, asics_mining: 320, gpu_utilization: 0.75,
    profit_usd_per_hour: 1234.5, queue_depth: { default: 2, spot: 3 },
  };
  const facilities = {
    items: [
      { id: "nd", name: "North Dakota", location: "Ellendale, ND", power_cap_kw: 800, market_node: "MISO" },
      { id: "tx-north", name: "Texas North", location: "Granbury, TX", power_cap_kw: 1500, market_node: "HB_NORTH" },
    ],
    total: 2,
  };
  const asic = (nominal: number) => ({ units: 10, online: 10, mining: 8, hashrate_ths: nominal * 0.9, nominal_hashrate_ths: nominal });
  const power = { cap_kw: 1, used_kw: 1, headroom_kw: 0, estimated_units: 0 };
  const capacity = {
    at: "2026-01-01T10:30:00Z",
    facilities: [
      { facility_id: "nd", name: "North Dakota", asic: asic(60), gpus: [], power, forecast: [] },
      { facility_id: "tx-north", name: "Texas North", asic: asic(140), gpus: [], power, forecast: [] },
    ],
    total: {
      asic_online: 20, hashrate_ths: 180, power: { cap_kw: 2300, used_kw: 1500, headroom_kw: 800 },
      gpus: [{ model: "A100", total: 6, online: 6, free: 2, busy: 4 }, { model: "H100", total: 10, online: 9, free: 1, busy: 8 }],
    },
  };
  const plannedFacility = (id: string, power_kw: number) => ({
    id, name: id, power_kw, power_cap_kw: 1, electricity_usd_per_mwh: 40, running_work_kw: 0, demand_response: null,
  });
  const plan = {
    id: "p1", ts: "2026-01-01T10:29:00Z", objective_usd_per_hour: 1, optimum_usd_per_hour: 1, hashprice_usd_per_th_day: 0.05,
    reason: "", recommendations: [], decisions: [],
    summary: {
      ts: "2026-01-01T10:29:00Z", objective_usd_per_hour: 1, optimum_usd_per_hour: 1, hashprice_usd_per_th_day: 0.05, changed: 0,
      reason: "", units_by_mode: {}, unplaced_workloads: [], waiting: [], switching_usd_per_hour: 0,
      facilities: [plannedFacility("nd", 420), plannedFacility("tx-north", 1200)],
    },
  };
  const prices = {
    ts: "2026-01-01T10:30:00Z", now: "2026-01-01T10:30:05Z", stale: false, missing: [], btc_usd: 65000, network_difficulty: 1e14,
    network_hashrate_ths: 7e8, fees_btc_per_block: 0.03, hashprice_usd_per_th_day: 0.0498, hashprice_usd_per_ph_day: 49.8,
    electricity_usd_per_mwh: { HB_NORTH: 49.38, MISO: 39.03 }, gpu_spot_usd_per_hour: { H100: 2.5, A100: 1.6 }, series: [], feeds: [],
  };
  const window = (id: string, facility_id: string, starts_at: string, ends_at: string, power_cap_kw: number) => ({
    id, facility_id, starts_at, ends_at, power_cap_kw, reason: `grid event ${id}`, created_by: null,
  });
  const windows = {
    items: [
      window("later", "tx-north", "2026-01-02T18:00:00Z", "2026-01-02T20:00:00Z", 1000),
      window("now", "nd", "2026-01-01T10:00:00Z", "2026-01-01T12:00:00Z", 600),
      window("past", "tx-north", "2025-12-31T10:00:00Z", "2025-12-31T12:00:00Z", 100),
    ],
    total: 3,
  };
  const modes: Record<string, number> = { mining: 16, workload: 9, spot: 3, idle: 2, curtailed: 4, unknown: 0 };
  const active: Record<string, Workload[]> = {
    running: [w("r1", "running", { units: ["g1", "g2"] }), w("r2", "running", { tenant_id: "t2", units: ["g3"] })],
    queued: [w("q1", "queued"), w("q2", "queued", { tenant_id: "t2" }), w("q3", "queued", { tenant_id: "t3" })],
    scheduled: [], switching: [],
  };
  const tenants = { items: [{ id: "t1", slug: "acme", name: "Acme Corp", created_at: "" }, { id: "t2", slug: "globex", name: "Globex", created_at: "" }], total: 2 };
  const summary = { open: { critical: 2, warning: 1, info: 0 }, acked: { critical: 1, warning: 0, info: 0 } };
  const revenue = {
    month: "2026-01", currency: "USD", revenue_usd: "12345.67", by_source: { ai_usd: "2345.67", mining_usd: "10000.00" },
    by_customer: [{ tenant_id: "t1", name: "Acme Corp", gpu_hours: "120.5", revenue_usd: "2345.67" }],
    mining: { btc: "0.1", usd: "10000.00", avg_btc_usd: "65000", facilities: [] }, energy_cost_usd: "4000.00",
    energy_by_source: { ai_usd: "1000.00", mining_usd: "3000.00" }, margin_usd: "8345.67", margin_pct: "67.6",
  };

  /** The API as the dashboard reads it; `fleet/history` from `history`. */
  const api = (url: URL): { status?: number; body: unknown } => {
    switch (url.pathname) {
      case "/api/v1/fleet/history":
        expect(url.searchParams.get("window_s")).toBe("3600");
        return { body: history };
      case "/api/v1/facilities": return { body: facilities };
      case "/api/v1/resources/capacity": return { body: capacity };
      case "/api/v1/economics/plan": return { body: plan };
      case "/api/v1/market/prices": return { body: prices };
      case "/api/v1/economics/demand-response": return { body: windows };
      case "/api/v1/resources": {
        expect(url.searchParams.get("limit")).toBe("1");
        return { body: { items: [], total: modes[url.searchParams.get("mode")!] } };
      }
      case "/api/v1/workloads": {
        const items = active[url.searchParams.get("status")!]!;
        return { body: { items, total: items.length } };
      }
      case "/api/v1/auth/tenants": return { body: tenants };
      case "/api/v1/alerts/summary": return { body: summary };
      case "/api/v1/billing/revenue": return { body: revenue };
      default: throw new Error(`unexpected ${url.pathname}`);
    }
  };

  it("seeds the figures from the history, then follows fleet.metrics events", async () => {
    handler = api;
    const client = renderWithClient(<OperatorDashboard />);
    expect(screen.getByRole("heading", { level: 1, name: "Operations dashboard" })).toBeInTheDocument();
    expect(screen.getByText("Admin")).toBeInTheDocument();
    expect(screen.getByRole("region", { name: "Hashrate" })).toHaveAttribute("aria-busy", "true");

    await waitFor(() => expect(value("Hashrate")).toBe("120.5 TH/s"));
    expect(value("Power")).toBe("1.50 MW");
    expect(screen.getByRole("region", { name: "Power" })).toHaveTextContent("Mining 1.10 MW · AI 0.30 MW · Idle 0.10 MW");
    expect(value("GPUs busy")).toBe("12 / 16");
    expect(screen.getByRole("region", { name: "GPUs busy" })).toHaveTextContent("75 % utilisation");
    expect(value("Queue")).toBe("—");
    // against the nominal hashrate of the online ASICs (60 + 140 TH/s)
    await waitFor(() => expect(screen.getByRole("region", { name: "Hashrate" })).toHaveTextContent("60 % of 200 TH/s nominal"));
    expect(await screen.findByTestId("chart")).toHaveTextContent("2");
    expect(screen.getByText(/hashrate ranged from 100\.0 to 120\.5 TH\/s and is now 120\.5 TH\/s/)).toBeInTheDocument();

    const event: ChannelEvent = { id: "m1", channel: "metrics", event: "fleet.metrics", ts: snapshot.ts, data: snapshot };
    act(() => applyEvent(client, event));
    await waitFor(() => expect(value("Hashrate")).toBe("130.0 TH/s"));
    expect(screen.getByRole("region", { name: "Hashrate" })).toHaveTextContent("65 % of 200 TH/s nominal · 320 ASICs mining");
    expect(value("Power")).toBe("1.65 MW");
    expect(value("GPUs busy")).toBe("12 / 16");
    expect(value("Profit per hour")).toBe("$1,234.50/h");
    expect(value("Queue")).toBe("5");
    await waitFor(() => expect(screen.getByTestId("chart")).toHaveTextContent("3")); // the history grew by the event
    const updated = screen.getByText(/^Updated/);
    expect(updated.querySelector("time")).toHaveAttribute("dateTime", snapshot.ts);
    expect(requests.filter((r) => r.startsWith("/api/v1/fleet/"))).toEqual(["/api/v1/fleet/history?window_s=3600"]);
  });

  it("shows power per facility against the cap in force, with demand response, live", async () => {
    handler = api;
    const client = renderWithClient(<OperatorDashboard />);
    const section = screen.getByRole("region", { name: "Power by facility" });
    const row = async (name: string) => (await within(section).findByRole("rowheader", { name: new RegExp(name) })).closest("tr")!;
    const nd = await row("North Dakota");
    // the history's last point draws 600 kW there; a window lowers the 800 kW cap to 600 kW now
    await waitFor(() => expect(nd).toHaveTextContent("600.0 kW"));
    expect(nd).toHaveTextContent("of 800.0 kW");
    expect(nd).toHaveTextContent("100 %");
    expect(nd).toHaveTextContent("420.0 kW"); // planned
    expect(nd).toHaveTextContent("$39.03/MWh");
    expect(nd).toHaveTextContent(/Now: 600\.0 kW until/);
    expect(within(nd).getByRole("progressbar", { name: "North Dakota: share of the cap drawn" })).toHaveAttribute("aria-valuenow", "100");
    const tx = await row("Texas North");
    expect(tx).toHaveTextContent("900.0 kW");
    expect(tx).toHaveTextContent("1.50 MW"); // its own cap: the window comes tomorrow
    expect(tx).toHaveTextContent("60 %");
    expect(tx).toHaveTextContent(/Next: 1.00 MW, /);
    expect(tx).not.toHaveTextContent(/100\.0 kW/); // yesterday's window is over

    act(() => applyEvent(client, { id: "m1", channel: "metrics", event: "fleet.metrics", ts: snapshot.ts, data: snapshot }));
    await waitFor(() => expect(tx).toHaveTextContent("1.20 MW"));
    expect(tx).toHaveTextContent("80 %");
    expect(nd).toHaveTextContent("75 %");
  });

  it("shows the fleet by mode, GPUs by model, prices, alerts, work per customer and revenue", async () => {
    handler = api;
    renderWithClient(<OperatorDashboard />);
    const modesRegion = screen.getByRole("region", { name: "Fleet by mode" });
    await waitFor(() => expect(modesRegion).toHaveTextContent("Mining16 (47 %)"));
    expect(modesRegion).toHaveTextContent("AI12 (35 %)");
    expect(modesRegion).toHaveTextContent("Idle2 (6 %)");
    expect(modesRegion).toHaveTextContent("Curtailed4 (12 %)");
    expect(modesRegion).not.toHaveTextContent("Not read yet");
    expect(modesRegion).toHaveTextContent("34 units");

    const gpus = screen.getByRole("region", { name: "GPUs by model" });
    const h100 = (await within(gpus).findByRole("rowheader", { name: "H100" })).closest("tr")!;
    expect([...h100.querySelectorAll("td")].map((c) => c.textContent)).toEqual(["8", "1", "9", "10"]);

    const pricesRegion = screen.getByRole("region", { name: "Prices" });
    await waitFor(() => expect(pricesRegion).toHaveTextContent("BTC$65,000"));
    expect(pricesRegion).toHaveTextContent("Hashprice$49.80/PH/day");
    expect(pricesRegion).toHaveTextContent("Electricity, HB_NORTH$49.38/MWh");
    expect(pricesRegion).toHaveTextContent("Electricity, MISO$39.03/MWh");
    expect(pricesRegion).toHaveTextContent("H100 spot$2.50/GPU-h");

    const alerts = screen.getByRole("region", { name: "Open alerts" });
    const critical = await within(alerts).findByRole("link", { name: "2 open critical alerts" });
    expect(critical).toHaveAttribute("href", "/app/alerts?status=open&severity=critical");
    expect(alerts).toHaveTextContent("1 acknowledged");
    expect(within(alerts).getByRole("link", { name: "0 open info alerts" })).toHaveAttribute("href", "/app/alerts?status=open&severity=info");

    const work = screen.getByRole("region", { name: "Active workloads by customer" });
    await waitFor(() => expect(within(work).getAllByRole("rowheader").map((c) => c.textContent)).toEqual(["Acme Corp", "Globex", "t3"]));
    const acme = within(work).getByRole("rowheader", { name: "Acme Corp" }).closest("tr")!;
    expect([...acme.querySelectorAll("td")].map((c) => c.textContent)).toEqual(["1", "1", "2"]);
    expect(requests).toContain("/api/v1/workloads?status=running&limit=1000");

    const money = screen.getByRole("region", { name: "Revenue, month to date" });
    await waitFor(() => expect(money).toHaveTextContent("$12,345.67"));
    expect(money).toHaveTextContent("AI $2,345.67 · Mining $10,000.00");
    expect(within(money).getByRole("rowheader", { name: "Acme Corp" }).closest("tr")).toHaveTextContent("120.5$2,345.67");
  });

  it("keeps the revenue from operators", async () => {
    auth.isAdmin = false;
    handler = api;
    renderWithClient(<OperatorDashboard />);
    await waitFor(() => expect(screen.getByRole("region", { name: "Prices" })).toHaveTextContent("BTC"));
    expect(screen.queryByRole("region", { name: "Revenue, month to date" })).toBeNull();
    expect(screen.queryByText("Admin")).toBeNull();
    expect(requests.some((r) => r.startsWith("/api/v1/billing/"))).toBe(false);
  });

  it("shows the API's error", async () => {
    handler = () => ({ status: 403, body: { error: { code: "forbidden", message: "staff only", details: null } } });
    renderWithClient(<OperatorDashboard />);
    const alerts = await screen.findAllByRole("alert");
    expect(alerts[0]).toHaveTextContent("staff only");
    expect(value("Hashrate")).toBe("—");
    await waitFor(() => expect(within(screen.getByRole("region", { name: "Prices" })).getByRole("alert"))
      .toHaveTextContent("Could not load the prices"));
  });

  it("describes an empty history", () => {
    expect(describeHistory([], 3600)).toBe("No fleet history yet for this period.");
  });
});

describe("CustomerDashboard", () => {

  it("shows active workloads, spend, budget and the recent workloads, live", async () => {
    let running = 2;
    const recent = [w("a", "running", { started_at: "2026-01-01T09:05:00Z" }), w("b", "queued")];
    handler = (url) => {
      switch (url.pathname) {
        case "/api/v1/workloads": {
          const status = url.searchParams.get("status");
          if (status) {
            const total = { running, queued: 1, scheduled: 0, switching: 1 }[status] ?? 0;
            return { body: { items: [], total } };
          }
          expect(url.searchParams.get("limit")).toBe("10");
          return { body: { items: recent, total: 2 } };
        }
        case "/api/v1/billing/usage":
          expect(url.searchParams.get("group_by")).toBe("model");
          return { body: { from: "", to: "", group_by: "model", tenant_id: "t1", items: [], total: 0, total_gpu_hours: "12.5", total_cost_usd: "1234.56" } };
        case "/api/v1/billing/budget":
          return { body: { tenant_id: "t1", month: "2026-01", monthly_limit_usd: "5000.00", spent_usd: "1300.00", metered_usd: "1234.56", running_usd: "65.44", remaining_usd: "3700.00", used_pct: "26", thresholds_pct: [50, 80, 100], updated_at: null } };
        default:
          throw new Error(`unexpected ${url.pathname}`);
      }
    };
    const client = renderWithClient(<CustomerDashboard />);
    expect(screen.getByRole("heading", { level: 1, name: "Customer dashboard" })).toBeInTheDocument();
    await waitFor(() => expect(value("Active workloads")).toBe("4"));
    await waitFor(() => expect(value("Spend this month")).toBe("$1,234.56"));
    expect(screen.getByRole("region", { name: "Spend this month" })).toHaveTextContent("12.5 GPU-hours");
    await waitFor(() => expect(value("Budget")).toBe("$5,000.00"));
    expect(screen.getByRole("region", { name: "Budget" })).toHaveTextContent("26 % used · $1,300.00 spent");

    const table = await screen.findByRole("table", { name: "Recent workloads" });
    await waitFor(() => expect(within(table).getAllByRole("row")).toHaveLength(3));
    const rowA = within(table).getByRole("rowheader", { name: "job-a" }).closest("tr")!;
    expect(rowA).toHaveTextContent("running");
    expect(rowA).toHaveTextContent("4 × H100");

    // job-a completes: its chip changes in place and the running count refetches
    running = 1;
    act(() => applyEvent(client, {
      id: "e1", channel: "workloads", event: "workload.state", ts: "2026-01-01T10:00:00Z",
      data: { ...w("a", "completed", { started_at: "2026-01-01T09:05:00Z", finished_at: "2026-01-01T10:00:00Z" }), previous_status: "running", placed_gpu_model: null },
    }));
    await waitFor(() => expect(rowA).toHaveTextContent("completed"));
    expect(within(table).getByRole("rowheader", { name: "job-a" }).closest("tr")).toBe(rowA); // the same row, patched
    await waitFor(() => expect(value("Active workloads")).toBe("3"));

    // a new one appears at the top
    act(() => applyEvent(client, {
      id: "e2", channel: "workloads", event: "workload.state", ts: "2026-01-01T10:01:00Z",
      data: { ...w("c", "submitted", { submitted_at: "2026-01-01T10:01:00Z" }), previous_status: null, placed_gpu_model: null },
    }));
    await waitFor(() => expect(within(table).getAllByRole("rowheader").map((c) => c.textContent))
      .toEqual(["job-c", "job-a", "job-b"]));
    expect(within(table).getByRole("rowheader", { name: "job-a" }).closest("tr")).toBe(rowA);
  });

  it("names what failed", async () => {
    handler = (url) =>
      url.pathname === "/api/v1/billing/budget"
        ? { status: 500, body: { error: { code: "internal", message: "budget store down", details: null } } }
        : url.pathname === "/api/v1/billing/usage"
          ? { body: { from: "", to: "", group_by: "model", tenant_id: "t1", items: [], total: 0, total_gpu_hours: "0", total_cost_usd: "0" } }
          : { body: { items: [], total: 0 } };
    renderWithClient(<CustomerDashboard />);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not load your budget");
    expect(alert).toHaveTextContent("budget store down");
    expect(await screen.findByText("No workloads yet.")).toBeInTheDocument();
    await waitFor(() => expect(value("Active workloads")).toBe("0"));
  });
});
