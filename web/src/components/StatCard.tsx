// A headline figure on a dashboard: a `section` named by its label (screen readers and tests find
// it by name: getByRole("region", {name: "Hashrate"})), showing the value as text.
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Stack from "@mui/material/Stack";
import type { SxProps, Theme } from "@mui/material/styles";
import Typography from "@mui/material/Typography";
import { useId, type ReactNode } from "react";
import { visuallyHidden } from "./visuallyHidden";

export interface StatCardProps {
  label: string;
  /** the figure, already formatted ("3,912 TH/s"); undefined while loading */
  value: ReactNode | undefined;
  /** a line under the value: "of 4,200 TH/s", "updated 10:42" */
  hint?: ReactNode;
  icon?: ReactNode;
  /** colour of the value: a tone from the palette */
  tone?: "default" | "primary" | "success" | "warning" | "error";
  children?: ReactNode;
  sx?: SxProps<Theme>;
}

export function StatCard({ label, value, hint, icon, tone = "default", children, sx }: StatCardProps) {
  const valueId = useId();
  const loading = value === undefined;
  return (
    <Paper
      component="section"
      aria-label={label}
      aria-describedby={loading ? undefined : valueId}
      aria-busy={loading || undefined}
      variant="outlined"
      sx={[{ p: 2, height: "100%", display: "flex", flexDirection: "column", gap: 0.5 }, ...(Array.isArray(sx) ? sx : [sx])]}
    >
      <Stack direction="row" spacing={1} sx={{ alignItems: "center", color: "text.secondary" }}>
        {icon}
        <Typography component="h2" variant="subtitle2" sx={{ color: "text.secondary", fontWeight: 600 }}>
          {label}
        </Typography>
      </Stack>
      {loading ? (
        <Typography variant="h4" component="p">
          <Skeleton variant="text" width="60%" aria-hidden />
          <span style={visuallyHidden}>Loading</span>
        </Typography>
      ) : (
        <Typography
          id={valueId}
          variant="h4"
          component="p"
          sx={{ fontWeight: 700, color: tone === "default" ? "text.primary" : `${tone}.main`, lineHeight: 1.2 }}
        >
          {value}
        </Typography>
      )}
      {hint ? (
        <Typography variant="body2" sx={{ color: "text.secondary" }}>
          {hint}
        </Typography>
      ) : null}
      {children}
    </Paper>
  );
}

export default StatCard;
