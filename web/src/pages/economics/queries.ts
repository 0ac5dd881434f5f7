// What the Economics page reads and does. Everything sits under ["economics"] (or ["market"]), so a
// live `plan.decided` event (cache.ts) refetches the plan, its recommendations and the windows; a
// 15 s interval covers a tab without its WebSocket. Creating or cancelling a window refetches the
// plan at once: the planner replans on it within a second or so.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { liveQueryDefaults, queryKeys } from "../../live/cache";
import { useLiveEvent } from "../../live/status";

export type Plan = Schemas["PlanOut"];
export type PlannedFacility = Schemas["PlannedFacility"];
export type Recommendation = Schemas["Recommendation"];
export type DemandResponse = Schemas["DemandResponseOut"];
export type DemandResponseIn = Schemas["DemandResponseIn"];
export type PriceHistory = Schemas["PriceHistoryOut"];
export type BacktestRequest = Schemas["BacktestRequest"];
export type BacktestResponse = Schemas["BacktestResponse"];
export type Fleet = Schemas["Fleet"];

export const REFRESH_MS = 15_000;
/** The series the price charts ask for: unkeyed ones expand to every node and GPU model. */
export const PRICE_SERIES = ["btc_usd", "hashprice_usd_per_th_day", "electricity_usd_per_mwh", "gpu_spot_usd_per_hour"];

export const economicsKeys = {
  recommendations: ["economics", "recommendations"] as const,
  windows: ["economics", "demand-response"] as const,
  backtestFleet: ["economics", "backtest-fleet"] as const,
  history: (hours: number) => ["market", "history", hours] as const,
};

export function usePlan() {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.plan,
    queryFn: () => call(api.GET("/api/v1/economics/plan")),
    refetchInterval: REFRESH_MS,
    placeholderData: keepPreviousData,
  });
}

export function useRecommendations() {
  return useQuery({
    queryKey: economicsKeys.recommendations,
    queryFn: () => call(api.GET("/api/v1/economics/recommendations")),
    refetchInterval: REFRESH_MS,
  });
}

export function useWindows() {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: economicsKeys.windows,
    queryFn: () => call(api.GET("/api/v1/economics/demand-response", { params: { query: { limit: 100 } } })),
    staleTime: 60_000,
  });
}

/** Prices over the last `hours`, averaged per bucket; refetched on every `market.tick`. */
export function usePriceHistory(hours: number) {
  const client = useQueryClient();
  useLiveEvent("prices", () => {
    void client.invalidateQueries({ queryKey: economicsKeys.history(hours) });
  });
  const step = hours <= 1 ? "1m" : hours <= 24 ? "15m" : "1h";
  return useQuery({
    queryKey: economicsKeys.history(hours),
    queryFn: () => {
      const until = new Date();
      const since = new Date(until.getTime() - hours * 3600_000);
      return call(api.GET("/api/v1/market/history", {
        params: { query: { series: PRICE_SERIES, since: since.toISOString(), step, limit: 10_000 } },
      }));
    },
    refetchInterval: 60_000,
    placeholderData: keepPreviousData,
  });
}

/** The windows and the plan they change: refetched together after a create or cancel. */
function useRefreshAfterWindowChange() {
  const client = useQueryClient();
  return () => {
    void client.invalidateQueries({ queryKey: economicsKeys.windows });
    void client.invalidateQueries({ queryKey: queryKeys.plan });
    // The replan takes a moment (the planner waits ~1 s for changes in a burst): ask again then,
    // in case the live `plan.decided` is not there to say so.
    setTimeout(() => void client.invalidateQueries({ queryKey: queryKeys.plan }), 2_500);
  };
}

export function useCreateWindow() {
  const refresh = useRefreshAfterWindowChange();
  return useMutation({
    mutationFn: (body: DemandResponseIn) => call(api.POST("/api/v1/economics/demand-response", { body })),
    onSuccess: refresh,
  });
}

export function useCancelWindow() {
  const refresh = useRefreshAfterWindowChange();
  return useMutation({
    mutationFn: (id: string) =>
      call(api.DELETE("/api/v1/economics/demand-response/{event_id}", { params: { path: { event_id: id } } })),
    onSuccess: refresh,
  });
}

/** The fleet as it stands, as the backtest takes it. */
export function useBacktestFleet() {
  return useQuery({
    queryKey: economicsKeys.backtestFleet,
    queryFn: () => call(api.GET("/api/v1/economics/backtest/fleet")),
    staleTime: 5 * 60_000,
  });
}

export function useBacktest() {
  return useMutation({
    mutationFn: (body: BacktestRequest) => call(api.POST("/api/v1/economics/backtest", { body })),
  });
}
