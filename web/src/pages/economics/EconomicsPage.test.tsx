import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { json, renderWithProviders, signedInAs } from "../../shell/testing";
import EconomicsPage from "./EconomicsPage";

beforeAll(() => {
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  } as unknown as typeof ResizeObserver;
});

const FACILITIES = { items: [
  { id: "tx-north", name: "Texas North", location: "TX", power_cap_kw: 40, market_node: "HB_NORTH" },
  { id: "nd", name: "North Dakota", location: "ND", power_cap_kw: 25, market_node: "MISO" },
], total: 2 };

function plan(capped: boolean) {
  const power = capped ? 9.5 : 30;
  return {
    id: "p1", ts: "2026-07-01T12:00:00Z", objective_usd_per_hour: 12.34, optimum_usd_per_hour: 12.5,
    hashprice_usd_per_th_day: 0.05, reason: "optimum",
    summary: {
      ts: "2026-07-01T12:00:00Z", objective_usd_per_hour: 12.34, optimum_usd_per_hour: 12.5, hashprice_usd_per_th_day: 0.05,
      units_by_mode: { mining: 2, curtailed: 1 }, changed: 0, reason: "optimum", unplaced_workloads: [], waiting: [],
      switching_usd_per_hour: 0,
      facilities: [{ id: "tx-north", name: "Texas North", power_kw: power, power_cap_kw: capped ? 10 : 40,
        electricity_usd_per_mwh: 45, running_work_kw: 0.7, profit_usd_per_hour: 7.25,
        demand_response: capped ? { id: "w1", reason: "ERCOT 4CP", ends_at: "2026-07-01T13:00:00Z" } : null }],
    },
    decisions: [
      { unit_id: "a1", facility_id: "tx-north", mode: "mining", planned_mode: "mining", power_w: 3500, held: false },
      { unit_id: "a2", facility_id: "tx-north", mode: capped ? "curtailed" : "mining", planned_mode: "mining", power_w: 3500, held: false },
      { unit_id: "a3", facility_id: "tx-north", mode: "curtailed", planned_mode: "curtailed", power_w: 0, held: false },
    ],
    recommendations: [],
  };
}

const RECS = { items: [{ kind: "curtail", facility_id: "tx-north", model: "S19", units: 3, usd_per_hour: 1.5,
  message: "Curtail 3 S19 at Texas North: power is above their break-even" }], total: 1, ts: "2026-07-01T12:00:00Z" };
const HISTORY = { items: [
  { series: "btc_usd", ts: "2026-07-01T11:00:00Z", value: 65000, min: 65000, max: 65000, count: 1 },
  { series: "electricity_usd_per_mwh:HB_NORTH", ts: "2026-07-01T11:00:00Z", value: 45, min: 45, max: 45, count: 1 },
], total: 2, series: ["btc_usd"], since: "2026-07-01T00:00:00Z", until: "2026-07-01T12:00:00Z", step_s: 900 };
const FLEET = { facilities: [{ id: "tx-north", power_cap_kw: 40, market_node: "HB_NORTH" }],
  units: [{ id: "tx-north-s21", kind: "asic", facility_id: "tx-north", power_w: 3500, hashrate_ths: 200, count: 3 }], workloads: [] };
const summary = (strategy: string, profit: number) => ({
  strategy, profit_usd: profit, profit_after_switching_usd: profit - 10, switching_cost_usd: 10,
  revenue_usd: { mining: profit, ai_contracted: 0, spot: 0, total: profit }, energy_cost_usd: 5, energy_mwh: 1,
  mean_power_kw: 10, peak_power_kw: 10.5, curtailed_asic_hours: 2, hours_with_curtailment: 1, switches: 4,
  asic_starts: 2, asic_stops: 2, gpu_switches: 0, slo_shortfall_gpu_hours: 0, slo_shortfall_usd: 0,
});
const RESULT = {
  period: { start: "2026-06-01T00:00:00Z", end: "2026-07-01T00:00:00Z", steps: 8640, hours: 720 },
  prices_source: "sample", synthetic_prices: true, threshold_usd_per_mwh: 119, notes: [],
  strategies: [summary("hybrid", 2000), summary("mine-always", 1500)], series: null, elapsed_ms: 50,
};

let calls: { method: string; path: string; body: unknown }[];
let windows: { id: string; facility_id: string; power_cap_kw: number; starts_at: string; ends_at: string; reason: string; created_by: null }[];

beforeEach(() => {
  calls = [];
  windows = [];
  signedInAs("operator");
  vi.stubGlobal("fetch", vi.fn(async (request: Request) => {
    const url = new URL(request.url);
    const body = request.method === "GET" || request.method === "DELETE" ? undefined : await request.json();
    calls.push({ method: request.method, path: url.pathname + url.search, body });
    const p = url.pathname;
    if (p === "/api/v1/economics/plan") return json(200, plan(windows.length > 0));
    if (p === "/api/v1/economics/recommendations") return json(200, RECS);
    if (p === "/api/v1/facilities") return json(200, FACILITIES);
    if (p === "/api/v1/market/history") return json(200, HISTORY);
    if (p === "/api/v1/economics/backtest/fleet") return json(200, FLEET);
    if (p === "/api/v1/economics/backtest") return json(200, RESULT);
    if (p === "/api/v1/economics/demand-response" && request.method === "GET") return json(200, { items: windows, total: windows.length });
    if (p === "/api/v1/economics/demand-response" && request.method === "POST") {
      const b = body as { ends_at: string; starts_at: string; facility_id: string; power_cap_kw: number; reason: string };
      if (b.ends_at <= b.starts_at) {
        return json(422, { error: { code: "invalid_input", message: "ends_at: must be after starts_at",
          details: [{ field: "ends_at", message: "must be after starts_at" }] } });
      }
      const w = { id: "w1", ...b, created_by: null };
      windows = [w];
      return json(201, w);
    }
    if (p === "/api/v1/economics/demand-response/w1" && request.method === "DELETE") {
      windows = [];
      return new Response(null, { status: 204 });
    }
    return json(404, { error: { code: "not_found", message: "no", details: null } });
  }));
});
afterEach(() => vi.unstubAllGlobals());

