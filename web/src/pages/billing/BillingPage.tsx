// Billing (admin): the operator's revenue by month (AI and mining) and by customer, as charts with
// their text alternatives; every customer's invoices, filtered by customer, status and period
// (the URL holds them) and paged by the server, each with the moves its state allows behind a
// confirmation, its detail and PDF; the filtered invoices as CSV; the rate card.
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Grid from "@mui/material/Grid";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import Download from "@mui/icons-material/DownloadOutlined";
import { lazy, Suspense, useState, type ReactNode } from "react";
import { useSearchParams } from "react-router";
import { ErrorAlert } from "../../components/ErrorAlert";
import { StatCard } from "../../components/StatCard";
import { usePageTitle } from "../../shell/usePageTitle";
import { formatUsd } from "../dashboard/format";
import { AdminTable } from "../admin/AdminTable";
import { ConfirmDialog } from "../admin/ConfirmDialog";
import { formatDate } from "../admin/format";
import { useTenants } from "../admin/queries";
import { pageQuery, readPaging, withParams } from "../admin/urlState";
import { InvoiceDialog } from "./InvoiceDialog";
import {
  ACTION_TEXT, STATUSES, STATUS_LABELS, actionsFor, currentMonth, describeCustomers, describeMonths, invoiceFiltersOf,
  monthLabel, recentMonths, revenueMonthOf,
} from "./model";
import {
  downloadInvoicesCsv, useInvoiceAction, useInvoices, useRates, useRevenue, type InvoiceAction, type InvoiceSummary,
  type RevenueReport,
} from "./queries";

const MonthsChart = lazy(() => import("./RevenueCharts").then((m) => ({ default: m.MonthsChart })));
const CustomersChart = lazy(() => import("./RevenueCharts").then((m) => ({ default: m.CustomersChart })));
const CHART_HEIGHT = 260;

function ChartLoading() {
  return (
    <Box role="status" aria-busy="true" aria-label="Loading the chart">
      <Skeleton variant="rectangular" height={CHART_HEIGHT} />
    </Box>
  );
}

/** A chart as a figure: its title, the (decorative) chart and its text alternative as the caption. */
function ChartFigure({ id, title, pending, chart, caption }: { id: string; title: string; pending: boolean; chart: ReactNode; caption: string }) {
  return (
    <Paper component="figure" variant="outlined" aria-labelledby={id} sx={{ m: 0, p: 2, height: "100%" }}>
      <Typography id={id} variant="h6" component="h2">{title}</Typography>
      {pending ? <ChartLoading /> : (
        <Suspense fallback={<ChartLoading />}>
          <Box aria-hidden="true">{chart}</Box>
        </Suspense>
      )}
      <Typography component="figcaption" variant="body2" sx={{ color: "text.secondary", mt: 1 }}>{caption}</Typography>
    </Paper>
  );
}

function Revenue({ month }: { month: string | undefined }) {
  const [sp, setSp] = useSearchParams();
  const revenue = useRevenue(month);
  const r: RevenueReport | undefined = revenue.data;
  const shown = r?.month ?? month ?? currentMonth();
  const months = recentMonths(currentMonth(), 24);
  if (!months.includes(shown)) months.unshift(shown);
  const value = (f: (x: RevenueReport) => string) => (r ? f(r) : undefined);
  return (
    <Stack component="section" aria-labelledby="revenue-title" spacing={2}>
      <Stack direction="row" spacing={2} sx={{ alignItems: "center", flexWrap: "wrap" }}>
        <Typography id="revenue-title" variant="h5" component="h2">Revenue</Typography>
        <TextField select label="Month" size="small" value={shown} sx={{ minWidth: 160, ml: "auto" }}
          onChange={(e) => setSp(withParams(sp, { month: e.target.value === currentMonth() ? null : e.target.value }), { replace: true })}
          slotProps={{ select: { native: true }, inputLabel: { shrink: true } }}>
          {months.map((m) => <option key={m} value={m}>{monthLabel(m)}</option>)}
        </TextField>
      </Stack>
      {revenue.error ? <ErrorAlert error={revenue.error} title="Could not load the revenue" onRetry={() => void revenue.refetch()} /> : null}
      <Grid container spacing={2}>
        <Grid size={{ xs: 12, sm: 6, lg: 3 }}>
          <StatCard label="Total revenue" value={value((x) => formatUsd(x.revenue_usd))} hint={monthLabel(shown)} />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: 3 }}>
          <StatCard label="AI revenue" value={value((x) => formatUsd(x.by_source.ai_usd))} hint="Metered GPU time" />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: 3 }}>
          <StatCard label="Mining revenue" value={value((x) => formatUsd(x.by_source.mining_usd))}
            hint={r ? `${Number(r.mining.btc).toLocaleString("en-US", { maximumFractionDigits: 4 })} BTC` : undefined} />
        </Grid>
        <Grid size={{ xs: 12, sm: 6, lg: 3 }}>
          <StatCard label="Margin" value={value((x) => formatUsd(x.margin_usd))}
            hint={r ? `After ${formatUsd(r.energy_cost_usd)} of energy${r.margin_pct === null ? "" : ` (${r.margin_pct} %)`}` : undefined} />
        </Grid>
        <Grid size={{ xs: 12, lg: 7 }}>
          <ChartFigure id="revenue-months-title" title="Revenue by month" pending={!r}
            chart={r ? <MonthsChart months={r.by_month} height={CHART_HEIGHT} /> : null}
            caption={r ? describeMonths(r.by_month) : "Loading the revenue by month…"} />
        </Grid>
        <Grid size={{ xs: 12, lg: 5 }}>
          <ChartFigure id="revenue-customers-title" title="AI revenue by customer" pending={!r}
            chart={r ? <CustomersChart customers={r.by_customer} height={CHART_HEIGHT} /> : null}
            caption={r ? describeCustomers(r.by_customer, r.month) : "Loading the revenue by customer…"} />
        </Grid>
      </Grid>
    </Stack>
  );
}

