// Alerts (operators and admins): the unresolved alerts by severity at the top, then every alert,
// newest first, filtered by status, severity, unit and customer and paged by the server, all kept
// in the URL; acknowledge and resolve from the row or from the alert's dialog (`?id=`, where a
// notification's "View alert" leads). Live: `alert.*` events patch the list and the open alert
// (cache.ts) and refresh the summary.
import Autocomplete from "@mui/material/Autocomplete";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Grid from "@mui/material/Grid";
import LinearProgress from "@mui/material/LinearProgress";
import MenuItem from "@mui/material/MenuItem";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TablePagination from "@mui/material/TablePagination";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useCallback, useEffect, useMemo, useState } from "react";
import { useSearchParams } from "react-router";
import { useAuth } from "../../auth/AuthProvider";
import { ErrorAlert } from "../../components/ErrorAlert";
import { StatCard } from "../../components/StatCard";
import { visuallyHidden } from "../../components/visuallyHidden";
import type { AlertView } from "../../live/types";
import { formatNumber } from "../dashboard/format";
import { AlertDialog } from "./AlertDialog";
import { SeverityChip, StatusChip, When } from "./AlertParts";
import { ruleTitle, SEVERITY_LABELS, STATUS_LABELS, subjectText, unitOf } from "./alertText";
import {
  filtersFromSearch,
  hasFilters,
  listParams,
  PAGE_SIZES,
  selectedId,
  SEVERITIES,
  STATUSES,
  withFilters,
  withSelected,
  type AlertFilters,
  type AlertSeverity,
  type AlertStatus,
} from "./filters";
import { useAlertAction, useAlertPage, useAlertSummary, useTenants, useUnitOptions, type AlertAction } from "./queries";

const COLUMNS = ["Severity", "Alert", "Unit", "Customer", "Status", "Raised", "Acknowledged", "Resolved", "Actions"];

function Summary() {
  const summary = useAlertSummary();
  const data = summary.data;
  return (
    <Box component="section" aria-labelledby="alerts-summary-title" sx={{ mb: 3 }}>
      <Typography id="alerts-summary-title" variant="h6" component="h2" sx={{ mb: 1 }}>
        Open alerts by severity
      </Typography>
      {summary.error && !data ? (
        <ErrorAlert error={summary.error} title="Could not count the open alerts" onRetry={() => void summary.refetch()} />
      ) : (
        <Grid container spacing={2}>
          {SEVERITIES.map((s) => {
            const open = data?.open[s];
            const acked = data?.acked[s];
            return (
              <Grid key={s} size={{ xs: 12, sm: 4 }}>
                <StatCard label={SEVERITY_LABELS[s]}
                  value={open === undefined ? undefined : `${formatNumber(open)} open`}
                  hint={acked === undefined ? undefined : `${formatNumber(acked)} acknowledged, not yet resolved`}
                  tone={open && s === "critical" ? "error" : open && s === "warning" ? "warning" : "default"} />
              </Grid>
            );
          })}
        </Grid>
      )}
    </Box>
  );
}

interface FilterBarProps {
  filters: AlertFilters;
  onChange: (patch: Partial<AlertFilters>) => void;
  tenants: { id: string; name: string }[];
}

