// Revenue charts (loaded lazily, as @mui/x-charts is large): by month, AI stacked on mining; and
// AI revenue by customer for the month. The page renders each one's text alternative beside it and
// hides the chart from assistive technology, so the chart takes no keyboard focus either.
import { BarChart } from "@mui/x-charts/BarChart";
import { formatUsd } from "../dashboard/format";
import { monthLabel } from "./model";
import type { CustomerRevenue, MonthRevenue } from "./queries";

const usd = (v: number | null) => (v === null ? "—" : formatUsd(v, 0));
const compact = (v: number) => new Intl.NumberFormat("en-US", { notation: "compact", style: "currency", currency: "USD" }).format(v);

export function MonthsChart({ months, height = 260 }: { months: readonly MonthRevenue[]; height?: number }) {
  return (
    <BarChart
      height={height}
      skipAnimation
      disableKeyboardNavigation
      xAxis={[{ scaleType: "band", data: months.map((m) => monthLabel(m.month)) }]}
      yAxis={[{ width: 64, valueFormatter: compact }]}
      series={[
        { id: "ai", label: "AI", stack: "revenue", data: months.map((m) => Number(m.ai_usd)), valueFormatter: usd },
        { id: "mining", label: "Mining", stack: "revenue", data: months.map((m) => Number(m.mining_usd)), valueFormatter: usd },
      ]}
      margin={{ top: 16, right: 8, bottom: 8, left: 8 }}
    />
  );
}

export function CustomersChart({ customers, height = 260 }: { customers: readonly CustomerRevenue[]; height?: number }) {
  return (
    <BarChart
      height={height}
      skipAnimation
      disableKeyboardNavigation
      xAxis={[{ scaleType: "band", data: customers.map((c) => c.name) }]}
      yAxis={[{ width: 64, valueFormatter: compact }]}
      series={[{ id: "customers", label: "AI revenue", data: customers.map((c) => Number(c.revenue_usd)), valueFormatter: usd }]}
      margin={{ top: 16, right: 8, bottom: 8, left: 8 }}
    />
  );
}

