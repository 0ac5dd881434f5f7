import { describe, expect, it } from "vitest";
import type { Schemas } from "../../api/client";
import { formatPower } from "./format";
import { currentWindows, facilityPower, modeSplit, workPerCustomer } from "./kpis";

const facility = (id: string, power_cap_kw: number): Schemas["FacilityOut"] => ({
  id, name: id.toUpperCase(), location: "", power_cap_kw, market_node: `NODE_${id}`,
});
const window = (id: string, facility_id: string, starts_at: string, ends_at: string, power_cap_kw: number): Schemas["DemandResponseOut"] => ({
  id, facility_id, starts_at, ends_at, power_cap_kw, reason: "", created_by: null,
});
const workload = (id: string, tenant_id: string, status: Schemas["WorkloadOut"]["status"], units: string[] = []) =>
  ({ id, tenant_id, status, units }) as unknown as Schemas["WorkloadOut"];

describe("facilityPower", () => {
  const now = "2026-01-01T12:00:00Z";

  it("lowers the cap while a window is in force, the lowest of two, and lists the coming ones soonest first", () => {
    const windows = [
      window("w3", "a", "2026-01-03T00:00:00Z", "2026-01-03T01:00:00Z", 50),
      window("w2", "a", "2026-01-02T00:00:00Z", "2026-01-02T01:00:00Z", 60),
      window("w1", "a", "2026-01-01T11:00:00Z", "2026-01-01T13:00:00Z", 70),
      window("w0", "a", "2026-01-01T11:30:00Z", "2026-01-01T12:30:00Z", 40),
      window("gone", "a", "2026-01-01T10:00:00Z", "2026-01-01T12:00:00Z", 10), // ended at `now`
      window("higher", "b", "2026-01-01T11:00:00Z", "2026-01-01T13:00:00Z", 500), // above b's own cap
    ];
    const [a, b] = facilityPower({ facilities: [facility("a", 100), facility("b", 200)], now, windows, drawWByFacility: { a: 30_000 } });
    expect(a!.active?.id).toBe("w0");
    expect(a!.capKw).toBe(40);
    expect(a!.nominalCapKw).toBe(100);
    expect(a!.used).toBeCloseTo(0.75);
    expect(a!.upcoming.map((w) => w.id)).toEqual(["w2", "w3"]);
    expect(b!.capKw).toBe(200);
    expect(b!.active?.id).toBe("higher");
    expect(b!.drawW).toBeNull();
    expect(b!.used).toBeNull();
  });

  it("takes the draw from the live figures, else the capacity report; the price by the facility's node", () => {
    const capacity = { facilities: [{ facility_id: "a", power: { used_kw: 12.5 } }, { facility_id: "b", power: { used_kw: 3 } }] } as unknown as Schemas["CapacityOut"];
    const [a, b] = facilityPower({
      facilities: [facility("a", 100), facility("b", 200)], now, capacity, drawWByFacility: { b: 4_000 },
      electricity: { NODE_a: 41.5 },
    });
    expect(a!.drawW).toBe(12_500);
    expect(b!.drawW).toBe(4_000);
    expect(a!.electricityUsdPerMwh).toBe(41.5);
    expect(b!.electricityUsdPerMwh).toBeNull();
    expect(a!.plannedKw).toBeNull();
  });

  it("keeps only windows that have not ended", () => {
    expect(currentWindows([window("old", "a", "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z", 1)], now)).toEqual([]);
  });
});

describe("modeSplit", () => {
  it("counts workload and spot units as AI and adds up to the fleet", () => {
    expect(modeSplit({ mining: 5, workload: 2, spot: 1, idle: 3, curtailed: 4 })).toEqual({
      mining: 5, ai: 3, idle: 3, curtailed: 4, unknown: 0, total: 15,
    });
  });
});

describe("workPerCustomer", () => {
  it("counts running and waiting work per customer, once per workload, most first", () => {
    const running = { items: [workload("1", "t1", "running", ["g1", "g2"]), workload("2", "t2", "running", ["g3"])], total: 2 };
    // "1" was patched to running on the queued list too, before that list refetched
    const queued = { items: [workload("1", "t1", "running", ["g1", "g2"]), workload("3", "t2", "queued"), workload("4", "t2", "queued")], total: 3 };
    const finished = { items: [workload("5", "t3", "completed")], total: 1 };
    const { rows, complete } = workPerCustomer([running, queued, finished]);
    expect(rows).toEqual([
      { tenantId: "t2", running: 1, waiting: 2, gpus: 1 },
      { tenantId: "t1", running: 1, waiting: 0, gpus: 2 },
    ]);
    expect(complete).toBe(true);
  });

  it("says when a list had more than its page", () => {
    expect(workPerCustomer([{ items: [workload("1", "t1", "queued")], total: 1500 }]).complete).toBe(false);
  });
});

describe("formatPower", () => {
  it("writes megawatts from one up, kilowatts below", () => {
    expect(formatPower(1_650_000)).toBe("1.65 MW");
    expect(formatPower(74_300)).toBe("74.3 kW");
    expect(formatPower(null)).toBe("—");
  });
});
