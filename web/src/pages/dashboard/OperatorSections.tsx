// The operations dashboard's sections below the headline figures: power per facility against its
// cap (with demand-response windows), the fleet by mode, GPUs by model, prices, open alerts by
// severity, active work per customer and (admins) revenue this month. Each is a `section` named by
// its heading, shows a skeleton while its data loads and its own error if that fails.
import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import LinearProgress from "@mui/material/LinearProgress";
import Link from "@mui/material/Link";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import { useId, type ReactNode } from "react";
import { Link as RouterLink } from "react-router";
import { ErrorAlert } from "../../components/ErrorAlert";
import { formatClock, formatDateTime, formatNumber, formatPercent, formatPower, formatUsd } from "./format";
import type { CustomerWork, FacilityPower, ModeSplit } from "./kpis";
import type { AlertSummary, Capacity, Prices, Revenue, Tenant } from "./queries";

export function Section({ title, children, action }: { title: string; children: ReactNode; action?: ReactNode }) {
  const id = useId();
  return (
    <Paper component="section" variant="outlined" aria-labelledby={id} sx={{ p: 2, height: "100%" }}>
      <Stack direction="row" spacing={1} sx={{ alignItems: "baseline", mb: 1, flexWrap: "wrap" }}>
        <Typography id={id} variant="h6" component="h2">{title}</Typography>
        {action ? <Box sx={{ ml: "auto" }}>{action}</Box> : null}
      </Stack>
      {children}
    </Paper>
  );
}

/** A small table; its container is focusable so that, wider than the screen, it scrolls by keyboard. */
function ScrollTable({ label, children }: { label: string; children: ReactNode }) {
  return (
    <TableContainer tabIndex={0} role="group" aria-label={`${label}, scrollable`}>
      <Table size="small" aria-label={label}>{children}</Table>
    </TableContainer>
  );
}

function Loading({ what }: { what: string }) {
  return (
    <Box role="status" aria-label={`Loading ${what}`}>
      <Skeleton variant="text" /><Skeleton variant="text" /><Skeleton variant="text" />
    </Box>
  );
}

interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  onRetry: () => void;
}

/** The section's body: the error (when nothing was loaded), a skeleton, or `render(data)`. */
function Body<T>({ q, what, render }: { q: Loaded<T>; what: string; render: (data: T) => ReactNode }) {
  if (q.data !== undefined) return <>{render(q.data)}</>;
  if (q.error) return <ErrorAlert error={q.error} title={`Could not load ${what}`} onRetry={q.onRetry} />;
  return <Loading what={what} />;
}

/** Figures as a description list: a term and its value per row. */
function Figures({ rows, label }: { rows: readonly { term: ReactNode; value: ReactNode; key: string }[]; label?: string }) {
  return (
    <Box component="dl" aria-label={label} sx={{ m: 0, display: "grid", gridTemplateColumns: "auto 1fr", columnGap: 2, rowGap: 0.5 }}>
      {rows.map((r) => (
        <Box key={r.key} sx={{ display: "contents" }}>
          <Typography component="dt" variant="body2" sx={{ color: "text.secondary" }}>{r.term}</Typography>
          <Typography component="dd" variant="body2" sx={{ m: 0, fontWeight: 600, textAlign: "right", fontVariantNumeric: "tabular-nums" }}>
            {r.value}
          </Typography>
        </Box>
      ))}
    </Box>
  );
}

// --- power per facility ------------------------------------------------------------------------
function usageColor(used: number | null): "primary" | "warning" | "error" {
  if (used === null) return "primary";
  return used >= 1 ? "error" : used >= 0.9 ? "warning" : "primary";
}

function DemandResponse({ f }: { f: FacilityPower }) {
  const next = f.upcoming[0];
  return (
    <Stack spacing={0.5} sx={{ alignItems: "flex-start" }}>
      {f.active ? (
        <Chip size="small" color="warning"
          label={`Now: ${formatPower(f.active.power_cap_kw * 1000)} until ${formatDateTime(f.active.ends_at)}`} />
      ) : null}
      {next ? (
        <Typography variant="body2">
          Next: {formatPower(next.power_cap_kw * 1000)}, {formatDateTime(next.starts_at)} – {formatDateTime(next.ends_at)}
          {f.upcoming.length > 1 ? ` (+${f.upcoming.length - 1} more)` : ""}
        </Typography>
      ) : null}
      {!f.active && !next ? <Typography variant="body2" sx={{ color: "text.secondary" }}>None scheduled</Typography> : null}
      {f.active?.reason ? <Typography variant="caption" sx={{ color: "text.secondary" }}>{f.active.reason}</Typography> : null}
    </Stack>
  );
}

