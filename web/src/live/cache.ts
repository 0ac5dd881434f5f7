// Live events applied to the TanStack Query cache, in place, by stable query keys.
//
// Each event patches the cached answers it touches; rows it does not change keep their identity
// (and so do lists none of whose rows changed), so React re-renders only what changed: no
// flicker, no scroll reset. Where an event may change which rows a cached list holds (a filtered
// list a workload now belongs to, a later page everything shifted on) the list is invalidated:
// it refetches in the background, and the structural sharing of the refetch keeps unchanged rows
// identical too.
import { replaceEqualDeep, type QueryClient, type QueryKey } from "@tanstack/react-query";
import type { paths } from "../api/schema";
import type {
  AlertList,
  AlertView,
  ChannelEvent,
  FleetHistory,
  FleetHistoryPoint,
  FleetMetricsSnapshot,
  Unit,
  UnitChange,
  UnitList,
  Workload,
  WorkloadChange,
  WorkloadDetail,
  WorkloadList,
} from "./types";

type QueryOf<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } }
  ? NonNullable<Q>
  : never;

export type WorkloadListParams = QueryOf<"/api/v1/workloads">;
export type UnitListParams = QueryOf<"/api/v1/resources">;
export type AlertListParams = QueryOf<"/api/v1/alerts">;
export type UsageParams = QueryOf<"/api/v1/billing/usage">;
export type InvoiceListParams = QueryOf<"/api/v1/billing/invoices">;

/** Params without the empty entries, so that `{status: undefined}` and `{}` are the same key. */
export function cleanParams<T extends object>(params: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (!params) return out;
  for (const [k, v] of Object.entries(params) as [keyof T, T[keyof T]][]) {
    if (v !== undefined && v !== null && (v as unknown) !== "") out[k] = v;
  }
  return out;
}

/** The cache's keys. Lists are `[domain, "list", params]`, one object `[domain, "detail", id]`. */
export const queryKeys = {
  workloadLists: ["workloads", "list"] as const,
  workloads: (params?: WorkloadListParams) => ["workloads", "list", cleanParams(params)] as const,
  workload: (id: string) => ["workloads", "detail", id] as const,
  unitLists: ["resources", "list"] as const,
  units: (params?: UnitListParams) => ["resources", "list", cleanParams(params)] as const,
  unit: (id: string) => ["resources", "detail", id] as const,
  capacity: (facilityId?: string | null) => ["resources", "capacity", facilityId ?? null] as const,
  alertLists: ["alerts", "list"] as const,
  alerts: (params?: AlertListParams) => ["alerts", "list", cleanParams(params)] as const,
  alert: (id: string) => ["alerts", "detail", id] as const,
  fleetMetrics: ["fleet", "metrics"] as const,
  fleetHistories: ["fleet", "history"] as const,
  fleetHistory: (windowS: number) => ["fleet", "history", windowS] as const,
  billing: ["billing"] as const,
  billingUsage: (params?: UsageParams) => ["billing", "usage", cleanParams(params)] as const,
  billingBudget: (tenantId?: string | null) => ["billing", "budget", tenantId ?? null] as const,
  invoices: (params?: InvoiceListParams) => ["billing", "invoices", cleanParams(params)] as const,
  economics: ["economics"] as const,
  plan: ["economics", "plan"] as const,
  marketPrices: ["market", "prices"] as const,
  channels: ["realtime", "channels"] as const,
};

/** The roots of everything live events keep current: what a `reset` invalidates. */
export const LIVE_ROOTS: readonly QueryKey[] = [
  ["workloads"], ["resources"], ["alerts"], ["fleet", "history"], ["billing"], ["economics"], ["market"],
];

const DEFAULT_LIMIT = 100;

// --- structural sharing by identity ------------------------------------------------------------
type Keyed = Record<string, unknown>;

