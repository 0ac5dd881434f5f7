// The operations dashboard (admin and operator): the fleet's headline figures from the latest
// `fleet.metrics` event (before the first one, the last point of the hour's history), hashrate and
// power over the last hour, extended live, and below them the sections of OperatorSections.tsx,
// each kept current by its events or by refetching (queries.ts).
import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import Grid from "@mui/material/Grid";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { lazy, Suspense, useMemo } from "react";
import { useAuth } from "../../auth/AuthProvider";
import { ErrorAlert } from "../../components/ErrorAlert";
import { StatCard } from "../../components/StatCard";
import { HISTORY_WINDOW_S, useFleetHistory, useFleetMetrics } from "../../live/queries";
import { describeHistory, figuresOf, type FleetFigures } from "./fleetSummary";
import { formatClock, formatMw, formatNumber, formatPercent, formatPower, formatUsd } from "./format";
import { facilityPower, modeSplit, nominalHashrateThs, workPerCustomer } from "./kpis";
import {
  AlertsBySeverity, FleetByMode, GpusByModel, MarketPrices, PowerByFacility, RevenueMonthToDate, WorkloadsByCustomer,
} from "./OperatorSections";
import {
  useActiveWorkloads, useAlertSummary, useCapacity, useDemandResponse, useFacilities, usePlan, usePrices, useRevenue,
  useTenants, useUnitsByMode,
} from "./queries";

const FleetChart = lazy(() => import("./FleetChart"));

const CHART_HEIGHT = 280;

/** Power by mode, in the unit the total reads best in (a demo fleet draws kilowatts). */
function powerSplit(f: FleetFigures): string {
  const w = f.power_w;
  const inMw = Math.abs(w.total ?? 0) >= 1e6;
  const fmt = (watts: number | undefined) => (inMw ? formatMw(watts ?? 0) : `${formatNumber((watts ?? 0) / 1e3, 1)} kW`);
  const curtailed = w.curtailed ? ` · Curtailed ${fmt(w.curtailed)}` : "";
  return `Mining ${fmt(w.mining)} · AI ${fmt(w.ai)} · Idle ${fmt(w.idle)}${curtailed}`;
}

function hashrateHint(f: FleetFigures | undefined, nominal: number | undefined): string | undefined {
  const parts: string[] = [];
  if (f?.hashrate_ths != null && nominal !== undefined && nominal > 0) {
    parts.push(`${formatPercent(f.hashrate_ths / nominal)} of ${formatNumber(nominal, 0)} TH/s nominal`);
  }
  if (f?.asics_mining != null) parts.push(`${formatNumber(f.asics_mining)} ASICs mining`);
  return parts.length > 0 ? parts.join(" · ") : undefined;
}

const waiting = "Waiting for the next update";