export function PowerByFacility({ q }: { q: Loaded<FacilityPower[]> }) {
  return (
    <Section title="Power by facility">
      <Body q={q} what="the facilities' power" render={(rows) => (
        <ScrollTable label="Each facility's draw against its power cap">
            <TableHead>
              <TableRow>
                <TableCell>Facility</TableCell>
                <TableCell align="right">Draw</TableCell>
                <TableCell align="right">Cap</TableCell>
                <TableCell sx={{ minWidth: 120 }}>Of the cap</TableCell>
                <TableCell align="right">Planned</TableCell>
                <TableCell align="right">Electricity</TableCell>
                <TableCell>Demand response</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {rows.length === 0 ? (
                <TableRow><TableCell colSpan={7}>No facilities yet.</TableCell></TableRow>
              ) : rows.map((f) => (
                <TableRow key={f.id}>
                  <TableCell component="th" scope="row">
                    {f.name}
                    <Typography variant="caption" component="div" sx={{ color: "text.secondary" }}>{f.marketNode}</Typography>
                  </TableCell>
                  <TableCell align="right">{formatPower(f.drawW)}</TableCell>
                  <TableCell align="right">
                    {formatPower(f.capKw * 1000)}
                    {f.capKw < f.nominalCapKw ? (
                      <Typography variant="caption" component="div" sx={{ color: "text.secondary" }}>
                        of {formatPower(f.nominalCapKw * 1000)}
                      </Typography>
                    ) : null}
                  </TableCell>
                  <TableCell>
                    <Stack direction="row" spacing={1} sx={{ alignItems: "center" }}>
                      <LinearProgress variant="determinate" color={usageColor(f.used)}
                        value={f.used === null ? 0 : Math.min(100, f.used * 100)}
                        aria-label={`${f.name}: share of the cap drawn`} sx={{ flexGrow: 1, minWidth: 48 }} />
                      <Typography variant="body2" sx={{ minWidth: 40, textAlign: "right" }}>{formatPercent(f.used)}</Typography>
                    </Stack>
                  </TableCell>
                  <TableCell align="right">{f.plannedKw === null ? "—" : formatPower(f.plannedKw * 1000)}</TableCell>
                  <TableCell align="right">
                    {f.electricityUsdPerMwh === null ? "—" : `${formatUsd(f.electricityUsdPerMwh)}/MWh`}
                  </TableCell>
                  <TableCell><DemandResponse f={f} /></TableCell>
                </TableRow>
              ))}
            </TableBody>
          </ScrollTable>
      )} />
    </Section>
  );
}

// --- the fleet by mode ---------------------------------------------------------------------------
const MODE_ROWS: readonly { key: keyof Omit<ModeSplit, "total">; label: string; color: string }[] = [
  { key: "mining", label: "Mining", color: "warning.main" },
  { key: "ai", label: "AI", color: "primary.main" },
  { key: "idle", label: "Idle", color: "grey.500" },
  { key: "curtailed", label: "Curtailed", color: "error.main" },
  { key: "unknown", label: "Not read yet", color: "grey.300" },
];

