// A facility (operators and admins): its power against the cap, miners and GPUs, then rack by
// rack the units it holds with each rack's power (against the rack's cap where it has one).
// Follows `unit.state` events and refreshes the readings every few seconds.
import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import Grid from "@mui/material/Grid";
import LinearProgress from "@mui/material/LinearProgress";
import Link from "@mui/material/Link";
import MenuItem from "@mui/material/MenuItem";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link as RouterLink, Navigate, useNavigate, useParams } from "react-router";
import { api, call, isApiError, type Schemas } from "../../api/client";
import { ErrorAlert } from "../../components/ErrorAlert";
import { StatCard } from "../../components/StatCard";
import { queryKeys } from "../../live/cache";
import { useLiveEvent } from "../../live/status";
import { usePageTitle } from "../../shell/usePageTitle";
import NotFoundPage from "../notfound/NotFoundPage";
import { formatNumber } from "../dashboard/format";
import { formatKw, label, useFacilities } from "./parts";

const REFRESH_MS = 15_000;

type TopologyUnit = Schemas["TopologyUnit"];

/** "12.3 kW of 40 kW (31 %)" or "12.3 kW" without a cap. */
export function powerAgainstCap(usedKw: number, capKw: number | null | undefined): string {
  const used = `${formatNumber(usedKw, 1)} kW`;
  if (!capKw) return used;
  return `${used} of ${formatNumber(capKw, 1)} kW (${formatNumber((usedKw / capKw) * 100, 0)} %)`;
}

function CapBar({ usedKw, capKw, name }: { usedKw: number; capKw: number | null | undefined; name: string }) {
  if (!capKw) return null;
  const pct = Math.min(100, (usedKw / capKw) * 100);
  return (
    <LinearProgress variant="determinate" value={pct} aria-label={`${name}: power against its cap`}
      color={pct >= 95 ? "error" : pct >= 80 ? "warning" : "primary"} sx={{ height: 8, borderRadius: 1, my: 1 }} />
  );
}

function UnitChip({ unit }: { unit: TopologyUnit }) {
  const tone = unit.status === "offline" || unit.health === "critical" ? "error"
    : unit.health === "warning" ? "warning" : unit.mode === "curtailed" ? "default" : "success";
  const power = unit.power_w === null ? "no reading" : formatKw(unit.power_w, 1);
  return (
    <Chip component={RouterLink} to={`/app/resources/${encodeURIComponent(unit.id)}`} clickable size="small"
      variant="outlined" color={tone} label={`${unit.id} · ${label(unit.mode)} · ${power}`}
      aria-label={`${unit.id}: ${unit.model}, ${unit.status}, health ${unit.health}, ${unit.mode}, ${power}`} />
  );
}

function RackCard({ title, units, powerKw, capKw }: { title: string; units: TopologyUnit[]; powerKw: number; capKw?: number | null }) {
  const id = `rack-${title.replace(/\W+/g, "-")}`;
  return (
    <Paper component="section" aria-labelledby={id} variant="outlined" sx={{ p: 2 }}>
      <Stack direction="row" spacing={2} useFlexGap sx={{ alignItems: "baseline", flexWrap: "wrap" }}>
        <Typography id={id} variant="h6" component="h3">{title}</Typography>
        <Typography variant="body2" sx={{ color: "text.secondary" }}>
          {formatNumber(units.length)} {units.length === 1 ? "unit" : "units"} · {powerAgainstCap(powerKw, capKw)}
          {capKw ? "" : " (no rack cap)"}
        </Typography>
      </Stack>
      <CapBar usedKw={powerKw} capKw={capKw} name={title} />
      {units.length === 0 ? (
        <Typography variant="body2" sx={{ color: "text.secondary", mt: 1 }}>Empty.</Typography>
      ) : (
        <Stack direction="row" spacing={1} useFlexGap component="ul" aria-label={`Units in ${title}`}
          sx={{ flexWrap: "wrap", listStyle: "none", p: 0, m: 0, mt: 1 }}>
          {units.map((u) => <li key={u.id}><UnitChip unit={u} /></li>)}
        </Stack>
      )}
    </Paper>
  );
}

/** /app/facilities: the first facility. */
export function FacilitiesIndex() {
  const facilities = useFacilities();
  usePageTitle("Facilities");
  const first = facilities.data?.items[0];
  if (first) return <Navigate to={`/app/facilities/${encodeURIComponent(first.id)}`} replace />;
  return (
    <Box>
      <Typography variant="h4" component="h1" sx={{ mb: 2 }}>Facilities</Typography>
      <ErrorAlert error={facilities.error} title="Could not load the facilities" onRetry={() => void facilities.refetch()} />
      {facilities.isPending ? <Box role="status" aria-label="Loading the facilities"><Skeleton height={48} /></Box>
        : facilities.data ? <Typography>No facilities yet.</Typography> : null}
    </Box>
  );
}

