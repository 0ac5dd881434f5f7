// The unit page's telemetry: which windows it offers, how each asks the API (raw samples for an
// hour; buckets beyond, whole minutes so that ranges past the raw retention can come from the
// one-minute rollups), which metrics a unit's kind charts, and the chart's text alternative.
import type { Schemas } from "../../api/client";
import { formatNumber } from "../dashboard/format";

export type WindowKey = "1h" | "24h" | "7d";

export interface TelemetryWindow {
  key: WindowKey;
  label: string;
  /** "the last hour": how the caption names it */
  phrase: string;
  seconds: number;
  /** bucket size in seconds; undefined: raw samples */
  step?: number;
}

export const WINDOWS: readonly TelemetryWindow[] = [
  { key: "1h", label: "1 h", phrase: "the last hour", seconds: 3600 },
  { key: "24h", label: "24 h", phrase: "the last 24 hours", seconds: 86_400, step: 300 },
  { key: "7d", label: "7 d", phrase: "the last 7 days", seconds: 7 * 86_400, step: 3600 },
];

export function windowOf(key: string | null): TelemetryWindow {
  return WINDOWS.find((w) => w.key === key) ?? WINDOWS[0]!;
}

export interface MetricInfo {
  key: string;
  label: string;
  unit: string;
  /** value as shown (W shown as kW) */
  scale: number;
  digits: number;
}

const METRICS: Record<string, MetricInfo> = {
  hashrate_ths: { key: "hashrate_ths", label: "Hashrate", unit: "TH/s", scale: 1, digits: 1 },
  util_pct: { key: "util_pct", label: "GPU utilisation", unit: "%", scale: 1, digits: 0 },
  power_w: { key: "power_w", label: "Power", unit: "kW", scale: 1 / 1000, digits: 2 },
  temp_c: { key: "temp_c", label: "Temperature", unit: "°C", scale: 1, digits: 0 },
};

/** The metrics a unit of `kind` charts, its main one first. */
export function metricsFor(kind: Schemas["UnitKind"]): MetricInfo[] {
  const main = kind === "asic" ? METRICS.hashrate_ths! : METRICS.util_pct!;
  return [main, METRICS.power_w!, METRICS.temp_c!];
}

export function metricOf(kind: Schemas["UnitKind"], key: string | null): MetricInfo {
  const all = metricsFor(kind);
  return all.find((m) => m.key === key) ?? all[0]!;
}

export function formatMetric(metric: MetricInfo, value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return `${formatNumber(value * metric.scale, metric.digits)} ${metric.unit}`;
}

/** The telemetry request for a window ending at `end` (the platform's time, which a demo may run
 * fast: the unit's last reading, not the browser's clock). */
export function telemetryQuery(w: TelemetryWindow, metric: string, end: Date) {
  const since = new Date(end.getTime() - w.seconds * 1000).toISOString();
  return { since, metric: [metric], ...(w.step ? { step: w.step } : {}) };
}

export type TelemetryPoint = Schemas["TelemetryPoint"];

/** The chart's text alternative: the metric, the window and what the line does. */
export function describeSeries(metric: MetricInfo, w: TelemetryWindow, points: readonly TelemetryPoint[],
  step: number | null | undefined): string {
  const values = points.map((p) => p.value).filter((v): v is number => v !== null && Number.isFinite(v));
  const what = `${metric.label} (${metric.unit}) over ${w.phrase}`;
  if (values.length === 0) return `${what}: no readings in this window.`;
  const n = formatNumber(values.length);
  const plural = values.length === 1 ? "" : "s";
  const kind = step ? `${n} average${plural} of ${step >= 3600 ? `${step / 3600} h` : `${step / 60} min`}`
    : `${n} reading${plural}`;
  const low = Math.min(...values);
  const high = Math.max(...values);
  const last = values[values.length - 1]!;
  return `${what}: ${kind}, lowest ${formatMetric(metric, low)}, highest ${formatMetric(metric, high)}, ` +
    `latest ${formatMetric(metric, last)}.`;
}