export default function OperatorDashboard() {
  const { isAdmin } = useAuth();
  const history = useFleetHistory(HISTORY_WINDOW_S);
  const metrics = useFleetMetrics();
  const points = history.data?.points ?? [];
  const f = figuresOf(metrics.data, points[points.length - 1]);
  // Nothing to show yet: skeletons while the history loads; after, dashes until an event.
  const pending = f === undefined && history.isPending;
  const value = (render: (f: FleetFigures) => string | null): string | undefined =>
    pending ? undefined : f === undefined ? "—" : (render(f) ?? "—");

  const facilities = useFacilities();
  const capacity = useCapacity();
  const plan = usePlan();
  const prices = usePrices();
  const windows = useDemandResponse();
  const byMode = useUnitsByMode();
  const active = useActiveWorkloads();
  const tenants = useTenants();
  const alerts = useAlertSummary();
  const revenue = useRevenue(isAdmin);

  // The platform's clock (a demo may run it fast): the latest figures' time, else the server's.
  const now = f?.ts ?? prices.data?.now ?? capacity.data?.at ?? new Date().toISOString();
  const power = useMemo(
    () => facilities.data && {
      data: facilityPower({
        facilities: facilities.data.items, now, drawWByFacility: f?.power_w_by_facility, capacity: capacity.data,
        plan: plan.data, windows: windows.data?.items, electricity: prices.data?.electricity_usd_per_mwh,
      }),
    },
    [facilities.data, now, f?.power_w_by_facility, capacity.data, plan.data, windows.data, prices.data],
  );
  const split = useMemo(() => (byMode.counts ? modeSplit(byMode.counts) : undefined), [byMode.counts]);
  const work = useMemo(() => (active.lists ? workPerCustomer(active.lists) : undefined), [active.lists]);
  const retry = (q: { refetch: () => unknown }) => () => void q.refetch();

  return (
    <Box>
      <Stack direction="row" spacing={2} sx={{ alignItems: "center", flexWrap: "wrap", mb: 2 }}>
        <Typography variant="h4" component="h1">Operations dashboard</Typography>
        {isAdmin && <Chip label="Admin" color="secondary" size="small" />}
        <Typography variant="body2" sx={{ color: "text.secondary", ml: "auto" }} aria-live="off">
          {f ? <>Updated <time dateTime={f.ts}>{formatClock(f.ts)}</time></> : "Not updated yet"}
        </Typography>
      </Stack>

      {history.error && !f ? (
        <ErrorAlert error={history.error} title="Could not load the fleet's history" onRetry={() => void history.refetch()}
          sx={{ mb: 2 }} />
      ) : null}

      <Grid container spacing={2} sx={{ mb: 2 }}>
        <Grid size={{ xs: 12, sm: 6, lg: "grow" }}>
          <StatCard label="Hashrate" value={value((x) => (x.hashrate_ths === null ? null : `${formatNumber(x.hashrate_ths, 1)} TH/s`))}
            hint={hashrateHint(f, nominalHashrateThs(capacity.data))} />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: "grow" }}>
          <StatCard label="Power" value={value((x) => formatPower(x.power_w.total))} hint={f ? powerSplit(f) : undefined} />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: "grow" }}>
          <StatCard label="GPUs busy"
            value={value((x) => (x.gpus_busy === null ? null : `${formatNumber(x.gpus_busy)} / ${formatNumber(x.gpus_total ?? 0)}`))}
            hint={f ? `${formatPercent(f.gpu_utilization)} utilisation${f.live ? "" : " (average of the last step)"}` : undefined} />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: "grow" }}>
          <StatCard label="Profit per hour"
            value={value((x) => (x.profit_usd_per_hour === null ? null : `${formatUsd(x.profit_usd_per_hour)}/h`))}
            hint={f && f.live && f.profit_usd_per_hour === null ? "No plan yet" : f && !f.live ? waiting : "Latest plan, USD"} />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: "grow" }}>
          <StatCard label="Queue" value={value((x) => (x.queue === null ? null : formatNumber(x.queue)))}
            hint={f && f.live && f.queue === null ? "Scheduler not reporting" : f && !f.live ? waiting : "Workloads waiting"} />
        </Grid>
      </Grid>

      <Grid container spacing={2} sx={{ mb: 2 }}>
        <Grid size={{ xs: 12, lg: 8 }}>
          <PowerByFacility q={{ data: power?.data, error: facilities.error, onRetry: retry(facilities) }} />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: 4 }}>
          <FleetByMode q={{ data: split, error: byMode.error, onRetry: byMode.refetch }} />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: 4 }}>
          <GpusByModel q={{ data: capacity.data, error: capacity.error, onRetry: retry(capacity) }} />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: 4 }}>
          <MarketPrices q={{ data: prices.data, error: prices.error, onRetry: retry(prices) }} />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: 4 }}>
          <AlertsBySeverity q={{ data: alerts.data, error: alerts.error, onRetry: retry(alerts) }} />
        </Grid>
        <Grid size={{ xs: 12, lg: isAdmin ? 6 : 12 }}>
          <WorkloadsByCustomer q={{ data: work, error: active.error, onRetry: active.refetch }} tenants={tenants.data?.items} />
        </Grid>
        {isAdmin ? (
          <Grid size={{ xs: 12, lg: 6 }}>
            <RevenueMonthToDate q={{ data: revenue.data, error: revenue.error, onRetry: retry(revenue) }} />
          </Grid>
        ) : null}
      </Grid>

      <Paper component="figure" variant="outlined" aria-labelledby="fleet-chart-title" sx={{ m: 0, p: 2 }}>
        <Typography id="fleet-chart-title" variant="h6" component="h2">Hashrate and power, last hour</Typography>
        {history.isPending ? (
          <Box role="status" aria-busy="true" aria-label="Loading the chart">
            <Skeleton variant="rectangular" height={CHART_HEIGHT} />
          </Box>
        ) : points.length > 0 ? (
          <Suspense fallback={<Box role="status" aria-busy="true" aria-label="Loading the chart"><Skeleton variant="rectangular" height={CHART_HEIGHT} /></Box>}>
            <Box aria-hidden="true">
              <FleetChart points={points} height={CHART_HEIGHT} />
            </Box>
          </Suspense>
        ) : null}
        <Typography component="figcaption" variant="body2" sx={{ color: "text.secondary", mt: 1 }}>
          {history.isPending ? "Loading the last hour…" : describeHistory(points, history.data?.window_s ?? HISTORY_WINDOW_S)}
        </Typography>
      </Paper>
    </Box>
  );
}
