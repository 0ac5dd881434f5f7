// One unit (operators and admins): its live readings, telemetry over 1 h / 24 h / 7 d, its
// allocation, its faults, and the commands its driver supports, each behind a confirmation.
import ArrowBack from "@mui/icons-material/ArrowBack";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Grid from "@mui/material/Grid";
import Link from "@mui/material/Link";
import List from "@mui/material/List";
import ListItem from "@mui/material/ListItem";
import ListItemText from "@mui/material/ListItemText";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Snackbar from "@mui/material/Snackbar";
import Stack from "@mui/material/Stack";
import ToggleButton from "@mui/material/ToggleButton";
import ToggleButtonGroup from "@mui/material/ToggleButtonGroup";
import Typography from "@mui/material/Typography";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useRef, useState, type ReactNode } from "react";
import { Link as RouterLink, useLocation, useParams, useSearchParams } from "react-router";
import { api, call, isApiError, type Schemas } from "../../api/client";
import { useAuth } from "../../auth/AuthProvider";
import { ErrorAlert } from "../../components/ErrorAlert";
import { StatCard } from "../../components/StatCard";
import { liveQueryDefaults, queryKeys } from "../../live/cache";
import { useLiveEvent } from "../../live/status";
import NotFoundPage from "../notfound/NotFoundPage";
import { usePageTitle } from "../../shell/usePageTitle";
import { formatDateTime } from "../dashboard/format";
import { CommandDialog } from "./CommandDialog";
import { commandsFor, type UnitCommand } from "./commands";
import { StateChip, formatKw, label, placeOf, workRate } from "./parts";
import {
  WINDOWS, describeSeries, formatMetric, metricOf, metricsFor, telemetryQuery, windowOf, type TelemetryWindow,
} from "./telemetry";

const TelemetryChart = lazy(() => import("./TelemetryChart"));
const CHART_HEIGHT = 260;
const READINGS_REFRESH_MS = 10_000;
const TELEMETRY_REFRESH_MS: Record<TelemetryWindow["key"], number> = { "1h": 30_000, "24h": 300_000, "7d": 1_800_000 };

type Unit = Schemas["UnitOut"];

function ChartLoading() {
  return (
    <Box role="status" aria-label="Loading the chart">
      <Skeleton variant="rectangular" height={CHART_HEIGHT} />
    </Box>
  );
}

