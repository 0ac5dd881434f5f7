// Backtest: run the strategies over the shipped (synthetic) price year with the fleet as it stands,
// then compare them in a table and two charts (cumulative profit, power by mode).
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Checkbox from "@mui/material/Checkbox";
import FormControl from "@mui/material/FormControl";
import FormControlLabel from "@mui/material/FormControlLabel";
import FormGroup from "@mui/material/FormGroup";
import FormHelperText from "@mui/material/FormHelperText";
import FormLabel from "@mui/material/FormLabel";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { lazy, Suspense, useState, type FormEvent } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { OtherErrors } from "../admin/FormParts";
import { fieldError } from "../admin/format";
import { formatDateTime, formatNumber, formatUsd } from "../dashboard/format";
import { DEFAULT_BACKTEST, STRATEGIES, STRATEGY_LABELS, backtestBody, type BacktestForm, type Strategy } from "./logic";
import { useBacktest, useBacktestFleet, type BacktestResponse } from "./queries";

const BacktestCharts = lazy(() => import("./BacktestCharts"));
const FIELDS = ["from", "to", "strategies", "threshold_usd_per_mwh", "asic_ramp_s", "gpu_switch_s", "min_dwell_s"];

export function BacktestSection() {
  const fleet = useBacktestFleet();
  const run = useBacktest();
  const [form, setForm] = useState<BacktestForm>(DEFAULT_BACKTEST);
  const set = (k: Exclude<keyof BacktestForm, "strategies">) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [k]: e.target.value }));
  const toggle = (s: Strategy) =>
    setForm((f) => ({ ...f, strategies: f.strategies.includes(s) ? f.strategies.filter((x) => x !== s) : STRATEGIES.filter((x) => x === s || f.strategies.includes(x)) }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (fleet.data) run.mutate(backtestBody(form, fleet.data));
  };
  const err = run.error;
  const units = (fleet.data?.units ?? []).reduce((n, u) => n + (u.count ?? 1), 0);
  return (
    <Box component="section" aria-labelledby="bt-title" sx={{ display: "flex", flexDirection: "column", gap: 2 }}>
      <Typography id="bt-title" variant="h5" component="h2">Backtest</Typography>
      <Typography variant="body2" sx={{ color: "text.secondary" }}>
        Strategies compared over the shipped price year (2026, synthetic: not market data) with the fleet as it stands
        {fleet.data ? ` (${fleet.data.facilities.length} facilities, ${formatNumber(units ?? 0)} units)` : ""}.
      </Typography>
      <ErrorAlert error={fleet.error} title="Could not load the fleet" onRetry={() => void fleet.refetch()} />
      <Paper variant="outlined" sx={{ p: 2 }}>
        <form onSubmit={submit} noValidate aria-labelledby="bt-form-title">
          <Typography id="bt-form-title" variant="h6" component="h3" sx={{ mb: 2 }}>Parameters</Typography>
          <Stack direction={{ xs: "column", md: "row" }} spacing={2} useFlexGap sx={{ flexWrap: "wrap", alignItems: "flex-start" }}>
            <TextField label="From" type="date" value={form.from} onChange={set("from")}
              error={!!fieldError(err, "from")} helperText={fieldError(err, "from")} slotProps={{ inputLabel: { shrink: true } }} />
            <TextField label="To" type="date" value={form.to} onChange={set("to")}
              error={!!fieldError(err, "to")} helperText={fieldError(err, "to")} slotProps={{ inputLabel: { shrink: true } }} />
            <TextField label="Threshold (USD/MWh)" type="number" value={form.threshold} onChange={set("threshold")}
              error={!!fieldError(err, "threshold_usd_per_mwh")}
              helperText={fieldError(err, "threshold_usd_per_mwh") ?? "Price threshold's strike; empty: break-even"} />
            <TextField label="ASIC ramp (s)" type="number" value={form.asic_ramp_s} onChange={set("asic_ramp_s")}
              error={!!fieldError(err, "asic_ramp_s")} helperText={fieldError(err, "asic_ramp_s")} sx={{ width: 140 }} />
            <TextField label="GPU switch (s)" type="number" value={form.gpu_switch_s} onChange={set("gpu_switch_s")}
              error={!!fieldError(err, "gpu_switch_s")} helperText={fieldError(err, "gpu_switch_s")} sx={{ width: 140 }} />
            <TextField label="Minimum dwell (s)" type="number" value={form.min_dwell_s} onChange={set("min_dwell_s")}
              error={!!fieldError(err, "min_dwell_s")} helperText={fieldError(err, "min_dwell_s")} sx={{ width: 160 }} />
          </Stack>
          <FormControl component="fieldset" error={!!fieldError(err, "strategies")} sx={{ mt: 2 }}>
            <FormLabel component="legend">Strategies</FormLabel>
            <FormGroup row>
              {STRATEGIES.map((s) => (
                <FormControlLabel key={s} label={STRATEGY_LABELS[s]}
                  control={<Checkbox checked={form.strategies.includes(s)} onChange={() => toggle(s)} />} />
              ))}
            </FormGroup>
            {fieldError(err, "strategies") ? <FormHelperText>{fieldError(err, "strategies")}</FormHelperText> : null}
          </FormControl>
          <OtherErrors error={err} fields={FIELDS} sx={{ mt: 2 }} />
          <Box sx={{ mt: 2 }}>
            <Button type="submit" variant="contained" disabled={run.isPending}>
              {run.isPending ? "Running…" : "Run backtest"}
            </Button>
          </Box>
        </form>
      </Paper>
      {run.isPending ? <Box role="status" aria-label="Running the backtest"><Skeleton variant="rectangular" height={120} /></Box> : null}
      {run.data && !run.isPending ? <BacktestResult result={run.data} /> : null}
    </Box>
  );
}