export default function FacilityPage() {
  const { facilityId = "" } = useParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const facilities = useFacilities();
  const topologyKey = ["resources", "topology", facilityId] as const;
  const topology = useQuery({
    queryKey: topologyKey,
    queryFn: () => call(api.GET("/api/v1/facilities/{facility_id}/topology", { params: { path: { facility_id: facilityId } } })),
    refetchInterval: REFRESH_MS,
    staleTime: 5_000,
  });
  const capacity = useQuery({
    queryKey: queryKeys.capacity(facilityId),
    queryFn: () => call(api.GET("/api/v1/resources/capacity", { params: { query: { facility_id: facilityId } } })),
    refetchInterval: REFRESH_MS,
    staleTime: 5_000,
  });
  useLiveEvent("resources", (event) => {
    if (event.data.facility_id === facilityId) void client.invalidateQueries({ queryKey: topologyKey });
  });
  const name = topology.data?.facility.name ?? facilityId;
  usePageTitle(`Facility ${name}`);
  if (isApiError(topology.error, 404)) return <NotFoundPage inShell />;
  const cap: Schemas["FacilityCapacity"] | undefined = capacity.data?.facilities.find((f) => f.facility_id === facilityId);
  const t = topology.data;
  const show = <T,>(v: T | undefined, render: (x: T) => string) => (v === undefined ? undefined : render(v));
  const gpus = cap?.gpus.reduce((acc, g) => ({ free: acc.free + g.free, busy: acc.busy + g.busy, total: acc.total + g.total }),
    { free: 0, busy: 0, total: 0 });

  return (
    <Box>
      <Stack direction="row" spacing={2} useFlexGap sx={{ alignItems: "center", flexWrap: "wrap", mb: 2 }}>
        <Typography variant="h4" component="h1">{name}</Typography>
        {t ? <Typography sx={{ color: "text.secondary" }}>{t.facility.location} · market node {t.facility.market_node}</Typography> : null}
        <TextField select size="small" label="Facility" value={facilities.data?.items.some((f) => f.id === facilityId) ? facilityId : ""}
          sx={{ ml: "auto", minWidth: 200 }} onChange={(e) => void navigate(`/app/facilities/${encodeURIComponent(e.target.value)}`)}>
          {(facilities.data?.items ?? []).map((f) => <MenuItem key={f.id} value={f.id}>{f.name}</MenuItem>)}
        </TextField>
      </Stack>
      <ErrorAlert error={topology.error} title="Could not load the facility" onRetry={() => void topology.refetch()} sx={{ mb: 2 }} />
      <ErrorAlert error={capacity.error} title="Could not load the facility's capacity" onRetry={() => void capacity.refetch()} sx={{ mb: 2 }} />

      <Grid container spacing={2} sx={{ mb: 2 }}>
        <Grid size={{ xs: 12, md: 4 }}>
          <StatCard label="Facility power" value={show(cap, (c) => powerAgainstCap(c.power.used_kw, c.power.cap_kw))}
            hint={cap ? (cap.power.headroom_kw === null ? "No cap" : `${formatNumber(cap.power.headroom_kw, 1)} kW headroom`) : undefined}>
            {cap ? <CapBar usedKw={cap.power.used_kw} capKw={cap.power.cap_kw} name="Facility" /> : null}
          </StatCard>
        </Grid>
        <Grid size={{ xs: 12, md: 4 }}>
          <StatCard label="Miners" value={show(cap, (c) => `${formatNumber(c.asic.hashrate_ths, 0)} TH/s`)}
            hint={cap ? `${cap.asic.mining} mining of ${cap.asic.units} (${cap.asic.online} online)` : undefined} />
        </Grid>
        <Grid size={{ xs: 12, md: 4 }}>
          <StatCard label="GPUs" value={show(gpus, (g) => `${g.busy} busy · ${g.free} free`)}
            hint={cap ? cap.gpus.map((g) => `${g.model}: ${g.free} of ${g.total} free`).join(" · ") || "No GPUs" : undefined} />
        </Grid>
      </Grid>

      <Stack direction="row" spacing={2} sx={{ alignItems: "baseline", mb: 1 }}>
        <Typography variant="h5" component="h2">Racks</Typography>
        <Link component={RouterLink} to={`/app/resources?facility_id=${encodeURIComponent(facilityId)}`}>
          List this facility's units
        </Link>
      </Stack>
      {topology.isPending ? (
        <Box role="status" aria-label="Loading the racks"><Skeleton variant="rectangular" height={160} /></Box>
      ) : t ? (
        <Stack spacing={2}>
          {t.racks.map((r) => <RackCard key={r.id} title={r.name} units={r.units} powerKw={r.power_kw} capKw={r.power_cap_kw} />)}
          {t.unracked.length > 0 ? (
            <RackCard title="Not in a rack" units={t.unracked}
              powerKw={t.unracked.reduce((s, u) => s + (u.power_w ?? 0), 0) / 1000} />
          ) : null}
          {t.racks.length === 0 && t.unracked.length === 0 ? <Typography>No racks or units here yet.</Typography> : null}
        </Stack>
      ) : null}
    </Box>
  );
}
