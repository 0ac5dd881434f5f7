// The signed-in session, framework-free: tokens and the user (`/auth/me`) persisted in
// localStorage "hcp.session"; tabs stay in step through the "storage" event.
//
// The access token lives ~15 min (`expires_in`); it is refreshed a minute before it expires.
// Refresh tokens rotate and the API ends a session whose refresh token is used twice, so a refresh
// is single flight: one per tab (a shared promise) and, where the browser has Web Locks, one across
// tabs (a tab that gets the lock after another tab refreshed takes the stored pair instead).
import createClient from "openapi-fetch";
import type { components, paths } from "../api/schema";
import { ApiError, toApiError } from "../api/errors";

export type Me = components["schemas"]["Me"];
export type Role = components["schemas"]["Role"];
type TokenPair = components["schemas"]["TokenPair"];

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** ms since the epoch when the access token expires */
  expiresAt: number;
  user: Me | null;
}

export const STORAGE_KEY = "hcp.session";
/** Refresh this long before the access token expires. */
export const REFRESH_MARGIN_MS = 60_000;
/** After a refresh that failed for a transient reason (network, 5xx), try again after this. */
export const RETRY_AFTER_MS = 15_000;
const LOCK_NAME = "hcp.session.refresh";

// No middleware here: the auth calls carry their own credentials (the login form, the refresh
// token; logout and me an explicit bearer). fetch is looked up per call so tests can stub it.
const authApi = createClient<paths>({
  baseUrl: typeof location !== "undefined" && location.origin !== "null" ? location.origin : "",
  fetch: (request: Request) => globalThis.fetch(request),
});

let current: Session | null = read();
let inflight: Promise<string | null> | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;
const listeners = new Set<() => void>();

function isSession(v: unknown): v is Session {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    typeof s.accessToken === "string" &&
    typeof s.refreshToken === "string" &&
    typeof s.expiresAt === "number" &&
    (s.user === null || typeof s.user === "object")
  );
}

