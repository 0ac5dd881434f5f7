import { describe, expect, it } from "vitest";
import { commandsFor, parsePowerTarget } from "./commands";
import {
  apiQuery, exportQuery, filenameOf, listStateToParams, nextSort, parseListState, withFilter,
} from "./filters";
import { describeSeries, metricOf, telemetryQuery, windowOf } from "./telemetry";

const parse = (search: string) => parseListState(new URLSearchParams(search));

describe("the list's state in the URL", () => {
  it("reads filters, sort and page, and writes them back the same", () => {
    const search = "kind=asic&facility_id=tx-north&rack_id=tx-north-a01&status=online&health=warning&mode=mining" +
      "&model=Antminer+S21&q=s21&sort=-model&page=3&size=50";
    const state = parse(search);
    expect(state).toEqual({
      filters: { kind: "asic", facility_id: "tx-north", rack_id: "tx-north-a01", status: "online", health: "warning",
        mode: "mining", model: "Antminer S21", q: "s21" },
      sort: { field: "model", direction: "desc" }, page: 2, pageSize: 50,
    });
    expect(listStateToParams(state).toString()).toBe(new URLSearchParams(search).toString());
    expect(apiQuery(state)).toEqual({ ...state.filters, sort: "-model", limit: 50, offset: 100 });
    expect(exportQuery(state)).toEqual({ ...state.filters, sort: "-model" });
  });

  it("drops what it does not understand, and leaves defaults out of the URL", () => {
    const state = parse("kind=tpu&status=&mode=dancing&sort=power&page=0&size=7&q=%20%20");
    expect(state).toEqual({ filters: {}, sort: null, page: 0, pageSize: 25 });
    expect(listStateToParams(state).toString()).toBe("");
    expect(apiQuery(state)).toEqual({ sort: undefined, limit: 25, offset: 0 });
  });

  it("goes back to the first page when a filter changes, and drops the rack with the facility", () => {
    const state = parse("facility_id=tx-north&rack_id=tx-north-a01&page=4");
    const next = withFilter(state, "facility_id", "tx-south");
    expect(next.filters).toEqual({ facility_id: "tx-south" });
    expect(next.page).toBe(0);
    expect(withFilter(state, "q", "  ").filters).toEqual(state.filters);
    expect(withFilter(state, "rack_id", undefined).filters).toEqual({ facility_id: "tx-north" });
  });

  it("cycles a column's sort: ascending, descending, default", () => {
    let state = parse("page=2");
    state = nextSort(state, "status");
    expect([state.sort, state.page]).toEqual([{ field: "status", direction: "asc" }, 0]);
    state = nextSort(state, "status");
    expect(state.sort).toEqual({ field: "status", direction: "desc" });
    expect(nextSort(state, "status").sort).toBeNull();
    expect(nextSort(state, "id").sort).toEqual({ field: "id", direction: "asc" });
  });

  it("takes the download's name from Content-Disposition", () => {
    expect(filenameOf('attachment; filename="hcp-resources-20260101T000000Z.csv"', "x.csv")).toBe("hcp-resources-20260101T000000Z.csv");
    expect(filenameOf(null, "x.csv")).toBe("x.csv");
  });
});

describe("unit commands", () => {
  const miner = { id: "asic-1", kind: "asic" as const, capabilities: ["telemetry", "mining"], mode: "mining" as const,
    status: "online" as const, address: "10.0.0.1" };

  it("offers what the driver supports, with what the unit's state rules out", () => {
    const cmds = commandsFor(miner);
    expect(cmds.map((c) => [c.key, c.action, c.disabledReason])).toEqual([
      ["curtail", "stop_mining", undefined],
      ["resume", "start_mining", "Already mining"],
    ]);
    expect(cmds[0]!.title("asic-1")).toBe("Curtail asic-1?");
    expect(commandsFor({ ...miner, mode: "curtailed" }).map((c) => c.disabledReason)).toEqual(["Already curtailed", undefined]);
    expect(commandsFor({ ...miner, status: "offline" }).every((c) => c.disabledReason === "asic-1 is offline")).toBe(true);
    const gpu = { ...miner, id: "gpu-1", kind: "gpu" as const, capabilities: ["telemetry", "workloads", "power_target"], mode: "idle" as const };
    expect(commandsFor(gpu).map((c) => [c.key, c.needsPower])).toEqual([["power_target", true]]);
    expect(commandsFor({ ...gpu, capabilities: ["telemetry"] })).toEqual([]);
  });

  it("checks a power target as the API does", () => {
    expect(parsePowerTarget(" 3200 ")).toEqual({ value: 3200 });
    expect(parsePowerTarget("")).toEqual({ error: "Enter a power target in watts" });
    expect(parsePowerTarget("abc")).toEqual({ error: "A number of watts" });
    expect(parsePowerTarget("0")).toEqual({ error: "Greater than 0 W" });
    expect(parsePowerTarget("100001")).toEqual({ error: "At most 100,000 W" });
  });
});

describe("telemetry", () => {
  it("asks raw samples for an hour and whole-minute buckets beyond", () => {
    const end = new Date("2026-01-08T00:00:00Z");
    expect(telemetryQuery(windowOf("1h"), "power_w", end)).toEqual({ since: "2026-01-07T23:00:00.000Z", metric: ["power_w"] });
    expect(telemetryQuery(windowOf("24h"), "temp_c", end)).toEqual({ since: "2026-01-07T00:00:00.000Z", metric: ["temp_c"], step: 300 });
    const week = telemetryQuery(windowOf("7d"), "hashrate_ths", end);
    expect([week.since, week.step! % 60]).toEqual(["2026-01-01T00:00:00.000Z", 0]);
    expect(windowOf("nonsense").key).toBe("1h");
  });

  it("names the metric, the window and the line's range in the text alternative", () => {
    const hashrate = metricOf("asic", null);
    expect(hashrate.key).toBe("hashrate_ths");
    expect(metricOf("gpu", null).key).toBe("util_pct");
    const points = [{ ts: "2026-01-01T00:00:00Z", value: 190.04 }, { ts: "2026-01-01T00:00:10Z", value: null },
      { ts: "2026-01-01T00:00:20Z", value: 201.26 }, { ts: "2026-01-01T00:00:30Z", value: 198 }];
    expect(describeSeries(hashrate, windowOf("1h"), points, null)).toBe(
      "Hashrate (TH/s) over the last hour: 3 readings, lowest 190.0 TH/s, highest 201.3 TH/s, latest 198.0 TH/s.");
    expect(describeSeries(metricOf("asic", "power_w"), windowOf("24h"), [{ ts: "x", value: 3400 }], 300)).toBe(
      "Power (kW) over the last 24 hours: 1 average of 5 min, lowest 3.40 kW, highest 3.40 kW, latest 3.40 kW.");
    expect(describeSeries(hashrate, windowOf("7d"), [], 3600)).toBe("Hashrate (TH/s) over the last 7 days: no readings in this window.");
  });
});
