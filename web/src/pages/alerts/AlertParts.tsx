// Small pieces the Alerts table and the alert dialog share: chips and times.
import Chip from "@mui/material/Chip";
import ErrorOutline from "@mui/icons-material/ErrorOutlineOutlined";
import InfoOutlined from "@mui/icons-material/InfoOutlined";
import WarningAmber from "@mui/icons-material/WarningAmber";
import CheckCircleOutline from "@mui/icons-material/CheckCircleOutlineOutlined";
import { visuallyHidden } from "../../components/visuallyHidden";
import { formatDateTime } from "../dashboard/format";
import { SEVERITY_COLORS, SEVERITY_LABELS, STATUS_LABELS } from "./alertText";
import type { AlertSeverity, AlertStatus } from "./filters";

const SEVERITY_ICONS = { critical: ErrorOutline, warning: WarningAmber, info: InfoOutlined } as const;

export function SeverityChip({ severity }: { severity: AlertSeverity }) {
  const Icon = SEVERITY_ICONS[severity] ?? InfoOutlined;
  return (
    <Chip size="small" variant="outlined" color={SEVERITY_COLORS[severity] ?? "info"}
      icon={<Icon fontSize="small" aria-hidden />} label={SEVERITY_LABELS[severity] ?? severity}
      sx={{ fontWeight: 600 }} />
  );
}

export function StatusChip({ status }: { status: AlertStatus }) {
  const label = STATUS_LABELS[status] ?? status;
  if (status === "resolved") {
    return <Chip size="small" variant="outlined" color="success" label={label}
      icon={<CheckCircleOutline fontSize="small" aria-hidden />} />;
  }
  return <Chip size="small" variant={status === "open" ? "filled" : "outlined"} label={label}
    color={status === "open" ? "default" : "primary"} />;
}

/** A time as "3 Jan, 14:05" (the full time on hover), or a dash. */
export function When({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span><span aria-hidden="true">—</span><span style={visuallyHidden}>not yet</span></span>;
  const full = new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "medium" });
  return <time dateTime={iso} title={full}>{formatDateTime(iso)}</time>;
}
