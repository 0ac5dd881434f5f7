import { describe, expect, it } from "vitest";
import {
  DEFAULT_BACKTEST, backtestBody, describeGroup, emptyWindow, facilityRows, localInputToIso, priceGroups,
  toLocalInput, windowBody, windowState,
} from "./logic";
import type { Plan, PriceHistory } from "./queries";

const facility = (id: string, power_kw: number, cap: number) => ({
  id, name: id.toUpperCase(), power_kw, power_cap_kw: cap, electricity_usd_per_mwh: 40, running_work_kw: 1,
  demand_response: null, profit_usd_per_hour: 2,
});
const decision = (unit_id: string, facility_id: string, mode: string) => ({
  unit_id, facility_id, mode, planned_mode: mode, power_w: 1000, held: false,
}) as Plan["decisions"][number];

describe("facilityRows", () => {
  it("counts each facility's units by mode and its load against the cap in force", () => {
    const plan = {
      summary: { facilities: [facility("tx", 30, 40), facility("nd", 0, 0)] },
      decisions: [decision("a1", "tx", "mining"), decision("a2", "tx", "mining"), decision("a3", "tx", "curtailed"),
        decision("g1", "tx", "spot"), decision("g2", "nd", "workload"), decision("x", "elsewhere", "mining")],
    } as unknown as Plan;
    const [tx, nd] = facilityRows(plan) as [ReturnType<typeof facilityRows>[number], ReturnType<typeof facilityRows>[number]];
    expect(tx.units).toEqual({ mining: 2, spot: 1, workload: 0, idle: 0, curtailed: 1 });
    expect(tx.load).toBeCloseTo(0.75);
    expect(nd.units.workload).toBe(1);
    expect(nd.load).toBe(0);
  });
});

describe("priceGroups", () => {
  const history = {
    items: [
      { series: "electricity_usd_per_mwh:HB_WEST", ts: "2026-07-01T10:05:00Z", value: 42 },
      { series: "electricity_usd_per_mwh:HB_WEST", ts: "2026-07-01T10:00:00Z", value: 40 },
      { series: "electricity_usd_per_mwh:HB_NORTH", ts: "2026-07-01T10:00:00Z", value: 50 },
      { series: "hashprice_usd_per_th_day", ts: "2026-07-01T10:00:00Z", value: 0.05 },
      { series: "btc_usd", ts: "2026-07-01T10:00:00Z", value: 65000 },
    ],
    total: 5, series: [], since: "", until: "", step_s: 300,
  } as unknown as PriceHistory;

  it("groups series by kind, a line per node, oldest first, hashprice per PH", () => {
    const groups = priceGroups(history);
    expect(groups.map((g) => g.id)).toEqual(["btc", "hashprice", "electricity"]); // no GPU series: no chart
    const electricity = groups[2]!;
    expect(electricity.series.map((s) => s.label)).toEqual(["HB_NORTH", "HB_WEST"]);
    expect(electricity.series[1]!.points.map((p) => p.value)).toEqual([40, 42]);
    expect(groups[1]!.series[0]!.points[0]!.value).toBeCloseTo(50);
    expect(describeGroup(electricity, (v) => `$${v}`)).toBe("HB_NORTH $50 (range $50 to $50); HB_WEST $42 (range $40 to $42)");
  });

  it("is empty without a history", () => {
    expect(priceGroups(undefined)).toEqual([]);
  });
});

describe("the window form", () => {
  const now = new Date(2026, 6, 1, 14, 5, 30);

  it("starts now and lasts an hour by default; a start this minute is sent as now", () => {
    const form = { ...emptyWindow(now, "tx"), power_cap_kw: "12.5" };
    expect(form.starts_at).toBe("2026-07-01T14:05");
    expect(form.ends_at).toBe("2026-07-01T15:05");
    const body = windowBody(form, now);
    expect(body.starts_at).toBe(now.toISOString());
    expect(body.ends_at).toBe(new Date(2026, 6, 1, 15, 5).toISOString());
    expect(body.power_cap_kw).toBe(12.5);
    expect(body.facility_id).toBe("tx");
  });

  it("passes what it cannot read to the API, which names the field", () => {
    const body = windowBody({ ...emptyWindow(now), power_cap_kw: "", ends_at: "" }, now);
    expect(body.power_cap_kw).toBe("");
    expect(body.ends_at).toBe("");
    expect(localInputToIso("soon")).toBe("soon");
    expect(toLocalInput(new Date(2026, 0, 2, 3, 4))).toBe("2026-01-02T03:04");
  });

  it("says whether a window is in force, scheduled or over", () => {
    const at = Date.parse("2026-07-01T12:00:00Z");
    expect(windowState({ starts_at: "2026-07-01T11:00:00Z", ends_at: "2026-07-01T13:00:00Z" }, at)).toBe("In force");
    expect(windowState({ starts_at: "2026-07-01T12:30:00Z", ends_at: "2026-07-01T13:00:00Z" }, at)).toBe("Scheduled");
    expect(windowState({ starts_at: "2026-07-01T10:00:00Z", ends_at: "2026-07-01T12:00:00Z" }, at)).toBe("Ended");
  });
});

describe("backtestBody", () => {
  it("runs the sample year's chosen period with the given fleet; numbers as numbers, the empty threshold as null", () => {
    const fleet = { facilities: [{ id: "tx", power_cap_kw: 40, market_node: "HB_NORTH" }], units: [] };
    const body = backtestBody({ ...DEFAULT_BACKTEST, strategies: ["hybrid"], min_dwell_s: "60" }, fleet);
    expect(body).toMatchObject({
      fleet, prices: { sample: true }, strategies: ["hybrid"], from: "2026-06-01T00:00:00Z", to: "2026-07-01T00:00:00Z",
      threshold_usd_per_mwh: null, asic_ramp_s: 600, gpu_switch_s: 0.5, min_dwell_s: 60,
    });
    expect(body.series_points).toBeGreaterThan(0);
    expect(backtestBody({ ...DEFAULT_BACKTEST, threshold: "abc" }, fleet).threshold_usd_per_mwh).toBe("abc");
  });
});
