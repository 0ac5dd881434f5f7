import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  REFRESH_MARGIN_MS,
  STORAGE_KEY,
  getAccessToken,
  getUser,
  refreshAccessToken,
  resetSessionForTests,
  signIn,
  signOut,
  subscribeSession,
  type Me,
} from "./session";

const ME: Me = { id: "u1", email: "ops@mara.com", role: "operator", tenant_id: null, scopes: ["*"] };

function json(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

type Handler = (req: Request, body: any) => Response | Promise<Response>;

/** A fake API: records every request (path, headers, JSON body) and answers with `handler`. */
function fakeApi(handler: Handler) {
  const calls: { path: string; auth: string | null; body: any }[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL) => {
    const req = input as Request;
    const text = await req.clone().text();
    const body = text ? JSON.parse(text) : undefined;
    calls.push({ path: new URL(req.url).pathname, auth: req.headers.get("Authorization"), body });
    return handler(req, body);
  });
  vi.stubGlobal("fetch", fetch);
  return { calls, fetch, count: (path: string) => calls.filter((c) => c.path === path).length };
}

let n = 0;
function pair(expiresIn = 900) {
  n += 1;
  return { access_token: `access-${n}`, refresh_token: `refresh-${n}`, token_type: "bearer", expires_in: expiresIn };
}

function standardApi(opts: { refresh?: Handler } = {}) {
  return fakeApi((req, body) => {
    const path = new URL(req.url).pathname;
    if (path === "/api/v1/auth/login") {
      return body.password === "right" ? json(200, pair()) : json(401, { error: { code: "invalid_credentials", message: "invalid email or password", details: null } });
    }
    if (path === "/api/v1/auth/me") return json(200, ME);
    if (path === "/api/v1/auth/refresh") return opts.refresh ? opts.refresh(req, body) : json(200, pair());
    if (path === "/api/v1/auth/logout") return new Response(null, { status: 204 });
    return json(404, { error: { code: "not_found", message: "no such route", details: null } });
  });
}

beforeEach(() => {
  localStorage.clear();
  resetSessionForTests();
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  resetSessionForTests();
});

