// What the dashboards derive from fleet figures: the headline values and the chart's text
// alternative. Pure, so they are tested without rendering.
import type { FleetHistoryPoint, FleetMetricsSnapshot } from "../../live/types";
import { formatMw, formatNumber } from "./format";

/** The figures shown: the latest snapshot, or before the first event the last history point
 * (averages over its step, without ASIC count, profit or queue). */
export interface FleetFigures {
  ts: string;
  hashrate_ths: number | null;
  power_w: Record<string, number | undefined>;
  /** watts per facility id */
  power_w_by_facility: Record<string, number | undefined>;
  gpu_utilization: number | null;
  gpus_busy: number | null;
  gpus_total: number | null;
  asics_mining: number | null;
  profit_usd_per_hour: number | null;
  queue: number | null;
  /** false while seeded from the history (the fields above that it lacks are null) */
  live: boolean;
}

export function figuresOf(snapshot: FleetMetricsSnapshot | undefined, last: FleetHistoryPoint | undefined): FleetFigures | undefined {
  if (snapshot) {
    const depth = snapshot.queue_depth;
    return {
      ts: snapshot.ts,
      hashrate_ths: snapshot.hashrate_ths,
      power_w: snapshot.power_w,
      power_w_by_facility: snapshot.power_w_by_facility,
      gpu_utilization: snapshot.gpu_utilization ?? null,
      gpus_busy: snapshot.gpus_busy,
      gpus_total: snapshot.gpus_total,
      asics_mining: snapshot.asics_mining,
      profit_usd_per_hour: snapshot.profit_usd_per_hour ?? null,
      queue: depth ? Object.values(depth).reduce((a, b) => a + b, 0) : null,
      live: true,
    };
  }
  if (!last) return undefined;
  const round = (v: number | null) => (v === null ? null : Math.round(v));
  return {
    ts: last.ts, hashrate_ths: last.hashrate_ths, power_w: last.power_w,
    power_w_by_facility: last.power_w_by_facility, gpu_utilization: last.gpu_utilization,
    gpus_busy: round(last.gpus_busy), gpus_total: round(last.gpus_total), asics_mining: null,
    profit_usd_per_hour: null, queue: null, live: false,
  };
}

function range(values: number[]): { min: number; max: number } | null {
  if (values.length === 0) return null;
  return { min: Math.min(...values), max: Math.max(...values) };
}

/** One sentence per series: its range over the window and its latest value. */
export function describeHistory(points: FleetHistoryPoint[], windowS: number): string {
  if (points.length === 0) return "No fleet history yet for this period.";
  const minutes = Math.round(windowS / 60);
  const period = minutes % 60 === 0 ? (minutes === 60 ? "the last hour" : `the last ${minutes / 60} hours`) : `the last ${minutes} minutes`;
  const isNumber = (v: number | null | undefined): v is number => typeof v === "number";
  const hash = points.map((p) => p.hashrate_ths).filter(isNumber);
  const power = points.map((p) => p.power_w.total).filter(isNumber);
  const nowHash = [...points].reverse().find((p) => isNumber(p.hashrate_ths))?.hashrate_ths;
  const nowPower = [...points].reverse().find((p) => isNumber(p.power_w.total))?.power_w.total;
  const parts = [`Over ${period} (${points.length} points),`];
  const h = range(hash);
  parts.push(h && isNumber(nowHash)
    ? `hashrate ranged from ${formatNumber(h.min, 1)} to ${formatNumber(h.max, 1)} TH/s and is now ${formatNumber(nowHash, 1)} TH/s.`
    : "no hashrate was reported.");
  const p = range(power);
  if (p && isNumber(nowPower)) {
    parts.push(`Power ranged from ${formatMw(p.min)} to ${formatMw(p.max)} and is now ${formatMw(nowPower)}.`);
  }
  return parts.join(" ");
}
