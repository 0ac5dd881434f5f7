// What the Alerts page reads beyond the list (cache.ts' `useAlerts`): one alert, the summary, the
// customers' names, the units to filter by; and the two actions, whose answers go through the same
// cache path as the live `alert.*` events (so every list and the open alert show them at once).
import { keepPreviousData, skipToken, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { applyAlert, liveQueryDefaults, queryKeys, type AlertListParams } from "../../live/cache";
import { useLiveEvent } from "../../live/status";
import type { AlertView } from "../../live/types";

export type AlertSummary = Schemas["AlertSummary"];
export type Tenant = Schemas["TenantOut"];

/** Under ["alerts"], so that a live `reset` refetches it too. */
export const summaryKey = ["alerts", "summary"] as const;
const tenantsKey = ["auth", "tenants", "all"] as const;
const unitOptionsKey = ["alerts", "unit-options"] as const;

/** One page of alerts: `useAlerts` of live/queries.ts (the same key, so live events patch it), and
 * the page before stays on screen while the next loads (no jump of the table or the pager). */
export function useAlertPage(params: AlertListParams) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.alerts(params),
    queryFn: () => call(api.GET("/api/v1/alerts", { params: { query: params } })),
    staleTime: 60_000,
    placeholderData: keepPreviousData,
  });
}

export function useAlert(id: string | undefined) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.alert(id ?? ""),
    queryFn: id ? () => call(api.GET("/api/v1/alerts/{alert_id}", { params: { path: { alert_id: id } } })) : skipToken,
    staleTime: 60_000, // alert.* events patch it
  });
}

/** The unresolved alerts by status and severity; refetched on every `alert.*` event. */
export function useAlertSummary() {
  const client = useQueryClient();
  useLiveEvent("alerts", () => {
    void client.invalidateQueries({ queryKey: summaryKey, exact: true });
  });
  return useQuery({
    queryKey: summaryKey,
    queryFn: () => call(api.GET("/api/v1/alerts/summary")),
    staleTime: 60_000,
  });
}

/** Every customer (tenant), for names and the Customer filter. */
export function useTenants() {
  return useQuery({
    queryKey: tenantsKey,
    queryFn: async () => (await call(api.GET("/api/v1/auth/tenants", { params: { query: { limit: 500 } } }))).items,
    staleTime: 5 * 60_000,
  });
}

/** The units' ids, for the Unit filter: fetched once the filter is opened. */
export function useUnitOptions(enabled: boolean) {
  return useQuery({
    queryKey: unitOptionsKey,
    queryFn: enabled
      ? async () => {
          const list = await call(api.GET("/api/v1/resources", { params: { query: { limit: 1000 } } }));
          return list.items.map((u) => ({ id: u.id, model: u.model, kind: u.kind }));
        }
      : skipToken,
    staleTime: 5 * 60_000,
  });
}

export type AlertAction = "ack" | "resolve";

const EVENT_OF: Record<AlertAction, string> = { ack: "alert.acked", resolve: "alert.resolved" };

/** Acknowledge or resolve one alert; its answer is applied to the cache at once. */
export function useAlertAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, action }: { id: string; action: AlertAction }): Promise<AlertView> =>
      action === "ack"
        ? call(api.POST("/api/v1/alerts/{alert_id}/ack", { params: { path: { alert_id: id } } }))
        : call(api.POST("/api/v1/alerts/{alert_id}/resolve", { params: { path: { alert_id: id } } })),
    onSuccess: (alert, { action }) => {
      applyAlert(client, EVENT_OF[action], alert);
      client.setQueryData(queryKeys.alert(alert.id), alert);
      void client.invalidateQueries({ queryKey: summaryKey, exact: true });
    },
  });
}
