// One metric of one unit over a window (loaded lazily: @mui/x-charts is large). Its text
// alternative is the caption the unit page renders beside it.
import { LineChart } from "@mui/x-charts/LineChart";
import { useMemo } from "react";
import { formatClock, formatDateTime } from "../dashboard/format";
import { formatMetric, type MetricInfo, type TelemetryPoint } from "./telemetry";

export interface TelemetryChartProps {
  metric: MetricInfo;
  points: readonly TelemetryPoint[];
  /** the window is longer than a day: dates on the axis */
  long: boolean;
  height?: number;
}

export default function TelemetryChart({ metric, points, long, height = 260 }: TelemetryChartProps) {
  const data = useMemo(() => ({
    times: points.map((p) => new Date(p.ts)),
    values: points.map((p) => (p.value === null ? null : p.value * metric.scale)),
  }), [points, metric.scale]);
  return (
    <LineChart
      height={height}
      skipAnimation
      xAxis={[{ data: data.times, scaleType: "time",
        valueFormatter: (d: Date) => (long ? formatDateTime(d.toISOString()) : formatClock(d.toISOString())) }]}
      yAxis={[{ id: "value", label: metric.unit, width: 64 }]}
      series={[{ id: metric.key, label: `${metric.label} (${metric.unit})`, data: data.values, showMark: false, area: true,
        valueFormatter: (v) => (v === null ? "—" : formatMetric(metric, v / metric.scale)) }]}
      margin={{ top: 16, right: 16, bottom: 8, left: 8 }}
    />
  );
}
