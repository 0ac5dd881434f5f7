// The backtest's series: cumulative profit per strategy, and the hybrid strategy's power by mode.
// Loaded lazily (@mui/x-charts); the result table beside it is their text alternative.
import Box from "@mui/material/Box";
import Typography from "@mui/material/Typography";
import { LineChart } from "@mui/x-charts/LineChart";
import { useMemo } from "react";
import { formatDateTime, formatNumber, formatUsd } from "../dashboard/format";
import { STRATEGY_LABELS, type Strategy } from "./logic";
import type { BacktestResponse } from "./queries";

type SeriesOut = NonNullable<BacktestResponse["series"]>;

export default function BacktestCharts({ series, height = 260 }: { series: SeriesOut; height?: number }) {
  const times = useMemo(() => series.ts.map((t) => new Date(t)), [series]);
  const xAxis = [{ data: times, scaleType: "time" as const, valueFormatter: (d: Date) => formatDateTime(d.toISOString()) }];
  const hybrid = series.power_kw.hybrid ?? Object.values(series.power_kw)[0] ?? {};
  return (
    <Box>
      <Typography variant="subtitle2" component="h4">Cumulative profit</Typography>
      <LineChart
        height={height} skipAnimation disableKeyboardNavigation xAxis={xAxis}
        yAxis={[{ width: 80, valueFormatter: (v: number) => formatUsd(v, 0) }]}
        series={Object.entries(series.cumulative_profit_usd).map(([strategy, data]) => ({
          id: strategy, label: STRATEGY_LABELS[strategy as Strategy] ?? strategy, data, showMark: false,
          valueFormatter: (v: number | null) => (v === null ? "—" : formatUsd(v, 0)),
        }))}
        margin={{ top: 16, right: 8, bottom: 8, left: 8 }}
      />
      <Typography variant="subtitle2" component="h4" sx={{ mt: 2 }}>
        Power by mode ({series.power_kw.hybrid ? "hybrid" : "first strategy"})
      </Typography>
      <LineChart
        height={height} skipAnimation disableKeyboardNavigation xAxis={xAxis}
        yAxis={[{ width: 64, valueFormatter: (v: number) => `${formatNumber(v, 0)} kW` }]}
        series={Object.entries(hybrid).map(([mode, data]) => ({
          id: mode, label: mode, data, stack: "power", area: true, showMark: false,
          valueFormatter: (v: number | null) => (v === null ? "—" : `${formatNumber(v, 1)} kW`),
        }))}
        margin={{ top: 16, right: 8, bottom: 8, left: 8 }}
      />
    </Box>
  );
}
