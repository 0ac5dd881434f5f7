// The console's one API client: openapi-fetch typed by the generated `paths` (npm run generate),
// same origin. Its middleware adds `Authorization: Bearer <access>` (never to login/refresh) and,
// on a 401, refreshes the session once (single flight, shared by every request that got one) and
// retries the request with the new token.
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { getAccessToken, isAccessTokenExpired, refreshAccessToken } from "../auth/session";
import { ApiError, toApiError } from "./errors";

export type Schemas = components["schemas"];
export { ApiError, describeError, fieldProblems, isTransient, toApiError } from "./errors";
export type { FieldProblem } from "./errors";

/** Paths that carry their own credential: a bearer there would be wrong or stale. */
export const UNAUTHENTICATED_PATHS: ReadonlySet<string> = new Set([
  "/api/v1/auth/login",
  "/api/v1/auth/refresh",
  "/api/v1/auth/token",
]);

interface Sent {
  original: Request; // a copy taken before the body was read, for the retry
  token: string;
}
const sent = new Map<string, Sent>();

export const authMiddleware: Middleware = {
  async onRequest({ request, schemaPath, id }) {
    if (UNAUTHENTICATED_PATHS.has(schemaPath)) return undefined;
    if (request.headers.has("Authorization") || request.headers.has("X-API-Key")) return undefined;
    let token = getAccessToken();
    if (!token) return undefined;
    if (isAccessTokenExpired()) {
      // refresh before sending rather than collect a certain 401; a transient failure sends the
      // old token and lets the answer decide
      token = await refreshAccessToken().catch(() => token);
      if (!token) return undefined;
    }
    sent.set(id, { original: request.clone(), token });
    request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  async onResponse({ response, id, options }) {
    const s = sent.get(id);
    sent.delete(id);
    if (response.status !== 401 || !s) return undefined;
    // Another request may already have refreshed: then retry with its token, no second refresh.
    const now = getAccessToken();
    const fresh = now && now !== s.token ? now : await refreshAccessToken().catch(() => null);
    if (!fresh) return undefined; // signed out: the 401 stands
    const retry = new Request(s.original);
    retry.headers.set("Authorization", `Bearer ${fresh}`);
    return options.fetch(retry);
  },
  onError({ id }) {
    sent.delete(id);
  },
};

export const api: Client<paths> = createClient<paths>({
  // same origin; absolute so that Request() also works outside a page (tests)
  baseUrl: typeof location !== "undefined" && location.origin !== "null" ? location.origin : "",
  // looked up per call, so that a stubbed fetch (tests) is used
  fetch: (request: Request) => globalThis.fetch(request),
});
api.use(authMiddleware);

/** The data of an answer, or an ApiError naming the status, code and field. */
export function unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (!r.response.ok || r.error !== undefined) throw toApiError(r.response.status, r.error);
  return r.data as T;
}

/** `unwrap` for a pending call: `await call(api.GET("/api/v1/workloads"))`. */
export async function call<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  return unwrap(await p);
}

export function isApiError(e: unknown, status?: number): e is ApiError {
  return e instanceof ApiError && (status === undefined || e.status === status);
}
