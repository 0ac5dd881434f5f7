// The operations dashboard (admin and operator): the fleet's headline figures from the latest
// `fleet.metrics` event (before the first one, the last point of the hour's history), and
// hashrate and power over the last hour, extended live.
import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import Grid from "@mui/material/Grid";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { lazy, Suspense } from "react";
import { useAuth } from "../../auth/AuthProvider";
import { ErrorAlert } from "../../components/ErrorAlert";
import { StatCard } from "../../components/StatCard";
import { HISTORY_WINDOW_S, useFleetHistory, useFleetMetrics } from "../../live/queries";
import { describeHistory, figuresOf, type FleetFigures } from "./fleetSummary";
import { formatClock, formatMw, formatNumber, formatPercent, formatUsd } from "./format";

const FleetChart = lazy(() => import("./FleetChart"));

const CHART_HEIGHT = 280;

function powerSplit(f: FleetFigures): string {
  const w = f.power_w;
  return `Mining ${formatMw(w.mining ?? 0)} · AI ${formatMw(w.ai ?? 0)} · Idle ${formatMw(w.idle ?? 0)}`;
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
            hint={f?.asics_mining != null ? `${formatNumber(f.asics_mining)} ASICs mining` : undefined} />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: "grow" }}>
          <StatCard label="Power" value={value((x) => formatMw(x.power_w.total))} hint={f ? powerSplit(f) : undefined} />
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
