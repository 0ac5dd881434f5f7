// What the operations dashboard reads beyond the fleet's history and `fleet.metrics`. Each query
// is kept current by the live events that exist for it (cache.ts: `plan.decided` invalidates the
// plan, `market.tick` the prices, `billing.*` the revenue, `workload.state` the workload lists,
// `alert.*` the summary here); what has no event (capacity, units by mode, demand-response
// windows) refetches every REFRESH_MS.
import { useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { liveQueryDefaults, queryKeys } from "../../live/cache";
import { useLiveEvent } from "../../live/status";
import { ACTIVE_STATUSES } from "./kpis";

export const REFRESH_MS = 15_000;
/** The largest page GET /workloads gives: active work per customer is counted from it. */
export const WORKLOAD_PAGE = 1000;

export type Facility = Schemas["FacilityOut"];
export type Capacity = Schemas["CapacityOut"];
export type Plan = Schemas["PlanOut"];
export type Prices = Schemas["PricesOut"];
export type DemandResponseWindow = Schemas["DemandResponseOut"];
export type AlertSummary = Schemas["AlertSummary"];
export type Revenue = Schemas["RevenueReport"];
export type Tenant = Schemas["TenantOut"];
export type UnitMode = Schemas["UnitMode"];

/** The unit modes, as GET /resources?mode= filters them. */
export const UNIT_MODES: readonly UnitMode[] = ["mining", "workload", "spot", "idle", "curtailed", "unknown"];

export const dashboardKeys = {
  // the same keys as the Resources and Alerts pages use for the same answers (the same shape): one
  // cache entry
  facilities: ["resources", "facilities"] as const,
  demandResponse: ["economics", "demand-response"] as const,
  alertSummary: ["alerts", "summary"] as const,
  // not the Alerts page's ["auth", "tenants", "all"]: that one caches the items alone
  tenants: ["auth", "tenants", "list"] as const,
  revenue: ["billing", "revenue"] as const,
};

export function useFacilities() {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: dashboardKeys.facilities,
    queryFn: () => call(api.GET("/api/v1/facilities")),
    staleTime: 5 * 60_000,
  });
}

export function useCapacity() {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.capacity(null),
    queryFn: () => call(api.GET("/api/v1/resources/capacity")),
    refetchInterval: REFRESH_MS,
    staleTime: 5_000,
  });
}

/** The latest plan: `plan.decided` invalidates it. */
export function usePlan() {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.plan,
    queryFn: () => call(api.GET("/api/v1/economics/plan")),
    staleTime: 60_000,
  });
}

/** The latest prices: `market.tick` invalidates them. */
export function usePrices() {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.marketPrices,
    queryFn: () => call(api.GET("/api/v1/market/prices")),
    staleTime: 60_000,
  });
}

/** Demand-response windows, newest first (past ones included: the page picks the current and
 * coming ones). No event announces a new window, so it refetches. */
export function useDemandResponse() {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: dashboardKeys.demandResponse,
    queryFn: () => call(api.GET("/api/v1/economics/demand-response", { params: { query: { limit: 100 } } })),
    refetchInterval: REFRESH_MS,
    staleTime: 5_000,
  });
}

/** How many units are in each mode: one count (`limit=1`, its `total`) per mode. */
export function useUnitsByMode(): {
  counts: Partial<Record<UnitMode, number>> | undefined;
  error: unknown;
  refetch: () => void;
} {
  const results = useQueries({
    queries: UNIT_MODES.map((mode) => {
      const params = { mode, limit: 1 } as const;
      return {
        ...liveQueryDefaults,
        queryKey: queryKeys.units(params),
        queryFn: () => call(api.GET("/api/v1/resources", { params: { query: params } })),
        refetchInterval: REFRESH_MS,
        staleTime: 5_000,
      };
    }),
  });
  const error = results.find((r) => r.error)?.error ?? null;
  const counts = results.every((r) => r.data)
    ? Object.fromEntries(UNIT_MODES.map((mode, i) => [mode, results[i]!.data!.total]))
    : undefined;
  return { counts, error, refetch: () => results.forEach((r) => void r.refetch()) };
}

/** The active workloads (every status of ACTIVE_STATUSES, up to WORKLOAD_PAGE each): lists that
 * `workload.state` events patch or refetch. */
export function useActiveWorkloads() {
  const results = useQueries({
    queries: ACTIVE_STATUSES.map((status) => {
      const params = { status, limit: WORKLOAD_PAGE } as const;
      return {
        ...liveQueryDefaults,
        queryKey: queryKeys.workloads(params),
        queryFn: () => call(api.GET("/api/v1/workloads", { params: { query: params } })),
        staleTime: 60_000,
      };
    }),
  });
  const error = results.find((r) => r.error)?.error ?? null;
  const lists = results.every((r) => r.data) ? results.map((r) => r.data!) : undefined;
  return { lists, error, refetch: () => results.forEach((r) => void r.refetch()) };
}

/** Every tenant's name (a few hundred at most: the API's largest page). */
export function useTenants() {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: dashboardKeys.tenants,
    queryFn: () => call(api.GET("/api/v1/auth/tenants", { params: { query: { limit: 500 } } })),
    staleTime: 5 * 60_000,
  });
}

/** The unresolved alerts by severity; refetched on every `alert.*` event. */
export function useAlertSummary() {
  const client = useQueryClient();
  useLiveEvent("alerts", () => {
    void client.invalidateQueries({ queryKey: dashboardKeys.alertSummary, exact: true });
  });
  return useQuery({
    queryKey: dashboardKeys.alertSummary,
    queryFn: () => call(api.GET("/api/v1/alerts/summary")),
    staleTime: 60_000,
  });
}

/** This month's revenue (admin): `billing.*` events invalidate it; mining revenue accrues without
 * one, so it refetches too. */
export function useRevenue(enabled: boolean) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: dashboardKeys.revenue,
    queryFn: () => call(api.GET("/api/v1/billing/revenue")),
    enabled,
    refetchInterval: REFRESH_MS,
    staleTime: 5_000,
  });
}