function FilterBar({ filters, onChange, tenants }: FilterBarProps) {
  const [unitsWanted, setUnitsWanted] = useState(false);
  const units = useUnitOptions(unitsWanted || filters.unit !== undefined);
  const unitIds = useMemo(() => {
    const ids = (units.data ?? []).map((u) => u.id);
    return filters.unit && !ids.includes(filters.unit) ? [filters.unit, ...ids] : ids;
  }, [units.data, filters.unit]);
  const unitLabel = useMemo(() => new Map((units.data ?? []).map((u) => [u.id, `${u.id} · ${u.model}`])), [units.data]);
  const customerKnown = filters.customer === undefined || tenants.some((t) => t.id === filters.customer);

  return (
    <Stack direction={{ xs: "column", md: "row" }} spacing={2} sx={{ mb: 2, alignItems: { md: "center" } }}
      component="form" role="search" aria-label="Filter alerts" onSubmit={(e) => e.preventDefault()}>
      <TextField select size="small" label="Status" value={filters.status ?? ""} sx={{ minWidth: 170 }}
        onChange={(e) => onChange({ status: (e.target.value || undefined) as AlertStatus | undefined })}>
        <MenuItem value="">All</MenuItem>
        {STATUSES.map((s) => <MenuItem key={s} value={s}>{STATUS_LABELS[s]}</MenuItem>)}
      </TextField>
      <TextField select size="small" label="Severity" value={filters.severity ?? ""} sx={{ minWidth: 150 }}
        onChange={(e) => onChange({ severity: (e.target.value || undefined) as AlertSeverity | undefined })}>
        <MenuItem value="">All</MenuItem>
        {SEVERITIES.map((s) => <MenuItem key={s} value={s}>{SEVERITY_LABELS[s]}</MenuItem>)}
      </TextField>
      <Autocomplete
        size="small"
        freeSolo
        options={unitIds}
        value={filters.unit ?? null}
        getOptionLabel={(id) => unitLabel.get(id) ?? id}
        loading={units.isFetching}
        onOpen={() => setUnitsWanted(true)}
        onChange={(_e, value) => onChange({ unit: value?.trim() || undefined })}
        sx={{ minWidth: 260 }}
        renderInput={(params) => (
          <TextField {...params} label="Unit" placeholder="Any unit" helperText={units.error ? "Could not list the units: type an id" : undefined} />
        )}
      />
      <TextField select size="small" label="Customer" value={customerKnown ? (filters.customer ?? "") : filters.customer}
        sx={{ minWidth: 180 }} onChange={(e) => onChange({ customer: e.target.value || undefined })}>
        <MenuItem value="">All</MenuItem>
        {!customerKnown && filters.customer ? <MenuItem value={filters.customer}>{filters.customer}</MenuItem> : null}
        {tenants.map((t) => <MenuItem key={t.id} value={t.id}>{t.name}</MenuItem>)}
      </TextField>
      <Button disabled={!hasFilters(filters)} onClick={() => onChange({ status: undefined, severity: undefined, unit: undefined, customer: undefined })}>
        Clear filters
      </Button>
    </Stack>
  );
}

interface RowProps {
  alert: AlertView;
  customer: string | undefined;
  selected: boolean;
  canResolve: boolean;
  busy: boolean;
  onOpen: (id: string) => void;
  onAction: (id: string, action: AlertAction) => void;
}

function AlertRow({ alert, customer, selected, canResolve, busy, onOpen, onAction }: RowProps) {
  const title = ruleTitle(alert.rule);
  const about = `${title}, ${subjectText(alert, customer)}`;
  const unit = unitOf(alert);
  return (
    <TableRow hover selected={selected} aria-current={selected ? "true" : undefined}>
      <TableCell><SeverityChip severity={alert.severity} /></TableCell>
      <TableCell sx={{ minWidth: 240 }}>
        <Typography variant="body2" sx={{ fontWeight: 600 }}>{title}</Typography>
        <Typography variant="body2" sx={{ color: "text.secondary" }}>{alert.message}</Typography>
      </TableCell>
      <TableCell sx={{ whiteSpace: "nowrap" }}>{unit ?? "—"}</TableCell>
      <TableCell>{customer ?? "—"}</TableCell>
      <TableCell><StatusChip status={alert.status} /></TableCell>
      <TableCell sx={{ whiteSpace: "nowrap" }}><When iso={alert.raised_at} /></TableCell>
      <TableCell sx={{ whiteSpace: "nowrap" }}><When iso={alert.acked_at} /></TableCell>
      <TableCell sx={{ whiteSpace: "nowrap" }}><When iso={alert.resolved_at} /></TableCell>
      <TableCell>
        <Stack direction="row" spacing={1}>
          <Button size="small" onClick={() => onOpen(alert.id)}>
            Details<span style={visuallyHidden}>: {about}</span>
          </Button>
          {alert.status === "open" ? (
            <Button size="small" variant="outlined" disabled={busy} onClick={() => onAction(alert.id, "ack")}>
              Acknowledge<span style={visuallyHidden}>: {about}</span>
            </Button>
          ) : null}
          {canResolve && alert.status !== "resolved" ? (
            <Button size="small" variant="outlined" disabled={busy} onClick={() => onAction(alert.id, "resolve")}>
              Resolve<span style={visuallyHidden}>: {about}</span>
            </Button>
          ) : null}
        </Stack>
      </TableCell>
    </TableRow>
  );
}

