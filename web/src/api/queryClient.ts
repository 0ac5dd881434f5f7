import { QueryClient } from "@tanstack/react-query";
import { shareRows } from "../live/cache";
import { isTransient } from "./errors";

/** The console's query cache: answers fresh for 15 s (live events keep them current), retries only
 * where a retry can help (network failures, 5xx), never a 4xx. */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        retry: (failures, error) => failures < 3 && isTransient(error),
        retryDelay: (attempt) => Math.min(1_000 * 2 ** attempt, 10_000),
        // Rows keep their identity by id (points by time) when a refetch or a live event shifts
        // them, so unchanged rows do not re-render: no flicker, no scroll jump.
        structuralSharing: shareRows,
      },
      mutations: { retry: false },
    },
  });
}
