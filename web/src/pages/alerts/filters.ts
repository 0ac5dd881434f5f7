// The Alerts page's state in the URL (so a view can be bookmarked, shared and gone back to):
// ?status=&severity=&unit=&customer=&page=&size=&id=. Values the page does not know are ignored,
// defaults are left out, and changing a filter goes back to the first page.
import type { AlertListParams } from "../../live/cache";
import type { AlertView } from "../../live/types";

export type AlertStatus = AlertView["status"];
export type AlertSeverity = AlertView["severity"];

export const STATUSES: readonly AlertStatus[] = ["open", "acked", "resolved"];
/** Worst first, as the summary and the filter list them. */
export const SEVERITIES: readonly AlertSeverity[] = ["critical", "warning", "info"];
export const PAGE_SIZES: readonly number[] = [25, 50, 100];
export const DEFAULT_PAGE_SIZE = 25;
const MAX_ID = 64;

export interface AlertFilters {
  status?: AlertStatus;
  severity?: AlertSeverity;
  /** a unit's id: the alerts about that unit */
  unit?: string;
  /** a tenant's id: that customer's alerts */
  customer?: string;
  /** 1-based */
  page: number;
  size: number;
}

function oneOf<T extends string>(value: string | null, allowed: readonly T[]): T | undefined {
  return value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : undefined;
}

function anId(value: string | null): string | undefined {
  const v = value?.trim();
  return v && v.length <= MAX_ID ? v : undefined;
}

function positiveInt(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

export function filtersFromSearch(search: URLSearchParams): AlertFilters {
  const size = positiveInt(search.get("size"));
  return {
    status: oneOf(search.get("status"), STATUSES),
    severity: oneOf(search.get("severity"), SEVERITIES),
    unit: anId(search.get("unit")),
    customer: anId(search.get("customer")),
    page: positiveInt(search.get("page")) ?? 1,
    size: size !== undefined && PAGE_SIZES.includes(size) ? size : DEFAULT_PAGE_SIZE,
  };
}

type FilterKey = "status" | "severity" | "unit" | "customer";
const FILTER_KEYS: readonly FilterKey[] = ["status", "severity", "unit", "customer"];

/** `search` with `patch` applied: an empty value removes its parameter, a filter or page-size
 * change goes back to page 1; other parameters (the open alert's `id`) are kept. */
export function withFilters(search: URLSearchParams, patch: Partial<AlertFilters>): URLSearchParams {
  const next = new URLSearchParams(search);
  let refilter = false;
  for (const key of FILTER_KEYS) {
    if (!(key in patch)) continue;
    const value = patch[key];
    if ((value ?? "") !== (search.get(key) ?? "")) refilter = true;
    if (value) next.set(key, value);
    else next.delete(key);
  }
  if ("size" in patch) {
    if (patch.size !== filtersFromSearch(search).size) refilter = true;
    if (patch.size === undefined || patch.size === DEFAULT_PAGE_SIZE) next.delete("size");
    else next.set("size", String(patch.size));
  }
  const page = "page" in patch ? patch.page : refilter ? 1 : undefined;
  if (page !== undefined) {
    if (page <= 1) next.delete("page");
    else next.set("page", String(page));
  }
  return next;
}

/** Whether any filter (not paging) is set. */
export function hasFilters(f: AlertFilters): boolean {
  return FILTER_KEYS.some((k) => f[k] !== undefined);
}

/** The query of GET /api/v1/alerts for these filters: a unit is the alerts' subject. */
export function listParams(f: AlertFilters): AlertListParams {
  return {
    status: f.status,
    severity: f.severity,
    subject_kind: f.unit ? "unit" : undefined,
    subject_id: f.unit,
    tenant_id: f.customer,
    limit: f.size,
    offset: (f.page - 1) * f.size,
  };
}

/** The open alert (`?id=`), if any. */
export function selectedId(search: URLSearchParams): string | undefined {
  return anId(search.get("id"));
}

export function withSelected(search: URLSearchParams, id: string | undefined): URLSearchParams {
  const next = new URLSearchParams(search);
  if (id) next.set("id", id);
  else next.delete("id");
  return next;
}