function renderPage() {
  return renderWithProviders(<Routes><Route path="/app/economics" element={<EconomicsPage />} /></Routes>, { path: "/app/economics" });
}

const planned = (name: string) => within(screen.getByRole("table", { name: "Plan by facility" })).getByRole("rowheader", { name }).closest("tr")!;

// A page of five sections on a shared, loaded machine: more time than the 5 s default.
describe("EconomicsPage", { timeout: 30_000 }, () => {
  it("shows the plan per facility, the recommendations in words and the price charts' text", async () => {
    renderPage();
    expect(screen.getByRole("heading", { level: 1, name: "Economics" })).toBeInTheDocument();
    const table = await screen.findByRole("table", { name: "Plan by facility" });
    const row = await within(table).findByRole("rowheader", { name: "Texas North" });
    const cells = within(row.closest("tr")!).getAllByRole("cell").map((c) => c.textContent);
    expect(cells.slice(0, 5)).toEqual(["2", "0", "0", "0", "1"]); // mining, spot, workload, idle, curtailed
    expect(row.closest("tr")).toHaveTextContent("30.0 kW of 40.0 kW");
    expect(row.closest("tr")).toHaveTextContent("$7.25");
    expect(screen.getByRole("region", { name: "Profit per hour" })).toHaveTextContent("$12.34");
    expect(screen.getByRole("region", { name: "Hashprice" })).toHaveTextContent("$50.00/PH/day");
    expect(await screen.findByText(RECS.items[0]!.message)).toBeInTheDocument();
    expect(await screen.findByText(/HB_NORTH \$45\.00/)).toBeInTheDocument();
    expect(screen.getByRole("figure", { name: "Bitcoin (USD)" })).toHaveTextContent("$65,000");
  });

  it("shows the API's refusal beside the field, then creates a window and shows the plan under it", async () => {
    renderPage();
    await screen.findByRole("rowheader", { name: "Texas North" });
    await screen.findByRole("option", { name: "Texas North" });
    await userEvent.selectOptions(screen.getByLabelText(/Facility/), "tx-north");
    await userEvent.type(screen.getByLabelText(/Cap \(kW\)/), "10");
    const ends = screen.getByLabelText(/Ends/);
    await userEvent.clear(ends);
    await userEvent.type(ends, "2020-01-01T00:00");
    await userEvent.click(screen.getByRole("button", { name: "Create window" }));
    await waitFor(() => expect(screen.getByLabelText(/Ends/)).toHaveAccessibleDescription("must be after starts_at"));
    expect(screen.queryByRole("alert")).toBeNull(); // shown beside its field only

    await userEvent.clear(screen.getByLabelText(/Ends/));
    await userEvent.type(screen.getByLabelText(/Ends/), "2099-01-01T00:00");
    await userEvent.click(screen.getByRole("button", { name: "Create window" }));
    expect(await screen.findByText(/Window created: 10\.0 kW at Texas North/)).toBeInTheDocument();
    const sent = calls.filter((c) => c.method === "POST").at(-1)!.body as Record<string, unknown>;
    expect(sent).toMatchObject({ facility_id: "tx-north", power_cap_kw: 10, reason: "Grid operator's call" });
    await waitFor(() => expect(planned("Texas North")).toHaveTextContent("9.5 kW of 10.0 kW"));
    expect(planned("Texas North")).toHaveTextContent("ERCOT 4CP");
    const list = screen.getByRole("table", { name: "Demand-response windows" });
    expect(await within(list).findByRole("rowheader", { name: "Texas North" })).toBeInTheDocument();
  });

  it("cancels a window only after the confirmation", async () => {
    windows = [{ id: "w1", facility_id: "tx-north", power_cap_kw: 10, starts_at: "2000-01-01T00:00:00Z",
      ends_at: "2099-01-01T00:00:00Z", reason: "ERCOT 4CP", created_by: null }];
    renderPage();
    await userEvent.click(await screen.findByRole("button", { name: "Cancel the window at Texas North: ERCOT 4CP" }));
    const dialog = screen.getByRole("dialog", { name: "Cancel this demand-response window?" });
    expect(dialog).toHaveTextContent("at once");
    await userEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);

    await userEvent.click(screen.getByRole("button", { name: "Cancel the window at Texas North: ERCOT 4CP" }));
    await userEvent.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Cancel window" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).toEqual(["/api/v1/economics/demand-response/w1"]);
    expect(await screen.findByText("No demand-response windows.")).toBeInTheDocument();
  });

  it("runs a backtest with the fleet as it stands and the chosen strategies, then tabulates it", async () => {
    renderPage();
    await screen.findByText(/1 facilities, 3 units/);
    await userEvent.click(screen.getByRole("checkbox", { name: "AI first" }));
    await userEvent.click(screen.getByRole("button", { name: "Run backtest" }));
    const table = await screen.findByRole("table", { name: "Backtest result" });
    expect(within(table).getByRole("rowheader", { name: "Hybrid (the planner) (best)" }).closest("tr")).toHaveTextContent("$1,990");
    const sent = calls.find((c) => c.path === "/api/v1/economics/backtest")!.body as Record<string, unknown>;
    expect(sent.fleet).toEqual(FLEET);
    expect(sent.strategies).toEqual(["hybrid", "mine-always", "price-threshold"]);
  });
});
