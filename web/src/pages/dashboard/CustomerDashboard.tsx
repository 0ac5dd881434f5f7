// The customer's dashboard: their active workloads, this month's spend and budget, and their
// recent workloads, whose status changes live (workload.state patches the cached lists).
import Box from "@mui/material/Box";
import Chip, { type ChipProps } from "@mui/material/Chip";
import Grid from "@mui/material/Grid";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import { useQueries } from "@tanstack/react-query";
import { memo } from "react";
import { api, call } from "../../api/client";
import { ErrorAlert } from "../../components/ErrorAlert";
import { StatCard } from "../../components/StatCard";
import { liveQueryDefaults, queryKeys } from "../../live/cache";
import { useBillingUsage, useBudget, useWorkloads } from "../../live/queries";
import type { Workload } from "../../live/types";
import { formatDateTime, formatNumber, formatUsd } from "./format";
import { ACTIVE_STATUSES } from "./kpis";

export const RECENT_LIMIT = 10;

const STATUS_COLOR: Record<Workload["status"], ChipProps["color"]> = {
  submitted: "default", queued: "info", scheduled: "info", switching: "warning", running: "success",
  completed: "default", failed: "error", cancelled: "default", preempted: "warning",
};

const TYPE_LABEL: Record<Workload["type"], string> = {
  ai_inference: "AI inference", ai_training: "AI training", batch: "Batch",
};

/** When the workload last changed, as far as its timestamps tell. */
export function updatedAt(w: Workload): string {
  return [w.finished_at, w.started_at, w.queued_at, w.submitted_at]
    .filter((t): t is string => !!t)
    .reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a));
}

/** One row; memoised so that a live change re-renders only the row whose object changed. */
const WorkloadRow = memo(function WorkloadRow({ w }: { w: Workload }) {
  const updated = updatedAt(w);
  return (
    <TableRow hover>
      <TableCell component="th" scope="row">{w.name}</TableCell>
      <TableCell>{TYPE_LABEL[w.type] ?? w.type}</TableCell>
      <TableCell>
        <Chip size="small" label={w.status} color={STATUS_COLOR[w.status] ?? "default"}
          variant={w.status === "running" ? "filled" : "outlined"} />
      </TableCell>
      <TableCell align="right">{w.gpu_count} × {w.gpu_model === "any" ? "any GPU" : w.gpu_model}</TableCell>
      <TableCell><time dateTime={updated}>{formatDateTime(updated)}</time></TableCell>
    </TableRow>
  );
});

function useActiveCount(): { value: number | undefined; error: unknown; refetch: () => void } {
  const results = useQueries({
    queries: ACTIVE_STATUSES.map((status) => {
      const params = { status, limit: 1 } as const;
      return {
        ...liveQueryDefaults,
        queryKey: queryKeys.workloads(params),
        queryFn: () => call(api.GET("/api/v1/workloads", { params: { query: params } })),
        staleTime: 60_000,
      };
    }),
  });
  const error = results.find((r) => r.error)?.error ?? null;
  const value = results.every((r) => r.data) ? results.reduce((n, r) => n + (r.data?.total ?? 0), 0) : undefined;
  return { value, error, refetch: () => results.forEach((r) => void r.refetch()) };
}

export default function CustomerDashboard() {
  const active = useActiveCount();
  const usage = useBillingUsage({ group_by: "model" });
  const budget = useBudget();
  const recent = useWorkloads({ limit: RECENT_LIMIT });

  const limit = budget.data?.monthly_limit_usd ?? null;
  const usedPct = budget.data?.used_pct;

  return (
    <Box>
      <Typography variant="h4" component="h1" sx={{ mb: 2 }}>Customer dashboard</Typography>

      <Grid container spacing={2} sx={{ mb: 2 }}>
        <Grid size={{ xs: 12, md: 4 }}>
          {active.error && active.value === undefined ? (
            <ErrorAlert error={active.error} title="Could not load your workloads" onRetry={active.refetch} />
          ) : (
            <StatCard label="Active workloads" value={active.value === undefined ? undefined : formatNumber(active.value)}
              hint="Queued, scheduled, switching or running" />
          )}
        </Grid>
        <Grid size={{ xs: 12, md: 4 }}>
          {usage.error ? (
            <ErrorAlert error={usage.error} title="Could not load your usage" onRetry={() => void usage.refetch()} />
          ) : (
            <StatCard label="Spend this month" value={usage.data ? formatUsd(usage.data.total_cost_usd) : undefined}
              hint={usage.data ? `${formatNumber(Number(usage.data.total_gpu_hours), 1)} GPU-hours metered` : undefined} />
          )}
        </Grid>
        <Grid size={{ xs: 12, md: 4 }}>
          {budget.error ? (
            <ErrorAlert error={budget.error} title="Could not load your budget" onRetry={() => void budget.refetch()} />
          ) : (
            <StatCard label="Budget"
              value={budget.data ? (limit === null ? "No budget set" : formatUsd(limit)) : undefined}
              tone={usedPct != null && Number(usedPct) >= 90 ? "warning" : "default"}
              hint={budget.data
                ? limit === null
                  ? `${formatUsd(budget.data.spent_usd)} spent this month`
                  : `${usedPct == null ? "—" : `${formatNumber(Number(usedPct), 0)} %`} used · ${formatUsd(budget.data.spent_usd)} spent`
                : undefined} />
          )}
        </Grid>
      </Grid>

      <Paper variant="outlined">
        <Typography variant="h6" component="h2" id="recent-workloads" sx={{ px: 2, pt: 2 }}>Recent workloads</Typography>
        {recent.error ? (
          <Box sx={{ p: 2 }}>
            <ErrorAlert error={recent.error} title="Could not load your workloads" onRetry={() => void recent.refetch()} />
          </Box>
        ) : (
          <TableContainer>
            <Table size="small" aria-labelledby="recent-workloads" aria-busy={recent.isPending || undefined}>
              <TableHead>
                <TableRow>
                  <TableCell>Name</TableCell>
                  <TableCell>Type</TableCell>
                  <TableCell>Status</TableCell>
                  <TableCell align="right">GPUs</TableCell>
                  <TableCell>Updated</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {recent.isPending
                  ? Array.from({ length: 3 }, (_, i) => (
                      <TableRow key={i}>
                        <TableCell colSpan={5}><Skeleton variant="text" /></TableCell>
                      </TableRow>
                    ))
                  : recent.data?.items.length === 0
                    ? (
                      <TableRow>
                        <TableCell colSpan={5}>No workloads yet.</TableCell>
                      </TableRow>
                    )
                    : recent.data?.items.map((w) => <WorkloadRow key={w.id} w={w} />)}
              </TableBody>
            </Table>
          </TableContainer>
        )}
      </Paper>
    </Box>
  );
}
