// The resources pages in jsdom against a stubbed API: the URL drives the list's request and the
// controls write the URL; the export downloads the API's CSV; a command goes out only after its
// confirmation, and a refusal names the field.
import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useLocation } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Schemas } from "../../api/client";
import { json, renderWithProviders, signedInAs, stubMatchMedia } from "../../shell/testing";
import FacilityPage, { powerAgainstCap } from "./FacilityPage";
import ResourcesPage from "./ResourcesPage";
import UnitPage from "./UnitPage";

// Several user steps each on a shared two-core machine: more than Vitest's 5 s default.
vi.setConfig({ testTimeout: 30_000 });

vi.mock("./TelemetryChart", () => ({ default: () => <div data-testid="chart" /> }));

type Unit = Schemas["UnitOut"];

function unit(id: string, overrides: Partial<Unit> = {}): Unit {
  return {
    id, kind: "asic", model: "Antminer S21", driver: "cgminer", address: "10.0.0.1", facility_id: "tx-north",
    rack_id: "tx-north-a01", status: "online", health: "ok", health_reasons: [], mode: "mining", workload_id: null,
    nominal: { hashrate_ths: 200, power_w: 3500, memory_mib: null }, reading: { hashrate_ths: 198.4, power_w: 3420, temp_c: 71 },
    reading_at: "2026-01-01T10:00:00Z", last_seen_at: "2026-01-01T10:00:00Z", missed_polls: 0, mac: null, serial: null,
    hostname: null, firmware: "stock", capabilities: ["telemetry", "mining"], registered_at: "2026-01-01T00:00:00Z",
    allocation: null, ...overrides,
  };
}

interface Sent { method: string; path: string; query: URLSearchParams; body: unknown }
let sent: Sent[] = [];
let answer: (s: Sent) => Response | undefined;

beforeEach(() => {
  sent = [];
  stubMatchMedia();
  signedInAs("operator");
  vi.stubGlobal("fetch", vi.fn(async (req: Request) => {
    const url = new URL(req.url);
    const text = req.method === "GET" ? "" : await req.text();
    const s = { method: req.method, path: url.pathname, query: url.searchParams, body: text ? JSON.parse(text) : undefined };
    sent.push(s);
    const custom = answer?.(s);
    if (custom) return custom;
    if (s.path === "/api/v1/facilities") {
      return json(200, { items: [{ id: "tx-north", name: "Texas North", location: "TX", power_cap_kw: 40, market_node: "HB_NORTH" }], total: 1 });
    }
    if (s.path.endsWith("/racks")) return json(200, { items: [{ id: "tx-north-a01", facility_id: "tx-north", name: "Row A", position: 1, power_cap_kw: null }], total: 1 });
    if (s.path === "/api/v1/alerts") return json(200, { items: [], total: 0 });
    if (s.path.endsWith("/telemetry")) {
      return json(200, { unit_id: "asic-1", since: "x", until: "y", step_s: null, source: "raw",
        series: [{ metric: "hashrate_ths", points: [{ ts: "2026-01-01T09:59:00Z", value: 197 }, { ts: "2026-01-01T10:00:00Z", value: 199 }] }] });
    }
    return json(404, { error: { code: "not_found", message: `no route ${s.path}`, details: null } });
  }));
});
afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

function Where() {
  const l = useLocation();
  return <output data-testid="where">{l.pathname + l.search}</output>;
}

function renderAt(path: string) {
  return renderWithProviders(
    <>
      <Routes>
        <Route path="/app/resources" element={<ResourcesPage />} />
        <Route path="/app/resources/:unitId" element={<UnitPage />} />
        <Route path="/app/facilities/:facilityId" element={<FacilityPage />} />
      </Routes>
      <Where />
    </>,
    { path },
  );
}

const where = () => screen.getByTestId("where").textContent;
const listRequests = () => sent.filter((s) => s.method === "GET" && s.path === "/api/v1/resources");

