import { QueryClient } from "@tanstack/react-query";
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
      },
      mutations: { retry: false },
    },
  });
}
