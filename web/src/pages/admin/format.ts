// How Administration and Settings write times, errors per field and roles.
import { ApiError } from "../../api/errors";

/** "7 Dec 2026, 14:05:03" in the viewer's zone; "—" for none. */
export function formatTimestamp(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return d.toLocaleString("en-GB", {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
}

/** "7 Dec 2026" in the viewer's zone. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return d.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" });
}

/** What a 422 says about `field` (to show next to it), or undefined. */
export function fieldError(error: unknown, field: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  return error.fields.find((p) => p.field === field)?.message;
}

/** Whether every problem of `error` is about one of `fields` (then the fields show it, not an alert). */
export function onlyFieldErrors(error: unknown, fields: readonly string[]): boolean {
  if (!(error instanceof ApiError)) return false;
  const problems = error.fields;
  return problems.length > 0 && problems.every((p) => fields.includes(p.field));
}

/** A key's state in words: Revoked, Expired or Active. */
export function keyStatus(key: { revoked_at: string | null; expires_at: string | null }, now = Date.now()): "Revoked" | "Expired" | "Active" {
  if (key.revoked_at) return "Revoked";
  if (key.expires_at && new Date(key.expires_at).getTime() <= now) return "Expired";
  return "Active";
}