function Telemetry({ unit }: { unit: Unit }) {
  const [params, setParams] = useSearchParams();
  const w = windowOf(params.get("window"));
  const metric = metricOf(unit.kind, params.get("metric"));
  const set = (key: string, value: string | null) => {
    if (value === null) return; // a toggle clicked again stays on
    const next = new URLSearchParams(params);
    next.set(key, value);
    setParams(next, { replace: true });
  };
  // The window ends at the unit's latest reading: the platform's clock (a demo may run it fast).
  const latest = useRef(unit);
  latest.current = unit;
  const telemetry = useQuery({
    queryKey: ["resources", "telemetry", unit.id, w.key, metric.key],
    queryFn: () => {
      const u = latest.current;
      const end = new Date(u.reading_at ?? u.last_seen_at ?? Date.now());
      end.setTime(end.getTime() + 1000); // the last reading itself is inside [since, until)
      return call(api.GET("/api/v1/resources/{unit_id}/telemetry", {
        params: { path: { unit_id: u.id }, query: { ...telemetryQuery(w, metric.key, end), until: end.toISOString() } },
      }));
    },
    placeholderData: keepPreviousData,
    refetchInterval: TELEMETRY_REFRESH_MS[w.key],
  });
  const points = telemetry.data?.series.find((s) => s.metric === metric.key)?.points ?? [];
  const caption = telemetry.isPending ? `Loading ${metric.label.toLowerCase()} over ${w.phrase}…`
    : describeSeries(metric, w, points, telemetry.data?.step_s);
  return (
    <Paper component="figure" variant="outlined" aria-labelledby="telemetry-title" sx={{ m: 0, p: 2 }}>
      <Stack direction="row" spacing={2} useFlexGap sx={{ alignItems: "center", flexWrap: "wrap", mb: 1 }}>
        <Typography id="telemetry-title" variant="h6" component="h2">Telemetry</Typography>
        <ToggleButtonGroup size="small" exclusive value={metric.key} aria-label="Metric"
          onChange={(_, v: string | null) => set("metric", v)}>
          {metricsFor(unit.kind).map((m) => <ToggleButton key={m.key} value={m.key}>{m.label}</ToggleButton>)}
        </ToggleButtonGroup>
        <ToggleButtonGroup size="small" exclusive value={w.key} aria-label="Time window" sx={{ ml: "auto" }}
          onChange={(_, v: string | null) => set("window", v)}>
          {WINDOWS.map((x) => <ToggleButton key={x.key} value={x.key}>{x.label}</ToggleButton>)}
        </ToggleButtonGroup>
      </Stack>
      <ErrorAlert error={telemetry.error} title="Could not load the telemetry" onRetry={() => void telemetry.refetch()} sx={{ mb: 1 }} />
      {telemetry.isPending ? <ChartLoading /> : points.length > 0 ? (
        <Suspense fallback={<ChartLoading />}>
          <Box aria-hidden="true">
            <TelemetryChart metric={metric} points={points} long={w.seconds > 86_400} height={CHART_HEIGHT} />
          </Box>
        </Suspense>
      ) : null}
      <Typography component="figcaption" variant="body2" sx={{ color: "text.secondary", mt: 1 }} data-testid="telemetry-caption">
        {caption}
      </Typography>
    </Paper>
  );
}

function Faults({ unit }: { unit: Unit }) {
  const client = useQueryClient();
  const key = ["alerts", "unit", unit.id] as const;
  const alerts = useQuery({
    queryKey: key,
    queryFn: () => call(api.GET("/api/v1/alerts", { params: { query: { subject_kind: "unit", subject_id: unit.id, limit: 20 } } })),
    staleTime: 30_000,
  });
  useLiveEvent("alerts", (event) => {
    if (event.data.subject_kind === "unit" && event.data.subject_id === unit.id) void client.invalidateQueries({ queryKey: key });
  });
  const open = (alerts.data?.items ?? []).filter((a) => a.status !== "resolved");
  return (
    <Paper component="section" aria-labelledby="faults-title" variant="outlined" sx={{ p: 2, height: "100%" }}>
      <Typography id="faults-title" variant="h6" component="h2" gutterBottom>Faults</Typography>
      {unit.health_reasons.length > 0 ? (
        <Alert severity={unit.health === "critical" ? "error" : "warning"} sx={{ mb: 1 }}>
          {unit.health_reasons.join("; ")}
        </Alert>
      ) : null}
      <ErrorAlert error={alerts.error} title="Could not load the unit's alerts" />
      {alerts.isPending ? <Skeleton variant="text" /> : open.length > 0 ? (
        <List dense aria-label="Open alerts">
          {open.map((a) => (
            <ListItem key={a.id} disableGutters>
              <ListItemText primary={`${label(a.severity)}: ${a.message}`}
                secondary={`${label(a.status)} · raised ${formatDateTime(a.raised_at)}`} />
            </ListItem>
          ))}
        </List>
      ) : unit.health_reasons.length === 0 ? (
        <Typography sx={{ color: "text.secondary" }}>No faults: health is {unit.health}.</Typography>
      ) : null}
    </Paper>
  );
}