function Rates() {
  const rates = useRates();
  const card = rates.data;
  return (
    <Paper component="section" aria-labelledby="rates-title" variant="outlined" sx={{ p: 2 }}>
      <Typography id="rates-title" variant="h6" component="h2" sx={{ mb: 1 }}>Rate card</Typography>
      {rates.error ? <ErrorAlert error={rates.error} title="Could not load the rate card" onRetry={() => void rates.refetch()} /> : !card ? (
        <Box role="status" aria-label="Loading the rate card"><Skeleton /><Skeleton /></Box>
      ) : (
        <Stack direction={{ xs: "column", md: "row" }} spacing={4}>
          <Table size="small" aria-label="Rates per GPU-hour" sx={{ maxWidth: 360 }}>
            <TableHead><TableRow><TableCell component="th" scope="col">GPU model</TableCell><TableCell component="th" scope="col" align="right">USD per GPU-hour</TableCell></TableRow></TableHead>
            <TableBody>
              {card.rates.map((rate) => (
                <TableRow key={rate.gpu_model}>
                  <TableCell component="th" scope="row">{rate.gpu_model}</TableCell>
                  <TableCell align="right">{formatUsd(rate.rate_usd_per_gpu_hour, 3)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
          <Table size="small" aria-label="Priority multipliers" sx={{ maxWidth: 360 }}>
            <TableHead><TableRow><TableCell component="th" scope="col">Priority</TableCell><TableCell component="th" scope="col" align="right">Multiplier</TableCell></TableRow></TableHead>
            <TableBody>
              {card.priority_multipliers.map((p) => (
                <TableRow key={p.priority}>
                  <TableCell component="th" scope="row">{p.priority}</TableCell>
                  <TableCell align="right">× {p.multiplier}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
          <Typography>
            Tax {(Number(card.tax_rate) * 100).toLocaleString("en-US", { maximumFractionDigits: 3 })} % on the subtotal; prices in {card.currency}.
          </Typography>
        </Stack>
      )}
    </Paper>
  );
}

interface Pending {
  invoice: InvoiceSummary;
  action: InvoiceAction;
}

function Invoices() {
  const [sp, setSp] = useSearchParams();
  const filters = invoiceFiltersOf(sp);
  const invoices = useInvoices({ ...filters, ...pageQuery(readPaging(sp)) });
  const tenants = useTenants();
  const names = new Map((tenants.data?.items ?? []).map((t) => [t.id, t.name]));
  const nameOf = (id: string) => names.get(id) ?? id;
  const action = useInvoiceAction();
  const [pending, setPending] = useState<Pending | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<unknown>(null);
  const openId = sp.get("invoice") ?? undefined;
  const periods = recentMonths(currentMonth(), 24);
  if (filters.period && !periods.includes(filters.period)) periods.unshift(filters.period);

  const set = (changes: Record<string, string | null>) => setSp(withParams(sp, changes));
  const open = (id: string | null) => setSp((prev) => {
    const next = new URLSearchParams(prev);
    if (id) next.set("invoice", id); else next.delete("invoice");
    return next;
  });
  const ask = (invoice: InvoiceSummary, a: InvoiceAction) => {
    action.reset();
    setDone(null);
    setPending({ invoice, action: a });
  };
  const confirm = () => {
    if (!pending) return;
    const { invoice, action: a } = pending;
    action.mutate({ id: invoice.id, action: a }, {
      onSuccess: (result) => {
        setPending(null);
        setDone(a === "correct"
          ? `Invoice ${invoice.number} voided; ${result.number} issued in its place.`
          : `Invoice ${invoice.number} is now ${STATUS_LABELS[result.status].toLowerCase()}.`);
        if (a === "correct" && openId === invoice.id) open(result.id);
      },
    });
  };
  const exportCsv = () => {
    setExporting(true);
    setExportError(null);
    downloadInvoicesCsv(filters).catch(setExportError).finally(() => setExporting(false));
  };

  const rows = invoices.data?.items.map((i) => (
    <TableRow key={i.id} hover>
      <TableCell component="th" scope="row">
        <Button size="small" onClick={() => open(i.id)} sx={{ textTransform: "none", fontFamily: "monospace" }}>{i.number}</Button>
      </TableCell>
      <TableCell>{nameOf(i.tenant_id)}</TableCell>
      <TableCell>{monthLabel(i.period)}</TableCell>
      <TableCell>{i.kind === "correction" ? "Correction" : i.kind === "monthly" ? "Monthly" : "On demand"}</TableCell>
      <TableCell>{STATUS_LABELS[i.status]}</TableCell>
      <TableCell align="right">{formatUsd(i.total_usd)}</TableCell>
      <TableCell>{formatDate(i.issued_at)}</TableCell>
      <TableCell>
        <Stack direction="row" spacing={1}>
          {actionsFor(i.status).map((a) => (
            <Button key={a} size="small" color={a === "issue" ? "primary" : "error"} aria-label={`${ACTION_TEXT[a].label} ${i.number}`}
              onClick={() => ask(i, a)}>
              {ACTION_TEXT[a].label}
            </Button>
          ))}
        </Stack>
      </TableCell>
    </TableRow>
  ));
  const initial = invoices.data?.items.find((i) => i.id === openId);
  return (
    <Stack component="section" aria-labelledby="invoices-title" spacing={2}>
      <Stack direction="row" spacing={2} sx={{ alignItems: "center", flexWrap: "wrap" }}>
        <Typography id="invoices-title" variant="h5" component="h2">Invoices</Typography>
        <Button variant="outlined" startIcon={<Download />} sx={{ ml: "auto" }} onClick={exportCsv} disabled={exporting}>
          {exporting ? "Exporting…" : "Export CSV"}
        </Button>
      </Stack>
      <ErrorAlert error={exportError} title="Could not export the invoices" />
      <Stack direction={{ xs: "column", sm: "row" }} spacing={2} component="form" aria-label="Filter invoices"
        onSubmit={(e) => e.preventDefault()}>
        <TextField select label="Customer" size="small" value={filters.tenant_id ?? ""} sx={{ minWidth: 220 }}
          onChange={(e) => set({ customer: e.target.value })}
          slotProps={{ select: { native: true }, inputLabel: { shrink: true } }}>
          <option value="">All customers</option>
          {(tenants.data?.items ?? []).map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
        </TextField>
        <TextField select label="Status" size="small" value={filters.status ?? ""} sx={{ minWidth: 160 }}
          onChange={(e) => set({ status: e.target.value })}
          slotProps={{ select: { native: true }, inputLabel: { shrink: true } }}>
          <option value="">All statuses</option>
          {STATUSES.map((s) => <option key={s} value={s}>{STATUS_LABELS[s]}</option>)}
        </TextField>
        <TextField select label="Period" size="small" value={filters.period ?? ""} sx={{ minWidth: 160 }}
          onChange={(e) => set({ period: e.target.value })}
          slotProps={{ select: { native: true }, inputLabel: { shrink: true } }}>
          <option value="">All periods</option>
          {periods.map((m) => <option key={m} value={m}>{monthLabel(m)}</option>)}
        </TextField>
      </Stack>
      {done ? <Typography role="status" sx={{ color: "success.main" }}>{done}</Typography> : null}
      {invoices.error && invoices.data ? <ErrorAlert error={invoices.error} /> : null}
      <AdminTable label="Invoices" columns={["Number", "Customer", "Period", "Kind", "Status", "Total", "Issued", "Actions"]}
        rows={rows} error={invoices.error} onRetry={() => void invoices.refetch()} total={invoices.data?.total}
        stale={invoices.isPlaceholderData} empty="No invoice matches these filters." />
      <InvoiceDialog id={openId} initial={initial} customerName={nameOf} onAction={ask} onClose={() => open(null)} />
      <ConfirmDialog
        open={pending !== null}
        title={pending ? ACTION_TEXT[pending.action].title(pending.invoice.number) : ""}
        confirmLabel={pending ? ACTION_TEXT[pending.action].confirm : ""}
        pending={action.isPending}
        error={action.error}
        onClose={() => setPending(null)}
        onConfirm={confirm}
      >
        {pending ? (
          <>
            {nameOf(pending.invoice.tenant_id)}, {monthLabel(pending.invoice.period)}, {formatUsd(pending.invoice.total_usd)}.{" "}
            {ACTION_TEXT[pending.action].consequence}
          </>
        ) : null}
      </ConfirmDialog>
    </Stack>
  );
}

export default function BillingPage() {
  usePageTitle("Billing");
  const [sp] = useSearchParams();
  return (
    <Stack spacing={3}>
      <Box>
        <Typography variant="h4" component="h1">Billing</Typography>
        <Typography sx={{ color: "text.secondary", mt: 1 }}>
          What the platform earns from customers' GPU time and from mining, every customer's invoices, and the rates they
          are billed at.
        </Typography>
      </Box>
      <Revenue month={revenueMonthOf(sp)} />
      <Invoices />
      <Rates />
    </Stack>
  );
}