export default function AlertsPage() {
  const { isStaff } = useAuth();
  const [search, setSearch] = useSearchParams();
  const filters = filtersFromSearch(search);
  const openId = selectedId(search);
  const list = useAlertPage(listParams(filters));
  const tenants = useTenants();
  const action = useAlertAction();

  const tenantNames = useMemo(() => new Map((tenants.data ?? []).map((t) => [t.id, t.name])), [tenants.data]);
  const customerName = useCallback((id: string | null) => (id ? (tenantNames.get(id) ?? id) : undefined), [tenantNames]);
  const change = (patch: Partial<AlertFilters>) => setSearch(withFilters(search, patch));
  const open = (id: string | undefined) => setSearch(withSelected(search, id));
  const items = list.data?.items ?? [];
  const total = list.data?.total ?? 0;
  const lastPage = Math.max(1, Math.ceil(total / filters.size));
  // Past the last page (alerts went since the link was made, or a hand-written URL): to the last.
  const pastTheEnd = list.data !== undefined && !list.isPlaceholderData && total > 0 && filters.page > lastPage;
  useEffect(() => {
    if (pastTheEnd) setSearch(withFilters(search, { page: lastPage }), { replace: true });
  }, [pastTheEnd, lastPage, search, setSearch]);

  return (
    <Box>
      <Typography variant="h4" component="h1" sx={{ mb: 2 }}>Alerts</Typography>
      <Summary />

      <Paper variant="outlined" component="section" aria-labelledby="alerts-list-title" sx={{ p: 2 }}>
        <Typography id="alerts-list-title" variant="h6" component="h2" sx={{ mb: 2 }}>All alerts</Typography>
        <FilterBar filters={filters} onChange={change} tenants={tenants.data ?? []} />
        <ErrorAlert error={action.error} title="The alert did not change" sx={{ mb: 2 }} />
        {list.error ? (
          <ErrorAlert error={list.error} title="Could not load the alerts" onRetry={() => void list.refetch()} sx={{ mb: 2 }} />
        ) : null}
        {list.isPlaceholderData ? <LinearProgress aria-label="Loading the alerts" sx={{ mb: 1 }} /> : null}
        <TableContainer tabIndex={0} role="region" aria-label="Alerts table">
          <Table size="small" aria-labelledby="alerts-list-title" aria-busy={list.isPending || undefined}>
            <TableHead>
              <TableRow>
                {COLUMNS.map((c) => <TableCell key={c} sx={{ fontWeight: 600, whiteSpace: "nowrap" }}>{c}</TableCell>)}
              </TableRow>
            </TableHead>
            <TableBody>
              {list.isPending ? (
                [0, 1, 2].map((i) => (
                  <TableRow key={i}>
                    <TableCell colSpan={COLUMNS.length}>
                      <Skeleton variant="text" aria-hidden />
                      {i === 0 ? <span style={visuallyHidden}>Loading the alerts</span> : null}
                    </TableCell>
                  </TableRow>
                ))
              ) : items.length === 0 ? (
                <TableRow>
                  <TableCell colSpan={COLUMNS.length}>
                    <Typography variant="body2" sx={{ py: 2, textAlign: "center", color: "text.secondary" }}>
                      {hasFilters(filters) ? "No alerts match these filters." : "No alerts."}
                    </Typography>
                  </TableCell>
                </TableRow>
              ) : (
                items.map((a) => (
                  <AlertRow key={a.id} alert={a} customer={customerName(a.tenant_id)} selected={a.id === openId}
                    canResolve={isStaff} busy={action.isPending && action.variables?.id === a.id}
                    onOpen={open} onAction={(id, act) => action.mutate({ id, action: act })} />
                ))
              )}
            </TableBody>
          </Table>
        </TableContainer>
        <TablePagination
          component="div"
          count={total}
          page={list.data ? Math.min(filters.page, lastPage) - 1 : 0}
          rowsPerPage={filters.size}
          rowsPerPageOptions={[...PAGE_SIZES]}
          labelRowsPerPage="Alerts per page"
          onPageChange={(_e, page) => change({ page: page + 1 })}
          onRowsPerPageChange={(e) => change({ size: Number(e.target.value) })}
        />
      </Paper>

      <AlertDialog id={openId} initial={items.find((a) => a.id === openId)} customerName={customerName}
        canResolve={isStaff} onClose={() => open(undefined)} />
    </Box>
  );
}
