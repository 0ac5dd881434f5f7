// The current plan: headline figures, each facility's units by mode, power against the cap in
// force and profit per hour; and the recommendations in words.
import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import Grid from "@mui/material/Grid";
import LinearProgress from "@mui/material/LinearProgress";
import List from "@mui/material/List";
import ListItem from "@mui/material/ListItem";
import ListItemText from "@mui/material/ListItemText";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import { ErrorAlert } from "../../components/ErrorAlert";
import { StatCard } from "../../components/StatCard";
import { isApiError } from "../../api/client";
import { formatClock, formatNumber, formatUsd } from "../dashboard/format";
import { MODES, facilityRows, formatKw } from "./logic";
import { usePlan, useRecommendations } from "./queries";

const MODE_LABELS: Record<(typeof MODES)[number], string> = {
  mining: "Mining", spot: "Spot", workload: "Workload", idle: "Idle", curtailed: "Curtailed",
};

export function PlanSection() {
  const plan = usePlan();
  const noPlan = isApiError(plan.error, 404);
  const p = plan.data;
  const byMode = p?.summary.units_by_mode ?? {};
  return (
    <Box component="section" aria-labelledby="plan-title" sx={{ display: "flex", flexDirection: "column", gap: 2 }}>
      <Typography id="plan-title" variant="h5" component="h2">Current plan</Typography>
      {noPlan ? (
        <Typography>No plan yet: the planner decides on the first market tick.</Typography>
      ) : (
        <ErrorAlert error={p ? null : plan.error} title="Could not load the plan" onRetry={() => void plan.refetch()} />
      )}
      {noPlan || (plan.error && !p) ? null : (
        <>
          <Grid container spacing={2}>
            <Grid size={{ xs: 12, sm: 6, lg: 3 }}>
              <StatCard label="Profit per hour" value={p ? formatUsd(p.objective_usd_per_hour) : undefined}
                hint={p ? `optimum ${formatUsd(p.optimum_usd_per_hour)}` : undefined} tone="success" />
            </Grid>
            <Grid size={{ xs: 12, sm: 6, lg: 3 }}>
              <StatCard label="Hashprice" value={p ? `${formatUsd(p.hashprice_usd_per_th_day * 1000)}/PH/day` : undefined} />
            </Grid>
            <Grid size={{ xs: 12, sm: 6, lg: 3 }}>
              <StatCard label="Units by mode" value={p ? MODES.filter((m) => byMode[m]).map((m) => `${byMode[m]} ${MODE_LABELS[m].toLowerCase()}`).join(", ") || "none" : undefined} />
            </Grid>
            <Grid size={{ xs: 12, sm: 6, lg: 3 }}>
              <StatCard label="Planned at" value={p ? formatClock(p.summary.ts) : undefined}
                hint={p ? `${p.summary.changed} unit(s) changed` : undefined} />
            </Grid>
          </Grid>
          {p ? <Typography variant="body2" sx={{ color: "text.secondary" }}>Why: {p.reason}</Typography> : null}
          <PlanTable />
        </>
      )}
    </Box>
  );
}

function PlanTable() {
  const plan = usePlan();
  const rows = plan.data ? facilityRows(plan.data) : undefined;
  const columns = ["Facility", ...MODES.map((m) => MODE_LABELS[m]), "Power against cap", "Running work", "Electricity", "Profit per hour", "Demand response"];
  return (
    <Paper variant="outlined">
      <TableContainer tabIndex={0} role="group" aria-label="Plan by facility, scrollable">
        <Table size="small" aria-label="Plan by facility" aria-busy={rows === undefined || plan.isFetching || undefined}>
          <TableHead>
            <TableRow>
              {columns.map((c, i) => (
                <TableCell key={c} component="th" scope="col" align={i === 0 || i === columns.length - 1 ? "left" : "right"}>{c}</TableCell>
              ))}
            </TableRow>
          </TableHead>
          <TableBody>
            {rows === undefined ? (
              <TableRow>
                <TableCell colSpan={columns.length}>
                  <Box role="status" aria-label="Loading the plan"><Skeleton variant="text" /><Skeleton variant="text" /></Box>
                </TableCell>
              </TableRow>
            ) : rows.map(({ facility: f, units, load }) => (
              <TableRow key={f.id}>
                <TableCell component="th" scope="row">{f.name}</TableCell>
                {MODES.map((m) => <TableCell key={m} align="right">{units[m]}</TableCell>)}
                <TableCell align="right" sx={{ minWidth: 180 }}>
                  <span data-testid={`power-${f.id}`}>{formatKw(f.power_kw)} of {formatKw(f.power_cap_kw)}</span>
                  <LinearProgress variant="determinate" value={Math.min(100, load * 100)} color={load > 1.0001 ? "error" : "primary"}
                    aria-label={`${f.name}: ${formatNumber(load * 100, 0)} % of the cap`} sx={{ mt: 0.5 }} />
                </TableCell>
                <TableCell align="right">{formatKw(f.running_work_kw)}</TableCell>
                <TableCell align="right">{formatUsd(f.electricity_usd_per_mwh)}/MWh</TableCell>
                <TableCell align="right">{f.profit_usd_per_hour === undefined || f.profit_usd_per_hour === null ? "—" : formatUsd(f.profit_usd_per_hour)}</TableCell>
                <TableCell>
                  {f.demand_response ? (
                    <Chip size="small" color="warning" variant="outlined"
                      label={`${f.demand_response.reason} until ${formatClock(f.demand_response.ends_at)}`} />
                  ) : "—"}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </TableContainer>
    </Paper>
  );
}

export function RecommendationsSection() {
  const recs = useRecommendations();
  const items = recs.data?.items;
  return (
    <Box component="section" aria-labelledby="recs-title">
      <Typography id="recs-title" variant="h5" component="h2" sx={{ mb: 1 }}>Recommendations</Typography>
      <ErrorAlert error={items ? null : recs.error} title="Could not load the recommendations" onRetry={() => void recs.refetch()} />
      {items === undefined ? (
        recs.error ? null : <Box role="status" aria-label="Loading the recommendations"><Skeleton variant="text" /><Skeleton variant="text" /></Box>
      ) : items.length === 0 ? (
        <Typography>Nothing to act on{recs.data?.ts ? "" : ": no plan yet"}.</Typography>
      ) : (
        <Paper variant="outlined">
          <List dense aria-label="Recommendations">
            {items.map((r, i) => (
              <ListItem key={`${r.kind}-${r.facility_id}-${r.model}-${i}`}>
                <ListItemText primary={r.message}
                  secondary={`${r.kind === "capacity" ? "Capacity" : r.kind.charAt(0).toUpperCase() + r.kind.slice(1)} · ${formatUsd(r.usd_per_hour)}/h`} />
              </ListItem>
            ))}
          </List>
        </Paper>
      )}
    </Box>
  );
}