export function FleetByMode({ q }: { q: Loaded<ModeSplit> }) {
  return (
    <Section title="Fleet by mode">
      <Body q={q} what="the fleet's modes" render={(split) => {
        const rows = MODE_ROWS.filter((r) => r.key !== "unknown" || split.unknown > 0);
        return (
          <>
            {/* the bar repeats the figures below it */}
            <Box aria-hidden="true" sx={{ display: "flex", height: 12, borderRadius: 1, overflow: "hidden", mb: 1.5, bgcolor: "action.hover" }}>
              {rows.map((r) => split.total > 0 && split[r.key] > 0 ? (
                <Box key={r.key} sx={{ width: `${(split[r.key] / split.total) * 100}%`, bgcolor: r.color }} />
              ) : null)}
            </Box>
            <Figures rows={rows.map((r) => ({
              key: r.key,
              term: <><Box component="span" aria-hidden="true" sx={{ display: "inline-block", width: 10, height: 10, borderRadius: "2px", bgcolor: r.color, mr: 1 }} />{r.label}</>,
              value: `${formatNumber(split[r.key])}${split.total > 0 ? ` (${formatPercent(split[r.key] / split.total)})` : ""}`,
            }))} />
            <Typography variant="body2" sx={{ color: "text.secondary", mt: 1 }}>
              {formatNumber(split.total)} units; AI is serving workloads or rented on spot
            </Typography>
          </>
        );
      }} />
    </Section>
  );
}

