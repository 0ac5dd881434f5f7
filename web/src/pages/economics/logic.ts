// The Economics page's pure logic: the plan per facility, price history as chart series, the
// demand-response form's values as the API takes them, and the backtest's request.
import type { BacktestRequest, Plan, PlannedFacility, PriceHistory } from "./queries";

export const MODES = ["mining", "spot", "workload", "idle", "curtailed"] as const;
export type Mode = (typeof MODES)[number];

export interface FacilityRow {
  facility: PlannedFacility;
  units: Record<Mode, number>;
  /** the share of the cap in force the plan draws (0..1+) */
  load: number;
}

/** Each facility of the plan with its units counted by mode (from the plan's decisions). */
export function facilityRows(plan: Plan): FacilityRow[] {
  const counts = new Map<string, Record<Mode, number>>();
  for (const f of plan.summary.facilities) counts.set(f.id, { mining: 0, spot: 0, workload: 0, idle: 0, curtailed: 0 });
  for (const d of plan.decisions) {
    const c = d.facility_id ? counts.get(d.facility_id) : undefined;
    if (c && (MODES as readonly string[]).includes(d.mode)) c[d.mode as Mode] += 1;
  }
  return plan.summary.facilities.map((f) => ({
    facility: f,
    units: counts.get(f.id)!,
    load: f.power_cap_kw > 0 ? f.power_kw / f.power_cap_kw : f.power_kw > 0 ? Infinity : 0,
  }));
}

/** "47.9 kW" */
export function formatKw(kw: number | null | undefined, digits = 1): string {
  if (kw === null || kw === undefined || !Number.isFinite(kw)) return "—";
  return `${kw.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })} kW`;
}

// --- price history -------------------------------------------------------------------------------
export interface Series {
  /** the API's series name: "electricity_usd_per_mwh:HB_NORTH" */
  key: string;
  label: string;
  points: { ts: number; value: number }[];
}

export interface PriceGroup {
  id: "btc" | "hashprice" | "electricity" | "gpu";
  title: string;
  unit: string;
  series: Series[];
}

const GROUPS: { id: PriceGroup["id"]; kind: string; title: string; unit: string }[] = [
  { id: "btc", kind: "btc_usd", title: "Bitcoin", unit: "USD" },
  { id: "hashprice", kind: "hashprice_usd_per_th_day", title: "Hashprice", unit: "USD/PH/day" },
  { id: "electricity", kind: "electricity_usd_per_mwh", title: "Electricity by market node", unit: "USD/MWh" },
  { id: "gpu", kind: "gpu_spot_usd_per_hour", title: "GPU spot", unit: "USD/GPU-hour" },
];

/** The history's points grouped into one chart per kind of price, one line per node or model,
 * oldest first; kinds the history does not carry are left out. Hashprice is shown per PH. */
