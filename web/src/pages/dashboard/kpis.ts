// What the operations dashboard derives from the API's answers: power per facility against the cap
// in force, demand-response windows now and to come, the fleet's split by mode, active work per
// customer. Pure, so they are tested without rendering.
import type { Schemas } from "../../api/client";

type Facility = Schemas["FacilityOut"];
type Capacity = Schemas["CapacityOut"];
type Plan = Schemas["PlanOut"];
type Window = Schemas["DemandResponseOut"];
type WorkloadList = Schemas["WorkloadList"];
type UnitMode = Schemas["UnitMode"];

/** The statuses of work that holds or waits for GPUs. */
export const ACTIVE_STATUSES = ["queued", "scheduled", "switching", "running"] as const;

/** The nameplate hashrate of the online ASICs (mining or curtailed), summed over facilities. */
export function nominalHashrateThs(capacity: Capacity | undefined): number | undefined {
  if (!capacity) return undefined;
  return capacity.facilities.reduce((sum, f) => sum + f.asic.nominal_hashrate_ths, 0);
}

const at = (iso: string) => Date.parse(iso);

/** Whether the window is in force at `now` (ISO), as the planner judges it. */
export function isActive(w: Window, now: string): boolean {
  return at(w.starts_at) <= at(now) && at(now) < at(w.ends_at);
}

/** The windows in force or still to come at `now`, soonest first. */
export function currentWindows(windows: readonly Window[], now: string): Window[] {
  return windows.filter((w) => at(w.ends_at) > at(now)).sort((a, b) => at(a.starts_at) - at(b.starts_at));
}

export interface FacilityPower {
  id: string;
  name: string;
  marketNode: string;
  /** what it draws now (W), from the latest fleet figures, else the capacity report; null if neither has it */
  drawW: number | null;
  /** the cap in force (kW): the facility's, or a demand-response window's lower one */
  capKw: number;
  /** the facility's own cap (kW) */
  nominalCapKw: number;
  /** draw / cap, 0.. (above 1: over the cap); null without a draw or a cap */
  used: number | null;
  /** what the latest plan draws there (kW) */
  plannedKw: number | null;
  electricityUsdPerMwh: number | null;
  /** the window in force now, if any */
  active: Window | null;
  /** windows still to come, soonest first */
  upcoming: Window[];
}

export function facilityPower(args: {
  facilities: readonly Facility[];
  now: string;
  drawWByFacility?: Record<string, number | undefined>;
  capacity?: Capacity;
  plan?: Plan;
  windows?: readonly Window[];
  electricity?: Record<string, number>;
}): FacilityPower[] {
  const { facilities, now, drawWByFacility, capacity, plan, windows = [], electricity } = args;
  const current = currentWindows(windows, now);
  return facilities.map((f) => {
    const mine = current.filter((w) => w.facility_id === f.id);
    const active = mine.filter((w) => isActive(w, now)).sort((a, b) => a.power_cap_kw - b.power_cap_kw)[0] ?? null;
    const capKw = active ? Math.min(f.power_cap_kw, active.power_cap_kw) : f.power_cap_kw;
    const live = drawWByFacility?.[f.id];
    const reported = capacity?.facilities.find((c) => c.facility_id === f.id)?.power.used_kw;
    const drawW = typeof live === "number" ? live : typeof reported === "number" ? reported * 1000 : null;
    const planned = plan?.summary.facilities.find((p) => p.id === f.id)?.power_kw;
    return {
      id: f.id, name: f.name, marketNode: f.market_node, drawW, capKw, nominalCapKw: f.power_cap_kw,
      used: drawW === null || capKw <= 0 ? null : drawW / 1000 / capKw,
      plannedKw: planned ?? null,
      electricityUsdPerMwh: electricity?.[f.market_node] ?? null,
      active,
      upcoming: mine.filter((w) => !isActive(w, now)),
    };
  });
}

export interface ModeSplit {
  mining: number;
  /** serving a workload or rented on spot */
  ai: number;
  idle: number;
  curtailed: number;
  /** not read by a driver yet */
  unknown: number;
  total: number;
}

export function modeSplit(counts: Partial<Record<UnitMode, number>>): ModeSplit {
  const n = (m: UnitMode) => counts[m] ?? 0;
  const split = {
    mining: n("mining"), ai: n("workload") + n("spot"), idle: n("idle"), curtailed: n("curtailed"), unknown: n("unknown"),
  };
  return { ...split, total: split.mining + split.ai + split.idle + split.curtailed + split.unknown };
}

export interface CustomerWork {
  tenantId: string;
  running: number;
  /** queued, scheduled or switching */
  waiting: number;
  /** GPUs the running work holds */
  gpus: number;
}

/** Active workloads per customer, most first; `complete` is false when a list had more than its
 * page (the counts are then lower bounds). */
export function workPerCustomer(lists: readonly WorkloadList[]): { rows: CustomerWork[]; complete: boolean } {
  const by = new Map<string, CustomerWork>();
  const seen = new Set<string>(); // between a live patch and a refetch, one may be on two lists
  for (const list of lists) {
    for (const w of list.items) {
      if (seen.has(w.id)) continue;
      seen.add(w.id);
      const row = by.get(w.tenant_id) ?? { tenantId: w.tenant_id, running: 0, waiting: 0, gpus: 0 };
      if (w.status === "running") {
        row.running += 1;
        row.gpus += w.units.length;
      } else if ((ACTIVE_STATUSES as readonly string[]).includes(w.status)) {
        row.waiting += 1;
      } else {
        continue; // a live patch may leave a finished one on a page until it refetches
      }
      by.set(w.tenant_id, row);
    }
  }
  const rows = [...by.values()].sort((a, b) => b.running + b.waiting - (a.running + a.waiting) || a.tenantId.localeCompare(b.tenantId));
  return { rows, complete: lists.every((l) => l.items.length >= l.total) };
}