export function BacktestResult({ result }: { result: BacktestResponse }) {
  const best = Math.max(...result.strategies.map((s) => s.profit_after_switching_usd));
  return (
    <Box component="section" aria-labelledby="bt-result-title" sx={{ display: "flex", flexDirection: "column", gap: 2 }}>
      <Typography id="bt-result-title" variant="h6" component="h3">
        Result: {formatDateTime(result.period.start)} to {formatDateTime(result.period.end)}
        {` (${formatNumber(result.period.hours)} h, ${formatNumber(result.period.steps)} steps${result.synthetic_prices ? ", synthetic prices" : ""})`}
      </Typography>
      {(result.notes ?? []).map((n) => <Typography key={n} variant="body2">{n}</Typography>)}
      <Paper variant="outlined">
        <TableContainer tabIndex={0} role="group" aria-label="Backtest result, scrollable">
          <Table size="small" aria-label="Backtest result">
            <TableHead>
              <TableRow>
                {["Strategy", "Profit after switching", "Profit", "Switching cost", "Revenue", "Mining", "AI contracted", "Spot", "Energy cost", "Energy", "Peak power", "Curtailed ASIC-hours", "Switches"].map((c, i) => (
                  <TableCell key={c} component="th" scope="col" align={i === 0 ? "left" : "right"}>{c}</TableCell>
                ))}
              </TableRow>
            </TableHead>
            <TableBody>
              {result.strategies.map((s) => (
                <TableRow key={s.strategy} selected={s.profit_after_switching_usd === best}>
                  <TableCell component="th" scope="row">
                    {STRATEGY_LABELS[s.strategy as Strategy] ?? s.strategy}{s.profit_after_switching_usd === best ? " (best)" : ""}
                  </TableCell>
                  <TableCell align="right">{formatUsd(s.profit_after_switching_usd, 0)}</TableCell>
                  <TableCell align="right">{formatUsd(s.profit_usd, 0)}</TableCell>
                  <TableCell align="right">{formatUsd(s.switching_cost_usd, 0)}</TableCell>
                  <TableCell align="right">{formatUsd(s.revenue_usd.total, 0)}</TableCell>
                  <TableCell align="right">{formatUsd(s.revenue_usd.mining, 0)}</TableCell>
                  <TableCell align="right">{formatUsd(s.revenue_usd.ai_contracted, 0)}</TableCell>
                  <TableCell align="right">{formatUsd(s.revenue_usd.spot, 0)}</TableCell>
                  <TableCell align="right">{formatUsd(s.energy_cost_usd, 0)}</TableCell>
                  <TableCell align="right">{formatNumber(s.energy_mwh, 1)} MWh</TableCell>
                  <TableCell align="right">{formatNumber(s.peak_power_kw, 1)} kW</TableCell>
                  <TableCell align="right">{formatNumber(s.curtailed_asic_hours, 0)}</TableCell>
                  <TableCell align="right">{formatNumber(s.switches)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      </Paper>
      {result.series ? (
        <Paper component="figure" variant="outlined" aria-labelledby="bt-charts-title" sx={{ m: 0, p: 2 }}>
          <Typography id="bt-charts-title" variant="h6" component="h3">Backtest charts</Typography>
          <Suspense fallback={<Box role="status" aria-busy="true" aria-label="Loading the charts"><Skeleton variant="rectangular" height={260} /></Box>}>
            <Box aria-hidden="true"><BacktestCharts series={result.series} /></Box>
          </Suspense>
          <Typography component="figcaption" variant="body2" sx={{ color: "text.secondary", mt: 1 }}>
            Cumulative profit of each strategy and the hybrid strategy&apos;s power by mode over the period; the table
            above gives their totals.
          </Typography>
        </Paper>
      ) : null}
    </Box>
  );
}
