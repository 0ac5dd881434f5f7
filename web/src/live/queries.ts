// Query hooks over the keys of cache.ts: what pages read, and what live events keep current.
import { skipToken, useQuery } from "@tanstack/react-query";
import { api, call } from "../api/client";
import {
  liveQueryDefaults,
  queryKeys,
  type AlertListParams,
  type UnitListParams,
  type UsageParams,
  type WorkloadListParams,
} from "./cache";
import type { Channel, FleetHistory, FleetMetricsSnapshot } from "./types";

export const HISTORY_WINDOW_S = 3600;

export function fetchFleetHistory(windowS: number): Promise<FleetHistory> {
  return call(api.GET("/api/v1/fleet/history", { params: { query: { window_s: windowS } } }));
}

export async function fetchAllowedChannels(): Promise<Channel[]> {
  const list = await call(api.GET("/api/v1/realtime/channels"));
  return list.items.filter((c) => c.allowed).map((c) => c.name);
}

export function useFleetHistory(windowS: number = HISTORY_WINDOW_S, enabled = true) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.fleetHistory(windowS),
    queryFn: enabled ? () => fetchFleetHistory(windowS) : skipToken,
    staleTime: Infinity, // kept current by fleet.metrics events; a reset invalidates it
  });
}

/** The latest `fleet.metrics` snapshot: only events write it (there is no REST answer for it). */
export function useFleetMetrics() {
  return useQuery<FleetMetricsSnapshot>({ ...liveQueryDefaults, queryKey: queryKeys.fleetMetrics, queryFn: skipToken, staleTime: Infinity });
}

export function useWorkloads(params?: WorkloadListParams) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.workloads(params),
    queryFn: () => call(api.GET("/api/v1/workloads", { params: { query: params ?? {} } })),
    staleTime: 60_000,
  });
}

export function useUnits(params?: UnitListParams) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.units(params),
    queryFn: () => call(api.GET("/api/v1/resources", { params: { query: params ?? {} } })),
    staleTime: 60_000,
  });
}

export function useAlerts(params?: AlertListParams) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.alerts(params),
    queryFn: () => call(api.GET("/api/v1/alerts", { params: { query: params ?? {} } })),
    staleTime: 60_000,
  });
}

/** Metered usage; without `from`/`to` the API answers for this month (by the platform's clock). */
export function useBillingUsage(params?: UsageParams) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.billingUsage(params),
    queryFn: () => call(api.GET("/api/v1/billing/usage", { params: { query: params ?? {} } })),
    staleTime: 60_000,
  });
}

export function useBudget(tenantId?: string | null) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.billingBudget(tenantId),
    queryFn: () =>
      call(api.GET("/api/v1/billing/budget", { params: { query: tenantId ? { tenant_id: tenantId } : {} } })),
    staleTime: 60_000,
  });
}