export function priceGroups(history: PriceHistory | undefined): PriceGroup[] {
  if (!history) return [];
  const bySeries = new Map<string, { ts: number; value: number }[]>();
  for (const p of history.items) {
    const list = bySeries.get(p.series) ?? [];
    list.push({ ts: new Date(p.ts).getTime(), value: p.value });
    bySeries.set(p.series, list);
  }
  const out: PriceGroup[] = [];
  for (const g of GROUPS) {
    const series: Series[] = [];
    for (const [key, points] of [...bySeries.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const [kind, sub] = key.split(":", 2);
      if (kind !== g.kind) continue;
      const scale = g.id === "hashprice" ? 1000 : 1;
      series.push({
        key, label: sub ?? g.title,
        points: points.sort((a, b) => a.ts - b.ts).map((p) => ({ ts: p.ts, value: p.value * scale })),
      });
    }
    if (series.length) out.push({ ...g, series });
  }
  return out;
}

/** A chart's text alternative: each line's latest value and its range over the window. */
export function describeGroup(group: PriceGroup, format: (v: number) => string): string {
  return group.series.map((s) => {
    const values = s.points.map((p) => p.value);
    if (!values.length) return `${s.label}: no data`;
    const last = values[values.length - 1] ?? 0;
    return `${s.label} ${format(last)} (range ${format(Math.min(...values))} to ${format(Math.max(...values))})`;
  }).join("; ");
}

// --- demand-response form ------------------------------------------------------------------------
export interface WindowForm {
  facility_id: string;
  power_cap_kw: string;
  starts_at: string; // datetime-local, the viewer's zone
  ends_at: string;
  reason: string;
}

/** A Date as an <input type="datetime-local"> value in the viewer's zone ("2026-07-01T14:05"). */
export function toLocalInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value as UTC ISO 8601; what cannot be read is passed on for the API to name. */
export function localInputToIso(value: string): string {
  const d = new Date(value);
  return value && !Number.isNaN(d.getTime()) ? d.toISOString() : value;
}

export function emptyWindow(now: Date, facilityId = ""): WindowForm {
  return {
    facility_id: facilityId, power_cap_kw: "", starts_at: toLocalInput(now),
    ends_at: toLocalInput(new Date(now.getTime() + 3600_000)), reason: "Grid operator's call",
  };
}

/** The form as the API's body. A window starting this minute starts now (the input has no seconds). */
export function windowBody(form: WindowForm, now: Date = new Date()) {
  const startsNow = form.starts_at === toLocalInput(now);
  const cap = form.power_cap_kw.trim() === "" ? Number.NaN : Number(form.power_cap_kw);
  return {
    facility_id: form.facility_id,
    // NaN is not JSON: an empty or unreadable cap goes as a string, for the API's 422 to name it.
    power_cap_kw: (Number.isFinite(cap) ? cap : form.power_cap_kw) as number,
    starts_at: startsNow ? now.toISOString() : localInputToIso(form.starts_at),
    ends_at: localInputToIso(form.ends_at),
    reason: form.reason.trim(),
  };
}

/** Whether the window is in force at `now`, ahead, or over. */
export function windowState(w: { starts_at: string; ends_at: string }, now = Date.now()): "In force" | "Scheduled" | "Ended" {
  const s = new Date(w.starts_at).getTime();
  const e = new Date(w.ends_at).getTime();
  if (e <= now) return "Ended";
  return s <= now ? "In force" : "Scheduled";
}

// --- backtest ------------------------------------------------------------------------------------
export const STRATEGIES = ["hybrid", "mine-always", "ai-first", "price-threshold"] as const;
export type Strategy = (typeof STRATEGIES)[number];
export const STRATEGY_LABELS: Record<Strategy, string> = {
  hybrid: "Hybrid (the planner)", "mine-always": "Mine always", "ai-first": "AI first", "price-threshold": "Price threshold",
};

export interface BacktestForm {
  from: string; // yyyy-mm-dd
  to: string;
  strategies: Strategy[];
  threshold: string; // USD/MWh, empty: the fleet's break-even
  asic_ramp_s: string;
  gpu_switch_s: string;
  min_dwell_s: string;
}

/** The shipped price history is the synthetic year 2026: a month of it by default. */
export const DEFAULT_BACKTEST: BacktestForm = {
  from: "2026-06-01", to: "2026-07-01", strategies: [...STRATEGIES], threshold: "",
  asic_ramp_s: "600", gpu_switch_s: "0.5", min_dwell_s: "900",
};

const SERIES_POINTS = 200;

function numberOrRaw(value: string): number {
  const n = Number(value);
  return (value.trim() !== "" && Number.isFinite(n) ? n : value) as number;
}

export function backtestBody(form: BacktestForm, fleet: object): BacktestRequest {
  return {
    // the fleet as GET answered it (curve points as number[]), which is what POST takes
    fleet: fleet as BacktestRequest["fleet"], prices: { sample: true }, strategies: form.strategies, series_points: SERIES_POINTS,
    from: form.from ? `${form.from}T00:00:00Z` : null,
    to: form.to ? `${form.to}T00:00:00Z` : null,
    threshold_usd_per_mwh: form.threshold.trim() === "" ? null : numberOrRaw(form.threshold),
    asic_ramp_s: numberOrRaw(form.asic_ramp_s),
    gpu_switch_s: numberOrRaw(form.gpu_switch_s),
    min_dwell_s: numberOrRaw(form.min_dwell_s),
  } as BacktestRequest;
}
