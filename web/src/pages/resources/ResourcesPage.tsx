// Resources (operators and admins): every unit of the fleet, filtered, sorted and paged by the
// API, the state in the URL; rows follow `unit.state` events (cache.ts) and refetch their
// readings every few seconds. "Export CSV" downloads the whole filtered set from the API.
import Download from "@mui/icons-material/Download";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Link from "@mui/material/Link";
import MenuItem from "@mui/material/MenuItem";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TablePagination from "@mui/material/TablePagination";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link as RouterLink, useSearchParams } from "react-router";
import { api, call, unwrap } from "../../api/client";
import { ErrorAlert } from "../../components/ErrorAlert";
import { SortableHead, sortCaption, TableStatusRows, type SortableColumn } from "../../components/SortableTable";
import { visuallyHidden } from "../../components/visuallyHidden";
import { liveQueryDefaults, queryKeys } from "../../live/cache";
import { usePageTitle } from "../../shell/usePageTitle";
import { formatNumber } from "../dashboard/format";
import {
  HEALTHS, KINDS, MODES, PAGE_SIZES, STATUSES, activeFilterCount, apiQuery, exportQuery, filenameOf,
  listStateToParams, nextSort, parseListState, withFilter, type FilterKey, type ListState, type SortField,
} from "./filters";
import { StateChip, formatKw, label, placeOf, useFacilities, useRacks, workRate } from "./parts";

const READINGS_REFRESH_MS = 15_000;

type Column = SortableColumn<SortField>;

const COLUMNS: Column[] = [
  { key: "id", label: "ID", sort: "id" },
  { key: "kind", label: "Kind", sort: "kind" },
  { key: "model", label: "Model", sort: "model" },
  { key: "place", label: "Facility / rack", sort: "facility_id" },
  { key: "status", label: "Status", sort: "status" },
  { key: "health", label: "Health", sort: "health" },
  { key: "mode", label: "Mode", sort: "mode" },
  { key: "power", label: "Power", align: "right" },
  { key: "rate", label: "Hashrate or GPU use", align: "right" },
  { key: "workload", label: "Workload", sort: "workload_id" },
];

function SelectFilter({ name, label: text, value, options, onChange, disabled }: {
  name: FilterKey; label: string; value: string | undefined; disabled?: boolean;
  options: readonly { value: string; label: string }[]; onChange: (key: FilterKey, value: string | undefined) => void;
}) {
  return (
    <TextField select size="small" label={text} value={value ?? ""} disabled={disabled} sx={{ minWidth: 140 }}
      onChange={(e) => onChange(name, e.target.value || undefined)}>
      <MenuItem value="">All</MenuItem>
      {options.map((o) => <MenuItem key={o.value} value={o.value}>{o.label}</MenuItem>)}
    </TextField>
  );
}

const asOptions = (values: readonly string[]) => values.map((v) => ({ value: v, label: label(v) }));

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
      helperText="ID, model, address, serial, workload" onChange={(e) => setText(e.target.value)}
      slotProps={{ htmlInput: { maxLength: 100 } }} />
  );
}