describe("ResourcesPage", () => {
  beforeEach(() => {
    answer = (s) => (s.path === "/api/v1/resources"
      ? json(200, { items: [unit("asic-1"), unit("asic-2", { mode: "curtailed", reading: { power_w: 120 } })], total: 42 })
      : undefined);
  });

  it("asks the API for what the URL says and shows the filtered total", async () => {
    renderAt("/app/resources?facility_id=tx-north&kind=asic&sort=-model&page=2&size=25");
    expect(await screen.findByText("42 units match")).toBeInTheDocument();
    const q = listRequests().at(-1)!.query;
    expect(Object.fromEntries(q)).toEqual({ facility_id: "tx-north", kind: "asic", sort: "-model", limit: "25", offset: "25" });
    const row = screen.getByRole("row", { name: /asic-2/ });
    expect(within(row).getByText("Curtailed")).toBeInTheDocument();
    expect(within(row).getByText("0.12 kW")).toBeInTheDocument();
    expect(screen.getByRole("columnheader", { name: "Model" })).toHaveAttribute("aria-sort", "descending");
    expect(screen.getByRole("link", { name: "asic-1" })).toHaveAttribute("href", "/app/resources/asic-1");
  });

  it("writes filters and sort to the URL, back to the first page", async () => {
    const user = userEvent.setup();
    renderAt("/app/resources?page=2");
    await screen.findByText("42 units");
    await user.click(screen.getByRole("combobox", { name: "Mode" }));
    await user.click(await screen.findByRole("option", { name: "Curtailed" }));
    await waitFor(() => expect(where()).toBe("/app/resources?mode=curtailed"));
    await user.click(screen.getByRole("button", { name: "Status" }));
    expect(where()).toBe("/app/resources?mode=curtailed&sort=status");
    await waitFor(() => expect(Object.fromEntries(listRequests().at(-1)!.query)).toEqual({ mode: "curtailed", sort: "status", limit: "25", offset: "0" }));
    await user.type(screen.getByRole("searchbox", { name: "Search" }), "s21");
    await waitFor(() => expect(where()).toBe("/app/resources?mode=curtailed&q=s21&sort=status"));
    await user.click(screen.getByRole("button", { name: "Clear filters" }));
    expect(where()).toBe("/app/resources?sort=status");
    expect(screen.getByRole("searchbox", { name: "Search" })).toHaveValue("");
  });

  it("exports the whole filtered set through the API, as a download", async () => {
    const user = userEvent.setup();
    const created: Blob[] = [];
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: (b: Blob) => (created.push(b), "blob:x"), revokeObjectURL: () => undefined }));
    const clicks: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicks.push(this.download);
    });
    answer = (s) => {
      if (s.path === "/api/v1/resources/export.csv") {
        return new Response("id,kind\r\nasic-1,asic\r\n", { status: 200,
          headers: { "content-type": "text/csv", "content-disposition": 'attachment; filename="hcp-resources-1.csv"' } });
      }
      return s.path === "/api/v1/resources" ? json(200, { items: [unit("asic-1")], total: 1 }) : undefined;
    };
    renderAt("/app/resources?facility_id=tx-north&kind=asic&page=3");
    await screen.findByText("1 unit match");
    await user.click(screen.getByRole("button", { name: "Export CSV" }));
    await waitFor(() => expect(clicks).toEqual(["hcp-resources-1.csv"]));
    const exp = sent.find((s) => s.path === "/api/v1/resources/export.csv")!;
    expect(Object.fromEntries(exp.query)).toEqual({ facility_id: "tx-north", kind: "asic" }); // no paging
    expect(await created[0]!.text()).toBe("id,kind\r\nasic-1,asic\r\n");
    click.mockRestore();
  });
});

