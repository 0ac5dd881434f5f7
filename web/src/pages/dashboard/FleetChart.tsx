// Hashrate (TH/s, left axis) and power (MW, right axis) over the window: loaded lazily, as
// @mui/x-charts is large. Its text alternative is the caption the dashboard renders beside it.
import { LineChart } from "@mui/x-charts/LineChart";
import { useMemo } from "react";
import type { FleetHistoryPoint } from "../../live/types";
import { formatClock, formatNumber } from "./format";

export interface FleetChartProps {
  points: FleetHistoryPoint[];
  height?: number;
}

export default function FleetChart({ points, height = 280 }: FleetChartProps) {
  const data = useMemo(
    () => ({
      times: points.map((p) => new Date(p.ts)),
      hashrate: points.map((p) => p.hashrate_ths),
      power: points.map((p) => (typeof p.power_w.total === "number" ? p.power_w.total / 1e6 : null)),
    }),
    [points],
  );
  return (
    <LineChart
      height={height}
      skipAnimation
      // hidden from assistive technology (the dashboard's caption says what it shows): nothing in it may take focus
      disableKeyboardNavigation
      xAxis={[{ data: data.times, scaleType: "time", valueFormatter: (d: Date) => formatClock(d.toISOString()) }]}
      yAxis={[
        { id: "hashrate", label: "TH/s", position: "left", width: 64 },
        { id: "power", label: "MW", position: "right", width: 56 },
      ]}
      series={[
        { id: "hashrate", label: "Hashrate (TH/s)", data: data.hashrate, yAxisId: "hashrate", area: true, showMark: false,
          valueFormatter: (v) => (v === null ? "—" : `${formatNumber(v, 1)} TH/s`) },
        { id: "power", label: "Power (MW)", data: data.power, yAxisId: "power", showMark: false,
          valueFormatter: (v) => (v === null ? "—" : `${formatNumber(v, 2)} MW`) },
      ]}
      margin={{ top: 16, right: 8, bottom: 8, left: 8 }}
    />
  );
}
