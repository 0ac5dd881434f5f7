// Administration > Audit log: who did what to which object, newest first, filtered by actor,
// action and time range (all in the URL), paged; the hash chain's verification (as `hcp audit
// verify`), and the filtered log as CSV.
import Alert from "@mui/material/Alert";
import AlertTitle from "@mui/material/AlertTitle";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import TableCell from "@mui/material/TableCell";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import Download from "@mui/icons-material/DownloadOutlined";
import { useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { ErrorAlert } from "../../components/ErrorAlert";
import { formatNumber } from "../dashboard/format";
import { usePageTitle } from "../../shell/usePageTitle";
import { AdminTable } from "./AdminTable";
import { formatTimestamp } from "./format";
import {
  downloadAuditCsv, useAudit, useAuditVerification, useTenantNames, type AuditEntry, type AuditFilters, type AuditVerification,
} from "./queries";
import { fromLocalInput, pageQuery, readInstant, readPaging, readText, toLocalInput, withParams } from "./urlState";

/** Actions the platform records, offered as suggestions (any action can be typed). */
export const KNOWN_ACTIONS = [
  "auth.login", "auth.login_failed", "auth.logout", "auth.refresh_reused", "user.created", "user.role_changed",
  "user.tenant_changed", "user.disabled", "user.enabled", "user.password_changed", "user.password_reset",
  "tenant.created", "api_key.created", "api_key.revoked", "billing.budget.set", "workload.cancel",
] as const;

/** The audit filters the URL holds (`actor`, `action`, `from`, `to`), as the API names them. */
export function auditFiltersOf(sp: URLSearchParams): AuditFilters {
  return {
    actor_email: readText(sp, "actor", 320),
    action: readText(sp, "action", 64),
    from: readInstant(sp, "from"),
    to: readInstant(sp, "to"),
  };
}

export function describeVerification(v: AuditVerification): string {
  if (v.ok) return `Intact: ${formatNumber(v.checked)} ${v.checked === 1 ? "entry" : "entries"} checked, each following the one before it.`;
  const b = v.broken;
  return `Broken at entry #${b?.seq ?? "?"} (${b?.id ?? "?"}): ${b?.reason ?? "unknown reason"}. ` +
    `The ${formatNumber(v.checked)} ${v.checked === 1 ? "entry" : "entries"} before it are intact.`;
}

function object(e: AuditEntry): string {
  return e.object_id ? `${e.object_type} ${e.object_id}` : e.object_type;
}

function details(e: AuditEntry): string {
  const keys = Object.keys(e.details);
  return keys.length === 0 ? "" : JSON.stringify(e.details);
}

function Verification() {
  const v = useAuditVerification();
  return (
    <Paper component="section" aria-labelledby="audit-verify-title" variant="outlined" sx={{ p: 2 }}>
      <Stack direction="row" spacing={2} sx={{ alignItems: "center", mb: 1 }}>
        <Typography id="audit-verify-title" variant="h6" component="h2">Chain verification</Typography>
        <Button size="small" sx={{ ml: "auto" }} onClick={() => void v.refetch()} disabled={v.isFetching}>
          Verify again
        </Button>
      </Stack>
      {v.isPending || (v.isFetching && !v.data) ? (
        <Typography role="status">Checking the chain…</Typography>
      ) : v.error ? (
        <ErrorAlert error={v.error} title="Could not verify the chain" />
      ) : v.data ? (
        <Alert severity={v.data.ok ? "success" : "error"} role={v.data.ok ? "status" : "alert"}>
          <AlertTitle>{v.data.ok ? "The audit log is intact" : "The audit log has been tampered with"}</AlertTitle>
          {describeVerification(v.data)}
          {v.data.ok ? <Box component="span" sx={{ display: "block", mt: 0.5 }}>Head <code>{v.data.head.slice(0, 16)}</code></Box> : null}
        </Alert>
      ) : null}
    </Paper>
  );
}

function Filters({ filters }: { filters: AuditFilters }) {
  const [sp, setSp] = useSearchParams();
  const [actor, setActor] = useState(filters.actor_email ?? "");
  const [action, setAction] = useState(filters.action ?? "");
  const [from, setFrom] = useState(toLocalInput(filters.from));
  const [to, setTo] = useState(toLocalInput(filters.to));
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setSp(withParams(sp, { actor: actor.trim(), action: action.trim(), from: fromLocalInput(from), to: fromLocalInput(to) }));
  };
  const clear = () => {
    setActor(""); setAction(""); setFrom(""); setTo("");
    setSp(withParams(sp, { actor: null, action: null, from: null, to: null }));
  };
  return (
    <Box component="form" aria-label="Filter the audit log" onSubmit={apply}>
      <Stack direction={{ xs: "column", md: "row" }} spacing={2} sx={{ alignItems: { md: "flex-start" } }}>
        <TextField label="Actor e-mail" size="small" value={actor} onChange={(e) => setActor(e.target.value)} type="email" />
        <TextField label="Action" size="small" value={action} onChange={(e) => setAction(e.target.value)}
          slotProps={{ htmlInput: { list: "audit-actions" } }} helperText="e.g. user.created" />
        <datalist id="audit-actions">{KNOWN_ACTIONS.map((a) => <option key={a} value={a} />)}</datalist>
        <TextField label="From" size="small" type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)}
          slotProps={{ inputLabel: { shrink: true } }} />
        <TextField label="To" size="small" type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)}
          slotProps={{ inputLabel: { shrink: true } }} helperText="Your time zone" />
        <Stack direction="row" spacing={1}>
          <Button type="submit" variant="contained">Apply filters</Button>
          <Button onClick={clear}>Clear</Button>
        </Stack>
      </Stack>
    </Box>
  );
}