function read(): Session | null {
  try {
    const raw = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (!raw) return null;
    const parsed: unknown = JSON.parse(raw);
    return isSession(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

function write(s: Session | null): void {
  try {
    if (s) localStorage.setItem(STORAGE_KEY, JSON.stringify(s));
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // private mode or full storage: the session still lives in memory for this tab
  }
}

function emit(): void {
  for (const fn of [...listeners]) fn();
}

function set(s: Session | null): void {
  current = s;
  write(s);
  schedule();
  emit();
}

function fromPair(pair: TokenPair, user: Me | null): Session {
  return {
    accessToken: pair.access_token,
    refreshToken: pair.refresh_token,
    expiresAt: Date.now() + pair.expires_in * 1000,
    user,
  };
}

/** When to refresh: a minute before expiry, or halfway for short-lived tokens. */
function refreshDelay(s: Session): number {
  const left = s.expiresAt - Date.now();
  return Math.max(0, Math.max(left - REFRESH_MARGIN_MS, left / 2));
}

function schedule(delay?: number): void {
  if (timer !== null) clearTimeout(timer);
  timer = null;
  if (!current) return;
  timer = setTimeout(() => {
    timer = null;
    refreshAccessToken().catch(() => schedule(RETRY_AFTER_MS));
  }, delay ?? refreshDelay(current));
}

// -- reading ----------------------------------------------------------------------------------

export function getSession(): Session | null {
  return current;
}

export function getAccessToken(): string | null {
  return current?.accessToken ?? null;
}

export function getUser(): Me | null {
  return current?.user ?? null;
}

/** True when the access token has expired or is about to (within `marginMs`). */
export function isAccessTokenExpired(marginMs = 5_000): boolean {
  return !current || current.expiresAt - Date.now() <= marginMs;
}

export function subscribeSession(fn: () => void): () => void {
  listeners.add(fn);
  return () => {
    listeners.delete(fn);
  };
}

// -- changing ---------------------------------------------------------------------------------

async function fetchMe(accessToken: string): Promise<Me> {
  const r = await authApi.GET("/api/v1/auth/me", { headers: { Authorization: `Bearer ${accessToken}` } });
  if (r.data === undefined) throw toApiError(r.response.status, r.error);
  return r.data;
}

/** Sign in with e-mail and password; throws ApiError (401 invalid credentials, 429 throttled...). */
export async function signIn(email: string, password: string): Promise<Me> {
  const r = await authApi.POST("/api/v1/auth/login", { body: { email, password } });
  if (r.data === undefined) throw toApiError(r.response.status, r.error);
  const pair = r.data;
  const user = await fetchMe(pair.access_token);
  set(fromPair(pair, user));
  return user;
}

async function doRefresh(): Promise<string | null> {
  const before = current;
  // Another tab may have rotated the pair while this one waited for the lock.
  const stored = read();
  if (!stored) {
    if (current) set(null);
    return null;
  }
  if (!before || stored.refreshToken !== before.refreshToken) {
    current = stored;
    schedule();
    emit();
    if (stored.expiresAt - Date.now() > REFRESH_MARGIN_MS / 2) return stored.accessToken;
  }
  const session = current ?? stored;
  // a network failure rejects here and keeps the session: the caller tries again later
  const r = await authApi.POST("/api/v1/auth/refresh", { body: { refresh_token: session.refreshToken } });
  if (!current) return null; // signed out (here or in another tab) meanwhile
  if (r.data === undefined) {
    const err = toApiError(r.response.status, r.error);
    if (err.status >= 500 || err.status === 429) throw err; // transient: keep the session
    // 401/4xx: the refresh token is expired, revoked or reused. Unless another tab rotated the
    // pair at the same moment (browsers without Web Locks), the session is over.
    const latest = read();
    if (latest && latest.refreshToken !== session.refreshToken) {
      current = latest;
      schedule();
      emit();
      return latest.accessToken;
    }
    set(null);
    return null;
  }
  set(fromPair(r.data, session.user));
  return r.data.access_token;
}

/**
 * A fresh access token, refreshing once however many callers ask at the same moment.
 * Resolves null when signed out (no session, or the API ended it); rejects on a transient failure
 * (network down, 5xx, 429), keeping the session so that a later call can try again.
 */
export function refreshAccessToken(): Promise<string | null> {
  if (inflight) return inflight;
  if (!current) {
    // another tab may have signed in since this one last looked
    const stored = read();
    if (!stored) return Promise.resolve(null);
    current = stored;
  }
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  const run: Promise<string | null> = locks?.request
    ? (locks.request(LOCK_NAME, () => doRefresh()) as unknown as Promise<string | null>) // resolves to the callback's result
    : doRefresh();
  const p = run.finally(() => {
    inflight = null;
  });
  inflight = p;
  return p;
}

/** End the session at the API (best effort) and here, in every tab. */
export async function signOut(): Promise<void> {
  const s = current;
  if (timer !== null) clearTimeout(timer);
  timer = null;
  if (s) {
    try {
      // logout needs a valid access token; an expired one is refreshed first so that the
      // session (and its refresh token) really ends at the API
      const token = isAccessTokenExpired() ? await refreshAccessToken() : s.accessToken;
      if (token) await authApi.POST("/api/v1/auth/logout", { headers: { Authorization: `Bearer ${token}` } });
    } catch {
      // offline: the refresh token still expires on its own
    }
  }
  set(null);
}

/** Replace the stored user (after `/auth/me` answered again). */
export function setUser(user: Me): void {
  if (current) set({ ...current, user });
}

/** Revalidate the stored user with `/auth/me`; a 401 ends the session via one refresh attempt. */
export async function reloadUser(): Promise<Me | null> {
  if (!current) return null;
  let token: string | null = current.accessToken;
  if (isAccessTokenExpired()) token = await refreshAccessToken();
  if (!token) return null;
  try {
    const me = await fetchMe(token);
    setUser(me);
    return me;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      const fresh = await refreshAccessToken();
      if (!fresh) return null;
      const me = await fetchMe(fresh);
      setUser(me);
      return me;
    }
    throw e;
  }
}

// -- tabs, timers and tests ----------------------------------------------------------------------

function onStorage(e: StorageEvent): void {
  if (e.key !== STORAGE_KEY && e.key !== null) return;
  current = read();
  schedule();
  emit();
}

function onVisible(): void {
  // Timers are throttled in background tabs: catch up when the tab is shown again.
  if (document.visibilityState === "visible" && current && isAccessTokenExpired(REFRESH_MARGIN_MS)) {
    refreshAccessToken().catch(() => schedule(RETRY_AFTER_MS));
  }
}

if (typeof window !== "undefined") {
  window.addEventListener("storage", onStorage);
  document.addEventListener("visibilitychange", onVisible);
  schedule();
}

/** Tests only: forget the in-memory state and re-read localStorage. */
export function resetSessionForTests(): void {
  if (timer !== null) clearTimeout(timer);
  timer = null;
  inflight = null;
  listeners.clear();
  current = read();
  schedule();
}