function isRecord(v: unknown): v is Keyed {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function shareArray(prev: unknown[], next: unknown[], key: string): unknown[] {
  const byKey = new Map<unknown, unknown>();
  for (const row of prev) if (isRecord(row)) byKey.set(row[key], row);
  let same = prev.length === next.length;
  const out = next.map((row, i) => {
    const old = isRecord(row) ? byKey.get(row[key]) : undefined;
    const shared = old === undefined ? row : replaceEqualDeep(old, row);
    if (shared !== prev[i]) same = false;
    return shared;
  });
  return same ? prev : out;
}

/** Structural sharing that follows rows by id (`items`) and points by time (`points`), not by
 * position: a row inserted at the top, or history points dropped at the start, leave the other
 * rows' objects as they were. Use as `structuralSharing` for the queries of cache.ts' keys. */
export function shareRows(prev: unknown, next: unknown): unknown {
  if (!isRecord(prev) || !isRecord(next)) return replaceEqualDeep(prev, next);
  const keyed = (Array.isArray(next.items) && Array.isArray(prev.items) && "items") ||
    (Array.isArray(next.points) && Array.isArray(prev.points) && "points") || null;
  if (keyed === null) return replaceEqualDeep(prev, next);
  const rowKey = keyed === "items" ? "id" : "ts";
  const out: Keyed = {};
  let same = Object.keys(prev).length === Object.keys(next).length;
  for (const [k, v] of Object.entries(next)) {
    out[k] = k === keyed ? shareArray(prev[k] as unknown[], v as unknown[], rowKey) : replaceEqualDeep(prev[k], v);
    if (out[k] !== prev[k]) same = false;
  }
  return same ? prev : out;
}

/** Options for every query under cache.ts' keys (the QueryClient's defaults, or per query). */
export const liveQueryDefaults = { structuralSharing: shareRows } as const;

// --- small pure helpers ------------------------------------------------------------------------
/** `prev` with `patch` applied; `prev` itself when nothing changes, unchanged nested values kept. */
export function patchObject<T extends object>(prev: T, patch: Partial<T>): T {
  return replaceEqualDeep(prev, { ...prev, ...patch });
}

function paramsOf(key: QueryKey): Record<string, unknown> {
  const p = key[2];
  return typeof p === "object" && p !== null ? (p as Record<string, unknown>) : {};
}

function isFirstPage(params: Record<string, unknown>): boolean {
  return !params.offset;
}

function limitOf(params: Record<string, unknown>): number {
  return typeof params.limit === "number" ? params.limit : DEFAULT_LIMIT;
}

/** Whether `row` passes the list's filters (params other than paging, compared by equality). */
function passes(row: object, params: Record<string, unknown>, filters: readonly string[]): boolean {
  const r = row as Record<string, unknown>;
  return filters.every((f) => params[f] === undefined || params[f] === null || params[f] === r[f]);
}

function hasFilter(params: Record<string, unknown>, filters: readonly string[]): boolean {
  return filters.some((f) => params[f] !== undefined && params[f] !== null);
}

interface ListPage<T> {
  items: T[];
  total: number;
}

export interface ListChange<L> {
  data: L;
  invalidate: boolean;
}

/** One row's change applied to one cached page of a list (newest first). Pure.
 * - on the page: patched in place; when it left the list's filters, the list also refetches;
 * - new and passing the filters: inserted at the top of the first page (it is the newest), a later
 *   page refetches (everything on it shifted);
 * - an old row that now passes a filter it can change into (`status`): the list refetches;
 * - an old row missing from a first page that holds the whole list: its creation was missed, refetch;
 * - a row not on the page that passed the filters `before` and no longer does: the total changed, refetch. */
export function applyToPage<T extends { id: string }, L extends ListPage<T>>(
  page: L,
  row: T,
  params: Record<string, unknown>,
  options: { filters: readonly string[]; changeable: readonly string[]; isNew: boolean; before?: T },
): ListChange<L> {
  const index = page.items.findIndex((r) => r.id === row.id);
  const belongs = passes(row, params, options.filters);
  if (index >= 0) {
    const prev = page.items[index]!;
    const next = patchObject(prev, row);
    const data = next === prev ? page : { ...page, items: page.items.map((r, i) => (i === index ? next : r)) };
    return { data, invalidate: !belongs };
  }
  if (!belongs) {
    // It left the list from a page not shown (a count query with limit 1): the total changed.
    return { data: page, invalidate: options.before !== undefined && passes(options.before, params, options.filters) };
  }
  if (options.isNew) {
    if (!isFirstPage(params)) return { data: page, invalidate: true };
    const items = [row, ...page.items].slice(0, limitOf(params));
    return { data: { ...page, items, total: page.total + 1 }, invalidate: false };
  }
  if (hasFilter(params, options.changeable)) return { data: page, invalidate: true };
  return { data: page, invalidate: isFirstPage(params) && page.items.length >= page.total };
}

/** Update every cached list under `root` with `fn`, setting only what changed; invalidates the
 * lists `fn` asks to. */
function updateLists<L>(
  client: QueryClient,
  root: QueryKey,
  fn: (data: L, key: QueryKey) => ListChange<L>,
): void {
  const stale: QueryKey[] = [];
  for (const query of client.getQueryCache().findAll({ queryKey: root })) {
    const data = query.state.data as L | undefined;
    if (data === undefined) continue;
    const change = fn(data, query.queryKey);
    if (change.data !== data) client.setQueryData(query.queryKey, change.data);
    if (change.invalidate) stale.push(query.queryKey);
  }
  for (const key of stale) void client.invalidateQueries({ queryKey: key, exact: true });
}

function patchDetail<T extends object>(client: QueryClient, key: QueryKey, patch: Partial<T>): boolean {
  const prev = client.getQueryData<T>(key);
  if (prev === undefined) return false;
  const next = patchObject(prev, patch);
  if (next !== prev) client.setQueryData(key, next);
  return true;
}

// --- per event ---------------------------------------------------------------------------------
const WORKLOAD_FILTERS = ["status", "tenant_id"] as const;

/** The workload as `/workloads` shows it (the event adds `previous_status` and `placed_gpu_model`). */
export function workloadOf(change: WorkloadChange): Workload {
  const { previous_status: _previous, placed_gpu_model: _placed, ...rest } = change;
  return { ...rest, wait_reason: rest.wait_reason ?? null };
}

export function applyWorkloadState(client: QueryClient, change: WorkloadChange): void {
  const row = workloadOf(change);
  const isNew = change.previous_status === null || change.previous_status === undefined;
  const before = isNew ? undefined : { ...row, status: change.previous_status! };
  updateLists<WorkloadList>(client, queryKeys.workloadLists, (page, key) =>
    applyToPage(page, row, paramsOf(key), { filters: WORKLOAD_FILTERS, changeable: ["status"], isNew, before }),
  );
  const detailKey = queryKeys.workload(row.id);
  if (patchDetail<WorkloadDetail>(client, detailKey, row)) {
    void client.invalidateQueries({ queryKey: detailKey, exact: true }); // its history grew
  }
}

const UNIT_FILTERS = ["kind", "facility_id", "status", "model", "health", "rack_id", "mode"] as const;

export function unitPatchOf(change: UnitChange): Partial<Unit> {
  const { previous: _previous, ...rest } = change;
  return rest as Partial<Unit>;
}

export function applyUnitState(client: QueryClient, change: UnitChange): void {
  const patch = unitPatchOf(change);
  updateLists<UnitList>(client, queryKeys.unitLists, (page, key) => {
    const params = paramsOf(key);
    const index = page.items.findIndex((u) => u.id === change.id);
    const belongs = passes(change, params, UNIT_FILTERS);
    if (index < 0) return { data: page, invalidate: belongs && page.items.length >= page.total && isFirstPage(params) };
    const prev = page.items[index]!;
    const next = patchObject(prev, patch);
    const data = next === prev ? page : { ...page, items: page.items.map((u, i) => (i === index ? next : u)) };
    return { data, invalidate: !belongs };
  });
  patchDetail<Unit>(client, queryKeys.unit(change.id), patch);
}

// Every filter of GET /alerts is an equality on the alert's field of that name (one unit's alerts:
// subject_kind "unit" + subject_id; one customer's: tenant_id).
const ALERT_FILTERS = ["status", "severity", "subject_kind", "subject_id", "tenant_id"] as const;

export function applyAlert(client: QueryClient, event: string, alert: AlertView): void {
  const isNew = event === "alert.raised";
  updateLists<AlertList>(client, queryKeys.alertLists, (page, key) =>
    applyToPage(page, alert, paramsOf(key), { filters: ALERT_FILTERS, changeable: ["status"], isNew }),
  );
  patchDetail<AlertView>(client, queryKeys.alert(alert.id), alert);
}

export function historyPointOf(s: FleetMetricsSnapshot): FleetHistoryPoint {
  return {
    ts: s.ts,
    hashrate_ths: s.hashrate_ths,
    power_w: s.power_w,
    power_w_by_facility: s.power_w_by_facility,
    gpu_utilization: s.gpu_utilization ?? null,
    gpus_busy: s.gpus_busy,
    gpus_total: s.gpus_total,
  };
}

/** The history with the snapshot appended and the points older than its window dropped (the
 * window ends at the newest point: the platform's clock, which a demo may run fast). Pure. */
export function extendHistory(history: FleetHistory, snapshot: FleetMetricsSnapshot): FleetHistory {
  const at = Date.parse(snapshot.ts);
  const last = history.points[history.points.length - 1];
  if (Number.isNaN(at) || (last !== undefined && Date.parse(last.ts) >= at)) return history; // replayed, or late
  const cutoff = at - history.window_s * 1000;
  let first = 0;
  while (first < history.points.length && Date.parse(history.points[first]!.ts) < cutoff) first += 1;
  return { ...history, points: [...history.points.slice(first), historyPointOf(snapshot)] };
}

export function applyFleetMetrics(client: QueryClient, snapshot: FleetMetricsSnapshot): void {
  const prev = client.getQueryData<FleetMetricsSnapshot>(queryKeys.fleetMetrics);
  const next = prev === undefined ? snapshot : replaceEqualDeep(prev, snapshot);
  if (next !== prev) client.setQueryData(queryKeys.fleetMetrics, next);
  for (const query of client.getQueryCache().findAll({ queryKey: queryKeys.fleetHistories })) {
    const history = query.state.data as FleetHistory | undefined;
    if (history === undefined) continue;
    const extended = extendHistory(history, snapshot);
    if (extended !== history) client.setQueryData(query.queryKey, extended);
  }
}

/** Apply one channel event to the cache. */
export function applyEvent(client: QueryClient, event: ChannelEvent): void {
  switch (event.event) {
    case "workload.state":
      applyWorkloadState(client, event.data);
      break;
    case "unit.state":
      applyUnitState(client, event.data);
      break;
    case "fleet.metrics":
      applyFleetMetrics(client, event.data);
      break;
    case "alert.raised":
    case "alert.acked":
    case "alert.resolved":
      applyAlert(client, event.event, event.data);
      break;
    case "billing.usage":
    case "billing.budget":
    case "invoice.issued":
      void client.invalidateQueries({ queryKey: queryKeys.billing });
      break;
    case "plan.decided":
      void client.invalidateQueries({ queryKey: queryKeys.economics });
      break;
    case "market.tick":
      void client.invalidateQueries({ queryKey: queryKeys.marketPrices });
      break;
  }
}

/** The server could not replay what was missed: refetch everything live events keep current. */
export function applyReset(client: QueryClient): void {
  for (const queryKey of LIVE_ROOTS) void client.invalidateQueries({ queryKey });
}