// --- GPUs by model -------------------------------------------------------------------------------
export function GpusByModel({ q }: { q: Loaded<Capacity> }) {
  return (
    <Section title="GPUs by model">
      <Body q={q} what="the GPUs" render={(capacity) => (
        <ScrollTable label="GPUs busy and free per model">
            <TableHead>
              <TableRow>
                <TableCell>Model</TableCell>
                <TableCell align="right">Busy</TableCell>
                <TableCell align="right">Free</TableCell>
                <TableCell align="right">Online</TableCell>
                <TableCell align="right">Total</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {capacity.total.gpus.length === 0 ? (
                <TableRow><TableCell colSpan={5}>No GPUs in the fleet.</TableCell></TableRow>
              ) : capacity.total.gpus.map((g) => (
                <TableRow key={g.model}>
                  <TableCell component="th" scope="row">{g.model}</TableCell>
                  <TableCell align="right">{formatNumber(g.busy)}</TableCell>
                  <TableCell align="right">{formatNumber(g.free)}</TableCell>
                  <TableCell align="right">{formatNumber(g.online)}</TableCell>
                  <TableCell align="right">{formatNumber(g.total)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </ScrollTable>
      )} />
    </Section>
  );
}

// --- prices --------------------------------------------------------------------------------------
const price = (v: number | null | undefined, unit = "", digits = 2) => (v === null || v === undefined ? "—" : `${formatUsd(v, digits)}${unit}`);

export function MarketPrices({ q }: { q: Loaded<Prices> }) {
  return (
    <Section title="Prices" action={q.data?.stale ? <Chip size="small" color="warning" label="Stale" /> : undefined}>
      <Body q={q} what="the prices" render={(p) => (
        <>
          <Figures label="Prices" rows={[
            { key: "btc", term: "BTC", value: price(p.btc_usd, "", 0) },
            { key: "hashprice", term: "Hashprice", value: price(p.hashprice_usd_per_ph_day, "/PH/day") },
            ...Object.entries(p.electricity_usd_per_mwh).sort(([a], [b]) => a.localeCompare(b)).map(([node, v]) => (
              { key: `e-${node}`, term: `Electricity, ${node}`, value: price(v, "/MWh") })),
            ...Object.entries(p.gpu_spot_usd_per_hour).sort(([a], [b]) => a.localeCompare(b)).map(([model, v]) => (
              { key: `g-${model}`, term: `${model} spot`, value: price(v, "/GPU-h") })),
          ]} />
          <Typography variant="body2" sx={{ color: "text.secondary", mt: 1 }}>
            {p.ts ? <>As of <time dateTime={p.ts}>{formatClock(p.ts)}</time></> : "No prices yet"}
            {p.missing.length > 0 ? ` · missing ${p.missing.join(", ")}` : ""}
          </Typography>
        </>
      )} />
    </Section>
  );
}

// --- alerts --------------------------------------------------------------------------------------
const SEVERITIES = ["critical", "warning", "info"] as const;
const SEVERITY_COLOR = { critical: "error", warning: "warning", info: "info" } as const;

export function alertsLink(severity: (typeof SEVERITIES)[number]): string {
  return `/app/alerts?status=open&severity=${severity}`;
}

export function AlertsBySeverity({ q }: { q: Loaded<AlertSummary> }) {
  return (
    <Section title="Open alerts" action={<Link component={RouterLink} to="/app/alerts?status=open" variant="body2">All open alerts</Link>}>
      <Body q={q} what="the alerts" render={(s) => (
        <Figures label="Open alerts by severity" rows={SEVERITIES.map((sev) => ({
          key: sev,
          term: <Chip size="small" variant="outlined" color={SEVERITY_COLOR[sev]} label={sev[0]!.toUpperCase() + sev.slice(1)} />,
          value: (
            <>
              <Link component={RouterLink} to={alertsLink(sev)} aria-label={`${s.open[sev]} open ${sev} alerts`}>
                {formatNumber(s.open[sev])} open
              </Link>
              {s.acked[sev] > 0 ? (
                <Typography component="span" variant="body2" sx={{ color: "text.secondary", fontWeight: 400 }}>
                  {" "}· {formatNumber(s.acked[sev])} acknowledged
                </Typography>
              ) : null}
            </>
          ),
        }))} />
      )} />
    </Section>
  );
}

// --- active work per customer --------------------------------------------------------------------
export function WorkloadsByCustomer({ q, tenants }: { q: Loaded<{ rows: CustomerWork[]; complete: boolean }>; tenants: readonly Tenant[] | undefined }) {
  const name = (id: string) => tenants?.find((t) => t.id === id)?.name ?? id;
  return (
    <Section title="Active workloads by customer">
      <Body q={q} what="the workloads" render={({ rows, complete }) => (
        <>
          <ScrollTable label="Running and waiting workloads per customer">
              <TableHead>
                <TableRow>
                  <TableCell>Customer</TableCell>
                  <TableCell align="right">Running</TableCell>
                  <TableCell align="right">Waiting</TableCell>
                  <TableCell align="right">GPUs held</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {rows.length === 0 ? (
                  <TableRow><TableCell colSpan={4}>No active workloads.</TableCell></TableRow>
                ) : rows.map((r) => (
                  <TableRow key={r.tenantId}>
                    <TableCell component="th" scope="row">{name(r.tenantId)}</TableCell>
                    <TableCell align="right">{formatNumber(r.running)}</TableCell>
                    <TableCell align="right">{formatNumber(r.waiting)}</TableCell>
                    <TableCell align="right">{formatNumber(r.gpus)}</TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </ScrollTable>
          <Typography variant="body2" sx={{ color: "text.secondary", mt: 1 }}>
            Waiting: queued, scheduled or switching.{complete ? "" : " More than a page of work is active: the counts are the first page's."}
          </Typography>
        </>
      )} />
    </Section>
  );
}

// --- revenue (admin) -----------------------------------------------------------------------------
export const REVENUE_TITLE = "Revenue, month to date";

export function RevenueMonthToDate({ q }: { q: Loaded<Revenue> }) {
  return (
    <Section title={REVENUE_TITLE}>
      <Body q={q} what="the revenue" render={(r) => (
        <>
          <Typography variant="h4" component="p" sx={{ fontWeight: 700 }}>{formatUsd(r.revenue_usd)}</Typography>
          <Typography variant="body2" sx={{ color: "text.secondary", mb: 1 }}>
            {r.month} · AI {formatUsd(r.by_source.ai_usd)} · Mining {formatUsd(r.by_source.mining_usd)} · margin {formatUsd(r.margin_usd)}
            {r.margin_pct === null ? "" : ` (${formatNumber(Number(r.margin_pct), 1)} %)`}
          </Typography>
          <ScrollTable label="AI revenue per customer this month">
              <TableHead>
                <TableRow>
                  <TableCell>Customer</TableCell>
                  <TableCell align="right">GPU-hours</TableCell>
                  <TableCell align="right">Revenue</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {r.by_customer.length === 0 ? (
                  <TableRow><TableCell colSpan={3}>No customer usage metered this month yet.</TableCell></TableRow>
                ) : r.by_customer.map((c) => (
                  <TableRow key={c.tenant_id}>
                    <TableCell component="th" scope="row">{c.name}</TableCell>
                    <TableCell align="right">{formatNumber(Number(c.gpu_hours), 1)}</TableCell>
                    <TableCell align="right">{formatUsd(c.revenue_usd)}</TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </ScrollTable>
        </>
      )} />
    </Section>
  );
}
