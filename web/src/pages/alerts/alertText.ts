// How the Alerts page names things: rules as titles, severities and statuses as words, who acted.
import type { AlertSeverity, AlertStatus } from "./filters";
import type { AlertView } from "../../live/types";

/** The rules of src/hcp/alerts/rules.py, as titles. */
export const RULE_TITLES: Record<string, string> = {
  unit_offline: "Unit offline",
  temperature: "Temperature",
  hashrate_low: "Low hashrate",
  fan_failure: "Fan failure",
  gpu_xid: "GPU error (XID)",
  switch_latency: "Slow workload switch",
  price_spike: "Electricity price spike",
  market_stale: "Market feed stale",
  budget: "Budget",
};

export function ruleTitle(rule: string): string {
  return RULE_TITLES[rule] ?? (rule.charAt(0).toUpperCase() + rule.slice(1)).replace(/_/g, " ");
}

export const SEVERITY_LABELS: Record<AlertSeverity, string> = { critical: "Critical", warning: "Warning", info: "Info" };
export const SEVERITY_COLORS: Record<AlertSeverity, "error" | "warning" | "info"> = {
  critical: "error", warning: "warning", info: "info",
};

export const STATUS_LABELS: Record<AlertStatus, string> = { open: "Open", acked: "Acknowledged", resolved: "Resolved" };

/** "by ops@mara.com", "automatically" (the cause cleared), or nothing. */
export function actor(by: string | null | undefined): string {
  if (!by) return "";
  return by === "auto" ? "automatically" : `by ${by}`;
}

/** The unit an alert is about, if it is about one. */
export function unitOf(alert: Pick<AlertView, "subject_kind" | "subject_id">): string | null {
  return alert.subject_kind === "unit" ? alert.subject_id : null;
}

/** What the alert is about, in words: "Unit asic-7", "Market HB_WEST", "Customer budget". */
export function subjectText(alert: Pick<AlertView, "subject_kind" | "subject_id">, customer?: string): string {
  switch (alert.subject_kind) {
    case "unit":
      return `Unit ${alert.subject_id}`;
    case "market":
      return alert.subject_id === "feed" ? "Market data feed" : `Market node ${alert.subject_id}`;
    case "tenant":
      return `Customer ${customer ?? alert.subject_id}`;
    default:
      return `${alert.subject_kind} ${alert.subject_id}`;
  }
}

/** A detail's key as words: "temp_c" -> "Temp c". */
export function detailLabel(key: string): string {
  const words = key.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function detailValue(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (typeof value === "string" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}