function Allocation({ unit }: { unit: Unit }) {
  const a = unit.allocation;
  return (
    <Paper component="section" aria-labelledby="allocation-title" variant="outlined" sx={{ p: 2, height: "100%" }}>
      <Typography id="allocation-title" variant="h6" component="h2" gutterBottom>Allocation</Typography>
      {a ? (
        <Details rows={[
          ["Workload", a.workload_id],
          ["Customer", a.tenant_id ?? "—"],
          ["Since", formatDateTime(a.allocated_at)],
          ["Expected end", a.expected_end_at ? formatDateTime(a.expected_end_at) : "Open-ended"],
        ]} />
      ) : (
        <Typography sx={{ color: "text.secondary" }}>
          Not allocated{unit.mode === "mining" ? ": it is mining" : unit.workload_id ? `; running ${unit.workload_id}` : ""}.
        </Typography>
      )}
    </Paper>
  );
}

function Details({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <Box component="dl" sx={{ display: "grid", gridTemplateColumns: "max-content 1fr", columnGap: 2, rowGap: 0.5, m: 0 }}>
      {rows.map(([k, v]) => (
        <Box key={k} sx={{ display: "contents" }}>
          <Typography component="dt" variant="body2" sx={{ color: "text.secondary" }}>{k}</Typography>
          <Typography component="dd" variant="body2" sx={{ m: 0, overflowWrap: "anywhere" }}>{v}</Typography>
        </Box>
      ))}
    </Box>
  );
}

function Commands({ unit }: { unit: Unit }) {
  const [active, setActive] = useState<UnitCommand | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const commands = commandsFor(unit);
  return (
    <Paper component="section" aria-labelledby="commands-title" variant="outlined" sx={{ p: 2 }}>
      <Typography id="commands-title" variant="h6" component="h2" gutterBottom>Commands</Typography>
      {commands.length === 0 ? (
        <Typography sx={{ color: "text.secondary" }}>Its driver ({unit.driver}) takes no commands from here.</Typography>
      ) : (
        <Stack direction="row" spacing={1} useFlexGap sx={{ flexWrap: "wrap" }}>
          {commands.map((c) => (
            <Button key={c.key} variant="outlined" color={c.key === "curtail" ? "warning" : "primary"}
              disabled={c.disabledReason !== undefined} onClick={() => setActive(c)}>
              {c.label}
            </Button>
          ))}
        </Stack>
      )}
      {commands.some((c) => c.disabledReason) ? (
        <Typography variant="body2" sx={{ color: "text.secondary", mt: 1 }}>
          {commands.filter((c) => c.disabledReason).map((c) => `${c.label}: ${c.disabledReason}`).join(" · ")}
        </Typography>
      ) : null}
      {active ? (
        <CommandDialog key={active.key} unit={unit} command={active} onClose={() => setActive(null)}
          onDone={(result, c) => {
            setActive(null);
            setDone(c.key === "power_target" && result.result.power_target_w
              ? `${unit.id} took a power target of ${Math.round(result.result.power_target_w)} W`
              : `${unit.id} is now ${result.unit.mode}`);
          }} />
      ) : null}
      <Snackbar open={done !== null} autoHideDuration={6000} onClose={() => setDone(null)} message={done ?? ""} />
    </Paper>
  );
}

