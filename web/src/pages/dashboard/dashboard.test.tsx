import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, render, screen, waitFor, within } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { applyEvent, liveQueryDefaults } from "../../live/cache";
import type { ChannelEvent, FleetHistory, FleetMetricsSnapshot, Workload } from "../../live/types";
import CustomerDashboard from "./CustomerDashboard";
import { describeHistory } from "./fleetSummary";
import OperatorDashboard from "./OperatorDashboard";

vi.mock("../../auth/AuthProvider", () => ({ useAuth: () => ({ user: null, isAdmin: true, isStaff: true }) }));
// the chart itself (SVG, lazy) is not what these tests look at
vi.mock("./FleetChart", () => ({ default: ({ points }: { points: unknown[] }) => <div data-testid="chart">{points.length}</div> }));

type Handler = (url: URL) => { status?: number; body: unknown };
let handler: Handler;
const requests: string[] = [];

beforeEach(() => {
  requests.length = 0;
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
  render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>);
  return client;
}

const value = (name: string) => within(screen.getByRole("region", { name })).getAllByText(/./)[1]!.textContent;

describe("OperatorDashboard", () => {
  const history: FleetHistory = {
    window_s: 3600, step_s: 60, source: "rollup",
    points: [
      { ts: "2026-01-01T10:00:00Z", hashrate_ths: 100, power_w: { mining: 1e6, ai: 2e5, idle: 0, total: 1.2e6 }, power_w_by_facility: {}, gpu_utilization: 0.5, gpus_busy: 8, gpus_total: 16 },
      { ts: "2026-01-01T10:30:00Z", hashrate_ths: 120.5, power_w: { mining: 1.1e6, ai: 3e5, idle: 1e5, total: 1.5e6 }, power_w_by_facility: {}, gpu_utilization: 0.75, gpus_busy: 11.6, gpus_total: 16 },
    ],
  };
  const snapshot: FleetMetricsSnapshot = {
    ts: "2026-01-01T10:31:00Z", hashrate_ths: 130, power_w: { mining: 1.2e6, ai: 4e5, idle: 5e4, total: 1.65e6 },
    power_w_by_facility: {}, gpus_busy: 12, gpus_total: 16, asics_mining: 320, gpu_utilization: 0.75,
    profit_usd_per_hour: 1234.5, queue_depth: { default: 2, spot: 3 },
  };

  it("seeds the figures from the history, then follows fleet.metrics events", async () => {
    handler = (url) => {
      expect(url.pathname).toBe("/api/v1/fleet/history");
      expect(url.searchParams.get("window_s")).toBe("3600");
      return { body: history };
    };
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
    expect(await screen.findByTestId("chart")).toHaveTextContent("2");
    expect(screen.getByText(/hashrate ranged from 100\.0 to 120\.5 TH\/s and is now 120\.5 TH\/s/)).toBeInTheDocument();

    const event: ChannelEvent = { id: "m1", channel: "metrics", event: "fleet.metrics", ts: snapshot.ts, data: snapshot };
    act(() => applyEvent(client, event));
    await waitFor(() => expect(value("Hashrate")).toBe("130.0 TH/s"));
    expect(screen.getByRole("region", { name: "Hashrate" })).toHaveTextContent("320 ASICs mining");
    expect(value("Power")).toBe("1.65 MW");
    expect(value("GPUs busy")).toBe("12 / 16");
    expect(value("Profit per hour")).toBe("$1,234.50/h");
    expect(value("Queue")).toBe("5");
    await waitFor(() => expect(screen.getByTestId("chart")).toHaveTextContent("3")); // the history grew by the event
    const updated = screen.getByText(/^Updated/);
    expect(updated.querySelector("time")).toHaveAttribute("dateTime", snapshot.ts);
    expect(requests).toEqual(["/api/v1/fleet/history?window_s=3600"]);
  });

  it("shows the API's error", async () => {
    handler = () => ({ status: 403, body: { error: { code: "forbidden", message: "staff only", details: null } } });
    renderWithClient(<OperatorDashboard />);
    expect(await screen.findByRole("alert")).toHaveTextContent("staff only");
    expect(value("Hashrate")).toBe("—");
  });

  it("describes an empty history", () => {
    expect(describeHistory([], 3600)).toBe("No fleet history yet for this period.");
  });
});

describe("CustomerDashboard", () => {
  const w = (id: string, status: Workload["status"], over: Partial<Workload> = {}): Workload & { wait_reason: string | null } => ({
    id, name: `job-${id}`, tenant_id: "t1", type: "ai_inference", priority: 5, gpu_model: "H100", gpu_count: 4,
    duration_s: 600, max_price_usd_per_gpu_hour: null, preemptible: false, status, units: [], facility_id: null,
    submitted_at: "2026-01-01T09:00:00Z", queued_at: null, started_at: null, finished_at: null, failure_reason: null,
    preemptions: 0, created_by: null, wait_reason: null, ...over,
  });

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
