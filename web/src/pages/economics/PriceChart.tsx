// One kind of price over time, a line per market node or GPU model: loaded lazily, as
// @mui/x-charts is large. Its text alternative is the figure's caption (describeGroup).
import { LineChart } from "@mui/x-charts/LineChart";
import { useMemo } from "react";
import { formatClock, formatDateTime } from "../dashboard/format";
import type { PriceGroup } from "./logic";

export interface PriceChartProps {
  group: PriceGroup;
  format: (v: number) => string;
  height?: number;
  /** a window longer than a day labels its axis with dates */
  long?: boolean;
}

export default function PriceChart({ group, format, height = 220, long }: PriceChartProps) {
  const data = useMemo(() => {
    const times = [...new Set(group.series.flatMap((s) => s.points.map((p) => p.ts)))].sort((a, b) => a - b);
    const series = group.series.map((s) => {
      const byTs = new Map(s.points.map((p) => [p.ts, p.value]));
      return { id: s.key, label: s.label, data: times.map((t) => byTs.get(t) ?? null) };
    });
    return { times: times.map((t) => new Date(t)), series };
  }, [group]);
  return (
    <LineChart
      height={height}
      skipAnimation
      // aria-hidden: the caption beside it is its text; a focus stop inside would be a trap for nobody
      disableKeyboardNavigation
      xAxis={[{
        data: data.times, scaleType: "time",
        valueFormatter: (d: Date) => (long ? formatDateTime(d.toISOString()) : formatClock(d.toISOString())),
      }]}
      yAxis={[{ width: 72, valueFormatter: (v: number) => format(v) }]}
      series={data.series.map((s) => ({
        ...s, showMark: false, connectNulls: true, valueFormatter: (v: number | null) => (v === null ? "—" : format(v)),
      }))}
      margin={{ top: 16, right: 8, bottom: 8, left: 8 }}
    />
  );
}
