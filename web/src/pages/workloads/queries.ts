// What the Workloads page reads and does: one page of every customer's workloads (filtered by the
// API), the queues per class, what runs where, switch latency, one workload with its history and
// switches, and cancelling. Live: a `workload.state` event refetches the page's reads (after a
// short pause, so a burst of events is one refetch); without events they refetch every 10 s.
import { keepPreviousData, skipToken, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { api, call, type Schemas } from "../../api/client";
import { liveQueryDefaults, queryKeys, type WorkloadListParams } from "../../live/cache";
import { useLiveEvent } from "../../live/status";

export type Workload = Schemas["WorkloadOut"];
export type WorkloadQueues = Schemas["WorkloadQueues"];
export type QueueClass = Schemas["QueueClassOut"];
export type Placement = Schemas["PlacementOut"];
export type SwitchSummary = Schemas["SwitchSummary"];
export type SwitchRecord = Schemas["SwitchOut"];

export const REFRESH_MS = 10_000;
const LIVE_PAUSE_MS = 500;

/** Under ["workloads"], so a live `reset` refetches them too; not under ["workloads", "list"],
 * whose in-place patches know only the status and customer filters, not type, text or order. */
export const consoleKeys = {
  all: ["workloads", "console"] as const,
  page: (params: WorkloadListParams) => ["workloads", "console", "page", params] as const,
  queues: ["workloads", "console", "queues"] as const,
  placements: ["workloads", "console", "placements"] as const,
  switchSummary: ["workloads", "console", "switch-summary"] as const,
  switches: (workloadId: string) => ["workloads", "console", "switches", workloadId] as const,
};

/** Refetch the page's reads when workloads change (the first event of a burst starts a short pause). */
export function useLiveWorkloads(): void {
  const client = useQueryClient();
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
  useLiveEvent("workloads", () => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      void client.invalidateQueries({ queryKey: consoleKeys.all });
    }, LIVE_PAUSE_MS);
  });
}

export function useWorkloadPage(params: WorkloadListParams) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: consoleKeys.page(params),
    queryFn: () => call(api.GET("/api/v1/workloads", { params: { query: params } })),
    placeholderData: keepPreviousData,
    refetchInterval: REFRESH_MS,
    staleTime: 5_000,
  });
}

export function useQueues() {
  return useQuery({
    queryKey: consoleKeys.queues,
    queryFn: () => call(api.GET("/api/v1/workloads/queues")),
    refetchInterval: REFRESH_MS,
    staleTime: 5_000,
  });
}

export function usePlacements() {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: consoleKeys.placements,
    queryFn: () => call(api.GET("/api/v1/workloads/placements")),
    refetchInterval: REFRESH_MS,
    staleTime: 5_000,
  });
}

/** Switch latency percentiles of every recorded switch (the server computes them). */
export function useSwitchSummary() {
  return useQuery({
    queryKey: consoleKeys.switchSummary,
    queryFn: () => call(api.GET("/api/v1/orchestrator/switches/summary")),
    refetchInterval: REFRESH_MS,
    staleTime: 5_000,
  });
}

/** One workload with its history: the key live/cache.ts patches on `workload.state`. */
export function useWorkload(id: string | undefined) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.workload(id ?? ""),
    queryFn: id ? () => call(api.GET("/api/v1/workloads/{workload_id}", { params: { path: { workload_id: id } } })) : skipToken,
    staleTime: 30_000,
  });
}

/** The switches of one workload (its GPUs switched in or out), newest first. */
export function useWorkloadSwitches(id: string | undefined) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: consoleKeys.switches(id ?? ""),
    queryFn: id
      ? () => call(api.GET("/api/v1/orchestrator/switches", { params: { query: { workload_id: id, limit: 100 } } }))
      : skipToken,
    staleTime: 10_000,
  });
}

/** Cancel a workload; the answer is put in its detail, then everything under ["workloads"] refetches. */
export function useCancelWorkload() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      call(api.POST("/api/v1/workloads/{workload_id}/cancel", { params: { path: { workload_id: id } } })),
    onSuccess: (workload) => {
      client.setQueryData<Schemas["WorkloadDetail"]>(queryKeys.workload(workload.id),
        (prev) => (prev ? { ...prev, ...workload } : prev));
      void client.invalidateQueries({ queryKey: ["workloads"] });
    },
  });
}