async function downloadCsv(state: ListState): Promise<void> {
  const r = await api.GET("/api/v1/resources/export.csv", { params: { query: exportQuery(state) }, parseAs: "blob" });
  const blob = unwrap(r) as Blob;
  const name = filenameOf(r.response.headers.get("content-disposition"), "hcp-resources.csv");
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export default function ResourcesPage() {
  usePageTitle("Resources");
  const [searchParams, setSearchParams] = useSearchParams();
  const state = useMemo(() => parseListState(searchParams), [searchParams]);
  const update = (next: ListState) => setSearchParams(listStateToParams(next));
  const setFilter = (key: FilterKey, value: string | undefined) => update(withFilter(state, key, value));
  // The search box's debounced callback keeps one identity and reaches the latest state.
  const setFilterRef = useRef(setFilter);
  setFilterRef.current = setFilter;
  const query = apiQuery(state);
  const units = useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.units(query),
    queryFn: () => call(api.GET("/api/v1/resources", { params: { query } })),
    placeholderData: keepPreviousData,
    refetchInterval: READINGS_REFRESH_MS,
    staleTime: 5_000,
  });
  const facilities = useFacilities();
  const racks = useRacks(state.filters.facility_id);
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

  const total = units.data?.total;
  const rows = units.data?.items ?? [];
  const filtered = activeFilterCount(state) > 0;
  const onSearch = useCallback((v: string | undefined) => setFilterRef.current("q", v), []);

  return (
    <Box>
      <Stack direction="row" spacing={2} sx={{ alignItems: "center", flexWrap: "wrap", mb: 2 }}>
        <Typography variant="h4" component="h1">Resources</Typography>
        <Typography role="status" variant="body1" sx={{ color: "text.secondary" }} data-testid="units-total">
          {total === undefined ? "Counting units…" : `${formatNumber(total)} ${total === 1 ? "unit" : "units"}${filtered ? " match" : ""}`}
        </Typography>
        <Box sx={{ ml: "auto" }}>
          <Button variant="outlined" startIcon={<Download />} onClick={() => void onExport()} disabled={exporting}>
            {exporting ? "Exporting…" : "Export CSV"}
          </Button>
        </Box>
      </Stack>

      <Paper component="form" role="search" aria-label="Filter units" variant="outlined" sx={{ p: 2, mb: 2 }}
        onSubmit={(e) => e.preventDefault()}>
        <Stack direction="row" spacing={2} useFlexGap sx={{ flexWrap: "wrap", alignItems: "flex-start" }}>
          <SearchField value={state.filters.q} onChange={onSearch} />
          <SelectFilter name="kind" label="Kind" value={state.filters.kind} onChange={setFilter}
            options={KINDS.map((k) => ({ value: k, label: k === "asic" ? "Miner (ASIC)" : "GPU" }))} />
          <SelectFilter name="facility_id" label="Facility" value={state.filters.facility_id} onChange={setFilter}
            options={(facilities.data?.items ?? []).map((f) => ({ value: f.id, label: f.name }))
              .concat(state.filters.facility_id && !facilities.data?.items.some((f) => f.id === state.filters.facility_id)
                ? [{ value: state.filters.facility_id, label: state.filters.facility_id }] : [])} />
          <SelectFilter name="rack_id" label="Rack" value={state.filters.rack_id} onChange={setFilter}
            disabled={!state.filters.facility_id}
            options={(racks.data?.items ?? []).map((r) => ({ value: r.id, label: r.name }))
              .concat(state.filters.rack_id && !racks.data?.items.some((r) => r.id === state.filters.rack_id)
                ? [{ value: state.filters.rack_id, label: state.filters.rack_id }] : [])} />
          <SelectFilter name="status" label="Status" value={state.filters.status} onChange={setFilter} options={asOptions(STATUSES)} />
          <SelectFilter name="health" label="Health" value={state.filters.health} onChange={setFilter} options={asOptions(HEALTHS)} />
          <SelectFilter name="mode" label="Mode" value={state.filters.mode} onChange={setFilter} options={asOptions(MODES)} />
          <TextField size="small" label="Model" value={state.filters.model ?? ""} sx={{ minWidth: 160 }}
            helperText="Exact, e.g. Antminer S21"
            onChange={(e) => setFilter("model", e.target.value || undefined)} slotProps={{ htmlInput: { maxLength: 100 } }} />
          {filtered ? (
            <Button onClick={() => update({ ...state, filters: {}, page: 0 })} sx={{ mt: 0.5 }}>Clear filters</Button>
          ) : null}
        </Stack>
      </Paper>

      <ErrorAlert error={exportError} title="Could not export the units" sx={{ mb: 2 }} />
      <ErrorAlert error={units.error} title="Could not load the units" onRetry={() => void units.refetch()} sx={{ mb: 2 }} />

      <Paper variant="outlined">
        <TableContainer>
          <Table size="small" aria-label="Units">
            <caption style={visuallyHidden}>
              Units{sortCaption(COLUMNS, state.sort)}
            </caption>
            <SortableHead columns={COLUMNS} sort={state.sort} onSort={(field) => update(nextSort(state, field))} />
            <TableBody>
              {units.isPending || rows.length === 0 ? (
                <TableStatusRows loading={units.isPending} colSpan={COLUMNS.length} loadingLabel="Loading units…"
                  emptyText={filtered ? "No units match these filters." : "No units are registered yet."} />
              ) : (
                rows.map((u) => (
                  <TableRow key={u.id} hover>
                    <TableCell component="th" scope="row">
                      <Link component={RouterLink} to={`/app/resources/${encodeURIComponent(u.id)}`}
                        state={{ from: searchParams.toString() }}>
                        {u.id}
                      </Link>
                    </TableCell>
                    <TableCell>{u.kind === "asic" ? "ASIC" : "GPU"}</TableCell>
                    <TableCell>{u.model}</TableCell>
                    <TableCell>{placeOf(u)}</TableCell>
                    <TableCell><StateChip kind="status" value={u.status} /></TableCell>
                    <TableCell><StateChip kind="health" value={u.health} /></TableCell>
                    <TableCell><StateChip kind="mode" value={u.mode} /></TableCell>
                    <TableCell align="right">{formatKw(u.reading.power_w)}</TableCell>
                    <TableCell align="right">{workRate(u)}</TableCell>
                    <TableCell>{u.workload_id ?? "—"}</TableCell>
                  </TableRow>
                ))
              )}
            </TableBody>
          </Table>
        </TableContainer>
        <TablePagination component="div" count={total ?? 0} page={Math.min(state.page, Math.max(0, Math.ceil((total ?? 0) / state.pageSize) - 1))}
          rowsPerPage={state.pageSize} rowsPerPageOptions={[...PAGE_SIZES]}
          onPageChange={(_, page) => update({ ...state, page })}
          onRowsPerPageChange={(e) => update({ ...state, pageSize: Number(e.target.value), page: 0 })} />
      </Paper>
    </Box>
  );
}