export default function UnitPage() {
  const { unitId = "" } = useParams();
  const { isStaff } = useAuth();
  const location = useLocation();
  usePageTitle(unitId ? `Unit ${unitId}` : "Unit");
  const unit = useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.unit(unitId),
    queryFn: () => call(api.GET("/api/v1/resources/{unit_id}", { params: { path: { unit_id: unitId } } })),
    refetchInterval: READINGS_REFRESH_MS,
    staleTime: 5_000,
  });
  if (isApiError(unit.error, 404)) return <NotFoundPage inShell />;
  const from = (location.state as { from?: string } | null)?.from;
  const u = unit.data;
  const back = (
    <Link component={RouterLink} to={`/app/resources${from ? `?${from}` : ""}`}
      sx={{ display: "inline-flex", alignItems: "center", gap: 0.5, mb: 1 }}>
      <ArrowBack fontSize="small" aria-hidden="true" /> Back to resources
    </Link>
  );
  // A figure's text once the unit is there; undefined (a skeleton) until then.
  const show = (render: (x: Unit) => ReactNode): ReactNode | undefined => (u ? render(u) : undefined);
  return (
    <Box>
      {back}
      <Stack direction="row" spacing={1} useFlexGap sx={{ alignItems: "center", flexWrap: "wrap", mb: 2 }}>
        <Typography variant="h4" component="h1">{unitId}</Typography>
        {u ? (
          <>
            <StateChip kind="status" value={u.status} />
            <StateChip kind="health" value={u.health} />
            <StateChip kind="mode" value={u.mode} />
            <Typography variant="body1" sx={{ color: "text.secondary" }}>
              {u.model} · {u.kind === "asic" ? "ASIC miner" : "GPU"}
            </Typography>
          </>
        ) : null}
        <Typography variant="body2" sx={{ color: "text.secondary", ml: "auto" }}>
          {u?.reading_at ? <>Read <time dateTime={u.reading_at}>{formatDateTime(u.reading_at)}</time></> : u ? "No reading yet" : ""}
        </Typography>
      </Stack>
      {unit.isPending ? <Box role="status" aria-label="Loading the unit"><Skeleton variant="rectangular" height={96} /></Box> : null}
      <ErrorAlert error={unit.error && !u ? unit.error : null} title="Could not load the unit" onRetry={() => void unit.refetch()} sx={{ mb: 2 }} />

      <Grid container spacing={2} sx={{ mb: 2 }}>
        <Grid size={{ xs: 12, sm: 6, lg: 3 }}>
          <StatCard label="Power" value={show((x) => formatKw(x.reading.power_w))}
            hint={u?.nominal.power_w ? `Nominal ${formatKw(u.nominal.power_w)}` : undefined} />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: 3 }}>
          <StatCard label={u?.kind === "gpu" ? "GPU use" : "Hashrate"} value={show(workRate)}
            hint={u?.nominal.hashrate_ths ? `Nominal ${formatMetric(metricOf("asic", "hashrate_ths"), u.nominal.hashrate_ths)}` : undefined} />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: 3 }}>
          <StatCard label="Temperature" value={show((x) => formatMetric(metricOf(x.kind, "temp_c"), x.reading.temp_c))} />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: 3 }}>
          <StatCard label="Place" value={show(placeOf)}
            hint={u?.facility_id ? (
              <Link component={RouterLink} to={`/app/facilities/${encodeURIComponent(u.facility_id)}`}>
                Facility view
              </Link>
            ) : undefined} />
        </Grid>
      </Grid>

      {u ? (
        <Stack spacing={2}>
          {isStaff ? <Commands unit={u} /> : null}
          <Telemetry unit={u} />
          <Grid container spacing={2}>
            <Grid size={{ xs: 12, md: 4 }}><Allocation unit={u} /></Grid>
            <Grid size={{ xs: 12, md: 4 }}><Faults unit={u} /></Grid>
            <Grid size={{ xs: 12, md: 4 }}>
              <Paper component="section" aria-labelledby="details-title" variant="outlined" sx={{ p: 2, height: "100%" }}>
                <Typography id="details-title" variant="h6" component="h2" gutterBottom>Details</Typography>
                <Details rows={[
                  ["Driver", u.driver], ["Address", u.address ?? "—"], ["Firmware", u.firmware ?? "—"],
                  ["Serial", u.serial ?? "—"], ["MAC", u.mac ?? "—"], ["Capabilities", u.capabilities.map(label).join(", ") || "—"],
                  ["Last seen", formatDateTime(u.last_seen_at)], ["Missed polls", String(u.missed_polls)],
                ]} />
              </Paper>
            </Grid>
          </Grid>
        </Stack>
      ) : null}
    </Box>
  );
}