export default function AuditPage() {
  usePageTitle("Audit log");
  const [sp] = useSearchParams();
  const filters = auditFiltersOf(sp);
  const audit = useAudit({ ...filters, ...pageQuery(readPaging(sp)) });
  const tenants = useTenantNames();
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<unknown>(null);
  const exportCsv = () => {
    setExporting(true);
    setExportError(null);
    downloadAuditCsv(filters).catch(setExportError).finally(() => setExporting(false));
  };
  const filterKey = [filters.actor_email, filters.action, filters.from, filters.to].join("|");

  const rows = audit.data?.items.map((e) => (
    <TableRow key={e.id} hover>
      <TableCell sx={{ whiteSpace: "nowrap" }}><time dateTime={e.ts}>{formatTimestamp(e.ts)}</time></TableCell>
      <TableCell>{e.actor_email ?? "System"}{e.api_key_id ? " (API key)" : ""}</TableCell>
      <TableCell><code>{e.action}</code></TableCell>
      <TableCell>{object(e)}</TableCell>
      <TableCell>{e.tenant_id ? (tenants.get(e.tenant_id) ?? e.tenant_id) : "—"}</TableCell>
      <TableCell>{e.address ?? "—"}</TableCell>
      <TableCell sx={{ wordBreak: "break-word", maxWidth: 360, fontFamily: "monospace", fontSize: "0.8rem" }}>{details(e)}</TableCell>
    </TableRow>
  ));
  return (
    <Stack spacing={2}>
      <Stack direction="row" spacing={2} sx={{ alignItems: "center", flexWrap: "wrap" }}>
        <Typography variant="h4" component="h1">Audit log</Typography>
        <Button variant="outlined" startIcon={<Download />} sx={{ ml: "auto" }} onClick={exportCsv} disabled={exporting}>
          {exporting ? "Exporting…" : "Export CSV"}
        </Button>
      </Stack>
      <Typography sx={{ color: "text.secondary" }}>
        Every sign-in, change of users, customers, keys and budgets, and cancellation, newest first. Each entry is
        chained to the one before it by its hash, so an edited, removed or reordered entry shows below.
      </Typography>
      <ErrorAlert error={exportError} title="Could not export the audit log" />
      <Verification />
      <Filters key={filterKey} filters={filters} />
      {audit.error && audit.data ? <ErrorAlert error={audit.error} /> : null}
      <AdminTable label="Audit log" columns={["Time", "Actor", "Action", "Object", "Customer", "Address", "Details"]}
        rows={rows} error={audit.error} onRetry={() => void audit.refetch()} total={audit.data?.total}
        stale={audit.isPlaceholderData} empty="No entry matches these filters." />
    </Stack>
  );
}
