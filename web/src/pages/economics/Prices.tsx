// Price history: one chart per kind of price (BTC, hashprice, electricity per node, GPU spot),
// over a window kept in the URL (?prices=1h|24h|7d). Each chart's caption is its text alternative.
import Box from "@mui/material/Box";
import Grid from "@mui/material/Grid";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import ToggleButton from "@mui/material/ToggleButton";
import ToggleButtonGroup from "@mui/material/ToggleButtonGroup";
import Typography from "@mui/material/Typography";
import { lazy, Suspense, useMemo } from "react";
import { useSearchParams } from "react-router";
import { ErrorAlert } from "../../components/ErrorAlert";
import { formatNumber, formatUsd } from "../dashboard/format";
import { describeGroup, priceGroups, type PriceGroup } from "./logic";
import { usePriceHistory } from "./queries";

const PriceChart = lazy(() => import("./PriceChart"));

export const WINDOWS = { "1h": 1, "24h": 24, "7d": 168 } as const;
export type WindowKey = keyof typeof WINDOWS;

export function readWindow(sp: URLSearchParams): WindowKey {
  const v = sp.get("prices");
  return v && v in WINDOWS ? (v as WindowKey) : "24h";
}

const FORMATS: Record<PriceGroup["id"], (v: number) => string> = {
  btc: (v) => formatUsd(v, 0),
  hashprice: (v) => formatUsd(v, 2),
  electricity: (v) => formatUsd(v, 2),
  gpu: (v) => formatUsd(v, 2),
};

const loading = (label: string) => (
  <Box role="status" aria-busy="true" aria-label={label}><Skeleton variant="rectangular" height={220} /></Box>
);

export function PricesSection() {
  const [sp, setSp] = useSearchParams();
  const key = readWindow(sp);
  const history = usePriceHistory(WINDOWS[key]);
  const groups = useMemo(() => priceGroups(history.data), [history.data]);
  return (
    <Box component="section" aria-labelledby="prices-title" sx={{ display: "flex", flexDirection: "column", gap: 2 }}>
      <Box sx={{ display: "flex", alignItems: "center", gap: 2, flexWrap: "wrap" }}>
        <Typography id="prices-title" variant="h5" component="h2">Price history</Typography>
        <ToggleButtonGroup size="small" exclusive value={key} aria-label="Price window"
          onChange={(_e, v: WindowKey | null) => {
            if (!v) return;
            const next = new URLSearchParams(sp);
            if (v === "24h") next.delete("prices"); else next.set("prices", v);
            setSp(next, { replace: true });
          }}>
          <ToggleButton value="1h">Last hour</ToggleButton>
          <ToggleButton value="24h">Last 24 hours</ToggleButton>
          <ToggleButton value="7d">Last 7 days</ToggleButton>
        </ToggleButtonGroup>
      </Box>
      <ErrorAlert error={history.data ? null : history.error} title="Could not load the price history" onRetry={() => void history.refetch()} />
      {history.isPending ? loading("Loading the price history") : groups.length === 0 && !history.error ? (
        <Typography>No prices recorded in this window.</Typography>
      ) : (
        <Grid container spacing={2}>
          {groups.map((g) => (
            <Grid key={g.id} size={{ xs: 12, lg: 6 }}>
              <Paper component="figure" variant="outlined" aria-labelledby={`price-${g.id}`} sx={{ m: 0, p: 2 }}>
                <Typography id={`price-${g.id}`} variant="h6" component="h3">{g.title} ({g.unit})</Typography>
                <Suspense fallback={loading(`Loading the ${g.title} chart`)}>
                  <Box aria-hidden="true"><PriceChart group={g} format={FORMATS[g.id]} long={WINDOWS[key] > 24} /></Box>
                </Suspense>
                <Typography component="figcaption" variant="body2" sx={{ color: "text.secondary", mt: 1 }}>
                  {describeGroup(g, FORMATS[g.id])}
                  {g.id === "electricity" ? ` (${formatNumber(g.series.length)} node${g.series.length === 1 ? "" : "s"})` : ""}
                </Typography>
              </Paper>
            </Grid>
          ))}
        </Grid>
      )}
    </Box>
  );
}