describe("session", () => {
  it("signs in, stores the pair and the user, and tells subscribers", async () => {
    const api = standardApi();
    const seen = vi.fn();
    subscribeSession(seen);
    const me = await signIn("ops@mara.com", "right");
    expect(me).toEqual(ME);
    expect(getAccessToken()).toMatch(/^access-/);
    expect(getUser()?.email).toBe("ops@mara.com");
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY)!);
    expect(stored.refreshToken).toMatch(/^refresh-/);
    expect(seen).toHaveBeenCalled();
    // /me was asked with the new token, login without any
    expect(api.calls.find((c) => c.path === "/api/v1/auth/login")?.auth).toBeNull();
    expect(api.calls.find((c) => c.path === "/api/v1/auth/me")?.auth).toBe(`Bearer ${stored.accessToken}`);
  });

  it("rejects a wrong password with the API's message and stores nothing", async () => {
    standardApi();
    await expect(signIn("ops@mara.com", "wrong")).rejects.toMatchObject({
      status: 401,
      code: "invalid_credentials",
      message: "invalid email or password",
    });
    expect(getAccessToken()).toBeNull();
    expect(localStorage.getItem(STORAGE_KEY)).toBeNull();
  });

  it("refreshes once however many callers ask at the same moment (single flight)", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const api = standardApi({
      refresh: async () => {
        await gate;
        return json(200, pair());
      },
    });
    await signIn("ops@mara.com", "right");
    const oldRefresh = JSON.parse(localStorage.getItem(STORAGE_KEY)!).refreshToken;
    const all = Promise.all([refreshAccessToken(), refreshAccessToken(), refreshAccessToken()]);
    release();
    const tokens = await all;
    expect(api.count("/api/v1/auth/refresh")).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toBe(getAccessToken());
    expect(api.calls.find((c) => c.path === "/api/v1/auth/refresh")?.body).toEqual({ refresh_token: oldRefresh });
    // both tokens rotated
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY)!);
    expect(stored.refreshToken).not.toBe(oldRefresh);
    // a later call refreshes again (the flight is over)
    await refreshAccessToken();
    expect(api.count("/api/v1/auth/refresh")).toBe(2);
  });

  it("refreshes a minute before the access token expires", async () => {
    vi.useFakeTimers({ now: new Date("2026-01-01T00:00:00Z") });
    const api = standardApi();
    await signIn("ops@mara.com", "right"); // expires_in 900 s
    const first = getAccessToken();
    await vi.advanceTimersByTimeAsync(900_000 - REFRESH_MARGIN_MS - 1_000);
    expect(api.count("/api/v1/auth/refresh")).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(api.count("/api/v1/auth/refresh")).toBe(1);
    expect(getAccessToken()).not.toBe(first);
    // and the next one is scheduled from the new expiry
    await vi.advanceTimersByTimeAsync(900_000 - REFRESH_MARGIN_MS + 1_000);
    expect(api.count("/api/v1/auth/refresh")).toBe(2);
  });

  it("retries a scheduled refresh that failed for a transient reason, keeping the session", async () => {
    vi.useFakeTimers({ now: new Date("2026-01-01T00:00:00Z") });
    let fail = true;
    const api = standardApi({
      refresh: () => (fail ? json(503, { error: { code: "unavailable", message: "down", details: null } }) : json(200, pair())),
    });
    await signIn("ops@mara.com", "right");
    await vi.advanceTimersByTimeAsync(900_000 - REFRESH_MARGIN_MS + 1);
    expect(api.count("/api/v1/auth/refresh")).toBe(1);
    expect(getAccessToken()).not.toBeNull();
    fail = false;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(api.count("/api/v1/auth/refresh")).toBe(2);
    expect(getUser()).toEqual(ME);
  });

  it("ends the session when the API refuses the refresh token", async () => {
    standardApi({
      refresh: () => json(401, { error: { code: "token_reused", message: "refresh token already used", details: null } }),
    });
    await signIn("ops@mara.com", "right");
    const seen = vi.fn();
    subscribeSession(seen);
    await expect(refreshAccessToken()).resolves.toBeNull();
    expect(getAccessToken()).toBeNull();
    expect(localStorage.getItem(STORAGE_KEY)).toBeNull();
    expect(seen).toHaveBeenCalled();
  });

  it("signs out: logs out at the API with the token, clears storage and tells subscribers", async () => {
    const api = standardApi();
    await signIn("ops@mara.com", "right");
    const token = getAccessToken();
    const seen = vi.fn();
    subscribeSession(seen);
    await signOut();
    expect(api.calls.find((c) => c.path === "/api/v1/auth/logout")?.auth).toBe(`Bearer ${token}`);
    expect(getAccessToken()).toBeNull();
    expect(getUser()).toBeNull();
    expect(localStorage.getItem(STORAGE_KEY)).toBeNull();
    expect(seen).toHaveBeenCalled();
    await expect(refreshAccessToken()).resolves.toBeNull();
  });

  it("signs out even when the API cannot be reached", async () => {
    standardApi();
    await signIn("ops@mara.com", "right");
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    await signOut();
    expect(getAccessToken()).toBeNull();
  });

  it("follows another tab through the storage event", async () => {
    standardApi();
    await signIn("ops@mara.com", "right");
    const seen = vi.fn();
    subscribeSession(seen);
    localStorage.removeItem(STORAGE_KEY);
    window.dispatchEvent(new StorageEvent("storage", { key: STORAGE_KEY, newValue: null }));
    expect(getAccessToken()).toBeNull();
    expect(seen).toHaveBeenCalled();
  });

  it("takes the pair another tab rotated instead of reusing the old refresh token", async () => {
    const api = standardApi();
    await signIn("ops@mara.com", "right");
    // another tab refreshed: storage holds a newer pair this tab has not seen yet
    const other = { ...JSON.parse(localStorage.getItem(STORAGE_KEY)!), accessToken: "other-access", refreshToken: "other-refresh", expiresAt: Date.now() + 900_000 };
    localStorage.setItem(STORAGE_KEY, JSON.stringify(other));
    await expect(refreshAccessToken()).resolves.toBe("other-access");
    expect(api.count("/api/v1/auth/refresh")).toBe(0);
  });
});