describe("UnitPage", () => {
  it("curtails only after the confirmation, and shows the new mode", async () => {
    const user = userEvent.setup();
    let current = unit("asic-1");
    answer = (s) => {
      if (s.path === "/api/v1/resources/asic-1" && s.method === "GET") return json(200, current);
      if (s.path === "/api/v1/resources/asic-1/commands") {
        current = { ...current, mode: "curtailed" };
        return json(200, { unit: current, result: { action: "stop_mining" } });
      }
      return undefined;
    };
    renderAt("/app/resources/asic-1");
    expect(await screen.findByRole("heading", { level: 1, name: "asic-1" })).toBeInTheDocument();
    expect(await screen.findByText(/Hashrate \(TH\/s\) over the last hour: 2 readings/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Resume mining" })).toBeDisabled();
    await user.click(screen.getByRole("button", { name: "Curtail" }));
    let dialog = await screen.findByRole("dialog", { name: "Curtail asic-1?" });
    expect(dialog).toHaveTextContent(/stops mining/);
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(sent.some((s) => s.method === "POST")).toBe(false);

    await user.click(screen.getByRole("button", { name: "Curtail" }));
    dialog = await screen.findByRole("dialog", { name: "Curtail asic-1?" });
    await user.click(within(dialog).getByRole("button", { name: "Curtail" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(sent.filter((s) => s.method === "POST").map((s) => s.body)).toEqual([{ action: "stop_mining" }]);
    expect(await screen.findByText("asic-1 is now curtailed")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Curtail" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Resume mining" })).toBeEnabled();
  });

  it("checks the power target, and shows the API's refusal with its field named", async () => {
    const user = userEvent.setup();
    const gpu = unit("gpu-1", { kind: "gpu", model: "H100", capabilities: ["telemetry", "workloads", "power_target"],
      mode: "idle", nominal: { hashrate_ths: null, power_w: 700, memory_mib: 81559 }, reading: { power_w: 300, util_pct: 12 } });
    answer = (s) => {
      if (s.path === "/api/v1/resources/gpu-1" && s.method === "GET") return json(200, gpu);
      if (s.path === "/api/v1/resources/gpu-1/commands") {
        return json(422, { error: { code: "invalid_input", message: "invalid input",
          details: [{ field: "power_target_w", message: "below the card's minimum of 100 W" }] } });
      }
      return undefined;
    };
    renderAt("/app/resources/gpu-1");
    await user.click(await screen.findByRole("button", { name: "Set power target" }));
    const dialog = await screen.findByRole("dialog", { name: "Set the power target of gpu-1" });
    const field = within(dialog).getByRole("spinbutton", { name: "Power target (W)" });
    expect(field).toHaveValue(700);
    await user.clear(field);
    await user.click(within(dialog).getByRole("button", { name: "Set power target" }));
    expect(within(dialog).getByText("Enter a power target in watts")).toBeInTheDocument();
    expect(sent.some((s) => s.method === "POST")).toBe(false);
    await user.type(field, "50");
    await act(async () => {
      await user.click(within(dialog).getByRole("button", { name: "Set power target" }));
    });
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("power_target_w: below the card's minimum of 100 W");
    expect(sent.filter((s) => s.method === "POST").map((s) => s.body)).toEqual([{ action: "set_power_target", power_target_w: 50 }]);
  });
});

describe("FacilityPage", () => {
  it("shows facility -> racks -> units with each rack's power against its cap", async () => {
    const tu = (id: string, power_w: number | null, mode: Schemas["UnitMode"] = "mining") => ({
      id, kind: "asic" as const, model: "Antminer S21", status: "online" as const, health: "ok" as const, mode, address: "x", power_w });
    answer = (s) => {
      if (s.path === "/api/v1/facilities/tx-north/topology") {
        return json(200, {
          facility: { id: "tx-north", name: "Texas North", location: "Granbury, TX", power_cap_kw: 40, market_node: "HB_NORTH" },
          racks: [
            { id: "a01", facility_id: "tx-north", name: "Row A", position: 1, power_cap_kw: 10, power_kw: 7.5,
              units: [tu("asic-1", 3500), tu("asic-2", 4000), tu("asic-3", null, "curtailed")] },
            { id: "g01", facility_id: "tx-north", name: "Pod G", position: 2, power_cap_kw: null, power_kw: 0, units: [] },
          ],
          unracked: [], units_total: 3,
        });
      }
      if (s.path === "/api/v1/resources/capacity") {
        expect(s.query.get("facility_id")).toBe("tx-north");
        return json(200, { at: "2026-01-01T00:00:00+00:00", total: {}, facilities: [{
          facility_id: "tx-north", name: "Texas North", forecast: [],
          asic: { units: 3, online: 3, mining: 2, hashrate_ths: 400, nominal_hashrate_ths: 600 },
          gpus: [{ model: "H100", total: 4, online: 4, free: 1, busy: 3 }],
          power: { cap_kw: 40, used_kw: 30, headroom_kw: 10, estimated_units: 0 } }] });
      }
      return undefined;
    };
    renderAt("/app/facilities/tx-north");
    expect(await screen.findByRole("heading", { level: 1, name: "Texas North" })).toBeInTheDocument();
    const rowA = await screen.findByRole("region", { name: "Row A" });
    expect(rowA).toHaveTextContent("3 units · 7.5 kW of 10.0 kW (75 %)");
    expect(within(rowA).getByRole("progressbar", { name: "Row A: power against its cap" })).toHaveAttribute("aria-valuenow", "75");
    expect(within(rowA).getByRole("link", { name: /^asic-3: .*curtailed, no reading$/ })).toHaveAttribute("href", "/app/resources/asic-3");
    expect(screen.getByRole("region", { name: "Pod G" })).toHaveTextContent("0 units · 0.0 kW (no rack cap)");
    expect(await screen.findByRole("region", { name: "Facility power" })).toHaveTextContent("30.0 kW of 40.0 kW (75 %)");
    expect(screen.getByRole("region", { name: "GPUs" })).toHaveTextContent("3 busy · 1 free");
  });

  it("writes power with and without a cap", () => {
    expect(powerAgainstCap(12.34, 40)).toBe("12.3 kW of 40.0 kW (31 %)");
    expect(powerAgainstCap(12.34, null)).toBe("12.3 kW");
  });
});
