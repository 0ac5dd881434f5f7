// Workloads (operators and admins): every customer's workloads. The queues per class (depth, oldest
// and median wait against the class's start SLO), switch latency percentiles, what runs where, and
// the list filtered, sorted and paged by the API with the state in the URL; a workload's timeline,
// switches and Cancel in its dialog (`?id=`). Live on `workload.state` events, else every 10 s.
import Download from "@mui/icons-material/Download";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Grid from "@mui/material/Grid";
import Link from "@mui/material/Link";
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
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link as RouterLink, useSearchParams } from "react-router";
import { api, unwrap } from "../../api/client";
import { ErrorAlert } from "../../components/ErrorAlert";
import { StatCard } from "../../components/StatCard";
import { SortableHead, sortCaption, TableStatusRows, type SortableColumn } from "../../components/SortableTable";
import { visuallyHidden } from "../../components/visuallyHidden";
import { usePageTitle } from "../../shell/usePageTitle";
import { useTenants } from "../alerts/queries";
import { formatDateTime, formatNumber } from "../dashboard/format";
import { filenameOf } from "../resources/filters";
import {
  GPU_MODELS, PAGE_SIZES, STATUSES, TYPES, TYPE_LABELS, activeFilterCount, apiQuery, exportQuery, formatMs,
  formatWait, label, listStateToParams, nextSort, parseListState, withFilter, type FilterKey, type ListState,
  type SortField,
} from "./filters";
import {
  useLiveWorkloads, usePlacements, useQueues, useSwitchSummary, useWorkloadPage, type QueueClass,
} from "./queries";
import { WorkloadDialog } from "./WorkloadDialog";
import { StatusChip } from "./WorkloadParts";

type Column = SortableColumn<SortField>;

const COLUMNS: Column[] = [
  { key: "name", label: "Workload", sort: "name" },
  { key: "customer", label: "Customer" },
  { key: "status", label: "Status", sort: "status" },
  { key: "type", label: "Type", sort: "type" },
  { key: "model", label: "Model", sort: "gpu_model" },
  { key: "gpus", label: "GPUs", sort: "gpu_count", align: "right" },
  { key: "priority", label: "Priority", sort: "priority", align: "right" },
  { key: "submitted", label: "Submitted", sort: "submitted_at" },
  { key: "started", label: "Started", sort: "started_at" },
];

function SelectFilter({ name, label: text, value, options, onChange }: {
  name: FilterKey; label: string; value: string | undefined;
  options: readonly { value: string; label: string }[]; onChange: (key: FilterKey, value: string | undefined) => void;
}) {
  return (
    <TextField select size="small" label={text} value={value ?? ""} sx={{ minWidth: 150 }}
      onChange={(e) => onChange(name, e.target.value || undefined)}>
      <MenuItem value="">All</MenuItem>
      {options.map((o) => <MenuItem key={o.value} value={o.value}>{o.label}</MenuItem>)}
    </TextField>
  );
}

/** The search box: typed text reaches the URL after a pause, and follows the URL when it changes. */
function SearchField({ value, onChange }: { value: string | undefined; onChange: (v: string | undefined) => void }) {
  const [text, setText] = useState(value ?? "");
  useEffect(() => setText(value ?? ""), [value]);
  useEffect(() => {
    if ((value ?? "") === text.trim()) return;
    const t = setTimeout(() => onChange(text.trim() || undefined), 350);
    return () => clearTimeout(t);
  }, [text, value, onChange]);
  return (
    <TextField size="small" type="search" label="Search" value={text} sx={{ minWidth: 200 }}
      helperText="Name or ID" onChange={(e) => setText(e.target.value)}
      slotProps={{ htmlInput: { maxLength: 100 } }} />
  );
}

async function downloadCsv(state: ListState): Promise<void> {
  const r = await api.GET("/api/v1/workloads/export.csv", { params: { query: exportQuery(state) }, parseAs: "blob" });
  const blob = unwrap(r) as Blob;
  const name = filenameOf(r.response.headers.get("content-disposition"), "hcp-workloads.csv");
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** One queue class: how many wait, for how long, against its start SLO. */
export function QueueCard({ queue }: { queue: QueueClass }) {
  const title = `${label(queue.name)} queue`;
  const late = queue.over_slo > 0;
  return (
    <StatCard label={title} tone={late ? "warning" : "default"}
      value={`${formatNumber(queue.depth)} waiting`}
      hint={queue.depth > 0
        ? `oldest ${formatWait(queue.oldest_wait_s)}, median ${formatWait(queue.median_wait_s)}; ${formatNumber(queue.over_slo)} past the ${formatWait(queue.start_slo_s)} start SLO; ${formatNumber(queue.placed)} placed`
        : `none waiting; ${formatNumber(queue.placed)} placed (start SLO ${formatWait(queue.start_slo_s)})`} />
  );
}

function Overview() {
  const queues = useQueues();
  const switches = useSwitchSummary();
  const s = switches.data;
  return (
    <Box component="section" aria-labelledby="workloads-queues-title" sx={{ mb: 3 }}>
      <Typography id="workloads-queues-title" variant="h6" component="h2" sx={{ mb: 1 }}>Queues</Typography>
      <ErrorAlert error={queues.error} title="Could not load the queues" onRetry={() => void queues.refetch()} sx={{ mb: 2 }} />
      <ErrorAlert error={switches.error} title="Could not load switch latency" onRetry={() => void switches.refetch()} sx={{ mb: 2 }} />
      <Grid container spacing={2}>
        {(queues.data?.classes ?? [undefined, undefined, undefined]).map((q, i) => (
          <Grid key={q?.name ?? `loading-${i}`} size={{ xs: 12, sm: 6, md: 3 }}>
            {q ? <QueueCard queue={q} /> : <StatCard label="Queue" value={undefined} />}
          </Grid>
        ))}
        <Grid size={{ xs: 12, sm: 6, md: 3 }}>
          <StatCard label="Switch latency" value={s ? (s.count ? `p50 ${formatMs(s.p50_ms)}` : "No switches yet") : undefined}
            tone={s && s.p99_ms !== null && s.p99_ms > s.target_ms ? "warning" : "default"}
            hint={s && s.count
              ? `p95 ${formatMs(s.p95_ms)}, p99 ${formatMs(s.p99_ms)} over ${formatNumber(s.count)} switches; ${formatNumber(s.over_target)} over ${formatMs(s.target_ms)}`
              : undefined} />
        </Grid>
      </Grid>
    </Box>
  );
}

function RunningWhere({ customerName, linkTo }: { customerName: (id: string) => string; linkTo: (id: string) => string }) {
  const placements = usePlacements();
  const items = placements.data?.items ?? [];
  return (
    <Box component="section" aria-labelledby="workloads-where-title" sx={{ mb: 3 }}>
      <Typography id="workloads-where-title" variant="h6" component="h2" sx={{ mb: 1 }}>Running where</Typography>
      <ErrorAlert error={placements.error} title="Could not load the placements" onRetry={() => void placements.refetch()} sx={{ mb: 2 }} />
      <Paper variant="outlined">
        <TableContainer tabIndex={0} aria-label="Placed workloads, scrollable" sx={{ maxHeight: 320 }}>
          <Table size="small" aria-label="Placed workloads" stickyHeader>
            <TableHead>
              <TableRow>
                {["Workload", "Customer", "Status", "GPUs", "Facility", "Units"].map((c) => (
                  <TableCell key={c} scope="col">{c}</TableCell>
                ))}
              </TableRow>
            </TableHead>
            <TableBody>
              {placements.isPending ? (
                <TableRow><TableCell colSpan={6}><Skeleton variant="text" /></TableCell></TableRow>
              ) : items.length === 0 ? (
                <TableRow>
                  <TableCell colSpan={6}>
                    <Typography sx={{ py: 1, textAlign: "center", color: "text.secondary" }}>No workload holds GPUs now.</Typography>
                  </TableCell>
                </TableRow>
              ) : items.map((p) => (
                <TableRow key={p.workload_id}>
                  <TableCell component="th" scope="row">
                    <Link component={RouterLink} to={linkTo(p.workload_id)}>{p.name}</Link>
                  </TableCell>
                  <TableCell>{customerName(p.tenant_id)}</TableCell>
                  <TableCell><StatusChip status={p.status} /></TableCell>
                  <TableCell>{`${p.gpu_count} × ${p.gpu_model}`}</TableCell>
                  <TableCell>{p.facility_id ?? "—"}</TableCell>
                  <TableCell>
                    {p.units.map((u, i) => (
                      <span key={u}>
                        {i > 0 ? ", " : null}
                        <Link component={RouterLink} to={`/app/resources/${encodeURIComponent(u)}`}>{u}</Link>
                      </span>
                    ))}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      </Paper>
    </Box>
  );
}

export default function WorkloadsPage() {
  usePageTitle("Workloads");
  useLiveWorkloads();
  const [searchParams, setSearchParams] = useSearchParams();
  const state = useMemo(() => parseListState(searchParams), [searchParams]);
  const update = (next: ListState) => setSearchParams(listStateToParams(next));
  const setFilter = (key: FilterKey, value: string | undefined) => update(withFilter(state, key, value));
  // The search box's debounced callback keeps one identity and reaches the latest state.
  const setFilterRef = useRef(setFilter);
  setFilterRef.current = setFilter;
  const onSearch = useCallback((v: string | undefined) => setFilterRef.current("q", v), []);
  const workloads = useWorkloadPage(apiQuery(state));
  const tenants = useTenants();
  const names = useMemo(() => new Map((tenants.data ?? []).map((t) => [t.id, t.name])), [tenants.data]);
  const customerName = useCallback((id: string) => names.get(id) ?? id, [names]);
  const linkTo = (id: string) => `?${listStateToParams({ ...state, open: id }).toString()}`;
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<unknown>(null);

  const onExport = async () => {
    setExporting(true);
    setExportError(null);
    try {
      await downloadCsv(state);
    } catch (e) {
      setExportError(e);
    } finally {
      setExporting(false);
    }
  };

  const total = workloads.data?.total;
  const rows = workloads.data?.items ?? [];
  const filtered = activeFilterCount(state) > 0;
  const customers = (tenants.data ?? []).map((t) => ({ value: t.id, label: t.name }))
    .concat(state.filters.customer && !names.has(state.filters.customer)
      ? [{ value: state.filters.customer, label: state.filters.customer }] : []);
  const lastPage = Math.max(0, Math.ceil((total ?? 0) / state.pageSize) - 1);

  return (
    <Box>
      <Stack direction="row" spacing={2} sx={{ alignItems: "center", flexWrap: "wrap", mb: 2 }}>
        <Typography variant="h4" component="h1">Workloads</Typography>
        <Box sx={{ ml: "auto" }}>
          <Button variant="outlined" startIcon={<Download />} onClick={() => void onExport()} disabled={exporting}>
            {exporting ? "Exporting…" : "Export CSV"}
          </Button>
        </Box>
      </Stack>
      <ErrorAlert error={exportError} title="Could not export the workloads" sx={{ mb: 2 }} />

      <Overview />
      <RunningWhere customerName={customerName} linkTo={linkTo} />

      <Box component="section" aria-labelledby="workloads-all-title">
        <Stack direction="row" spacing={2} sx={{ alignItems: "baseline", flexWrap: "wrap", mb: 1 }}>
          <Typography id="workloads-all-title" variant="h6" component="h2">All workloads</Typography>
          <Typography role="status" variant="body1" sx={{ color: "text.secondary" }} data-testid="workloads-total">
            {total === undefined ? "Counting workloads…"
              : `${formatNumber(total)} ${total === 1 ? "workload" : "workloads"}${filtered ? " match" : ""}`}
          </Typography>
        </Stack>
        <Paper component="form" role="search" aria-label="Filter workloads" variant="outlined" sx={{ p: 2, mb: 2 }}
          onSubmit={(e) => e.preventDefault()}>
          <Stack direction="row" spacing={2} useFlexGap sx={{ flexWrap: "wrap", alignItems: "flex-start" }}>
            <SearchField value={state.filters.q} onChange={onSearch} />
            <SelectFilter name="customer" label="Customer" value={state.filters.customer} onChange={setFilter} options={customers} />
            <SelectFilter name="status" label="Status" value={state.filters.status} onChange={setFilter}
              options={STATUSES.map((s) => ({ value: s, label: label(s) }))} />
            <SelectFilter name="type" label="Type" value={state.filters.type} onChange={setFilter}
              options={TYPES.map((t) => ({ value: t, label: TYPE_LABELS[t] }))} />
            <SelectFilter name="gpu_model" label="GPU model" value={state.filters.gpu_model} onChange={setFilter}
              options={GPU_MODELS.map((m) => ({ value: m, label: m === "any" ? "Any" : m }))} />
            {filtered ? (
              <Button onClick={() => update({ ...state, filters: {}, page: 0 })} sx={{ mt: 0.5 }}>Clear filters</Button>
            ) : null}
          </Stack>
        </Paper>

        <ErrorAlert error={workloads.error} title="Could not load the workloads" onRetry={() => void workloads.refetch()} sx={{ mb: 2 }} />

        <Paper variant="outlined">
          <TableContainer tabIndex={0} aria-label="Workloads, scrollable">
            <Table size="small" aria-label="Workloads">
              <caption style={visuallyHidden}>
                Workloads{sortCaption(COLUMNS, state.sort, ", newest first")}
              </caption>
              <SortableHead columns={COLUMNS} sort={state.sort} onSort={(field) => update(nextSort(state, field))} />
              <TableBody>
                {workloads.isPending || rows.length === 0 ? (
                  <TableStatusRows loading={workloads.isPending} colSpan={COLUMNS.length} loadingLabel="Loading workloads…"
                    emptyText={filtered ? "No workloads match these filters." : "No workloads yet."} />
                ) : (
                  rows.map((w) => (
                    <TableRow key={w.id} hover selected={w.id === state.open}>
                      <TableCell component="th" scope="row">
                        <Link component={RouterLink} to={linkTo(w.id)}>{w.name}</Link>
                      </TableCell>
                      <TableCell>{customerName(w.tenant_id)}</TableCell>
                      <TableCell><StatusChip status={w.status} /></TableCell>
                      <TableCell>{TYPE_LABELS[w.type]}</TableCell>
                      <TableCell>{w.gpu_model === "any" ? "Any" : w.gpu_model}</TableCell>
                      <TableCell align="right">{w.gpu_count}</TableCell>
                      <TableCell align="right">{w.priority}</TableCell>
                      <TableCell>{formatDateTime(w.submitted_at)}</TableCell>
                      <TableCell>{formatDateTime(w.started_at)}</TableCell>
                    </TableRow>
                  ))
                )}
              </TableBody>
            </Table>
          </TableContainer>
          <TablePagination component="div" count={total ?? 0} page={Math.min(state.page, lastPage)}
            rowsPerPage={state.pageSize} rowsPerPageOptions={[...PAGE_SIZES]}
            onPageChange={(_, page) => update({ ...state, page })}
            onRowsPerPageChange={(e) => update({ ...state, pageSize: Number(e.target.value), page: 0 })} />
        </Paper>
      </Box>

      <WorkloadDialog id={state.open} initial={rows.find((w) => w.id === state.open)} customerName={customerName}
        onClose={() => update({ ...state, open: undefined })} />
    </Box>
  );
}
