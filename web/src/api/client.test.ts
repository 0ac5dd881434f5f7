import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, ApiError, unwrap } from "./client";
import { STORAGE_KEY, getAccessToken, resetSessionForTests } from "../auth/session";

function json(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

const ME = { id: "u1", email: "ops@mara.com", role: "operator", tenant_id: null, scopes: ["*"] };

function signedIn(access = "old-access", refresh = "old-refresh", expiresInMs = 600_000) {
  localStorage.setItem(
    STORAGE_KEY,
    JSON.stringify({ accessToken: access, refreshToken: refresh, expiresAt: Date.now() + expiresInMs, user: ME }),
  );
  resetSessionForTests();
}

interface Call {
  path: string;
  auth: string | null;
  body: string;
}

/** The API: valid tokens in `valid`; /refresh rotates to new-access-N; records every call. */
function fakeApi(opts: { refreshStatus?: number } = {}) {
  const calls: Call[] = [];
  const valid = new Set<string>();
  let n = 0;
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL) => {
      const req = input as Request;
      const path = new URL(req.url).pathname;
      const body = await req.clone().text();
      calls.push({ path, auth: req.headers.get("Authorization"), body });
      if (path === "/api/v1/auth/refresh") {
        if (opts.refreshStatus) return json(opts.refreshStatus, { error: { code: "invalid_token", message: "invalid refresh token", details: null } });
        await new Promise((r) => setTimeout(r, 5));
        n += 1;
        valid.add(`new-access-${n}`);
        return json(200, { access_token: `new-access-${n}`, refresh_token: `new-refresh-${n}`, token_type: "bearer", expires_in: 900 });
      }
      if (path === "/api/v1/auth/login") return json(200, { access_token: "a", refresh_token: "r", token_type: "bearer", expires_in: 900 });
      const token = req.headers.get("Authorization")?.replace(/^Bearer /, "");
      if (!token || !valid.has(token)) {
        return json(401, { error: { code: "invalid_token", message: "invalid access token", details: null } });
      }
      if (path === "/api/v1/auth/me") return json(200, ME);
      if (path === "/api/v1/workloads" && req.method === "POST") {
        return json(201, { echoed: JSON.parse(body) });
      }
      return json(404, { error: { code: "not_found", message: "no such route", details: null } });
    }),
  );
  return { calls, valid, count: (p: string) => calls.filter((c) => c.path === p).length };
}

beforeEach(() => {
  localStorage.clear();
  resetSessionForTests();
});
afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
  resetSessionForTests();
});

describe("api client", () => {
  it("sends the access token as a bearer", async () => {
    const f = fakeApi();
    f.valid.add("old-access");
    signedIn();
    const me = unwrap(await api.GET("/api/v1/auth/me"));
    expect(me.email).toBe("ops@mara.com");
    expect(f.calls[0]?.auth).toBe("Bearer old-access");
    expect(f.count("/api/v1/auth/refresh")).toBe(0);
  });

  it("never sends the bearer to login or refresh", async () => {
    const f = fakeApi();
    signedIn();
    await api.POST("/api/v1/auth/login", { body: { email: "a@b.c", password: "x" } });
    await api.POST("/api/v1/auth/refresh", { body: { refresh_token: "old-refresh" } });
    expect(f.calls.map((c) => c.auth)).toEqual([null, null]);
  });

  it("on a 401 refreshes once and retries with the new token", async () => {
    const f = fakeApi(); // old-access is not valid any more
    signedIn();
    const me = unwrap(await api.GET("/api/v1/auth/me"));
    expect(me.id).toBe("u1");
    expect(f.calls.map((c) => [c.path, c.auth])).toEqual([
      ["/api/v1/auth/me", "Bearer old-access"],
      ["/api/v1/auth/refresh", null],
      ["/api/v1/auth/me", "Bearer new-access-1"],
    ]);
    expect(getAccessToken()).toBe("new-access-1");
  });

  it("retries a request with a body after the refresh, body intact", async () => {
    const f = fakeApi();
    signedIn();
    const body = { name: "llm-finetune", gpus: 2 } as never;
    const r = await api.POST("/api/v1/workloads", { body });
    expect(r.response.status).toBe(201);
    expect(f.calls.filter((c) => c.path === "/api/v1/workloads").map((c) => c.body)).toEqual([
      JSON.stringify(body),
      JSON.stringify(body),
    ]);
  });

  it("shares one refresh among concurrent 401s", async () => {
    const f = fakeApi();
    signedIn();
    const results = await Promise.all([api.GET("/api/v1/auth/me"), api.GET("/api/v1/auth/me"), api.GET("/api/v1/auth/me")]);
    expect(results.map((r) => r.response.status)).toEqual([200, 200, 200]);
    expect(f.count("/api/v1/auth/refresh")).toBe(1);
  });

  it("gives up after one retry: a refused refresh signs out and the 401 stands", async () => {
    const f = fakeApi({ refreshStatus: 401 });
    signedIn();
    const r = await api.GET("/api/v1/auth/me");
    expect(r.response.status).toBe(401);
    expect(f.count("/api/v1/auth/refresh")).toBe(1);
    expect(f.count("/api/v1/auth/me")).toBe(1);
    expect(getAccessToken()).toBeNull();
    expect(() => unwrap(r)).toThrow(ApiError);
  });

  it("refreshes an expired token before sending", async () => {
    const f = fakeApi();
    signedIn("old-access", "old-refresh", -1_000);
    await api.GET("/api/v1/auth/me");
    expect(f.calls.map((c) => c.path)).toEqual(["/api/v1/auth/refresh", "/api/v1/auth/me"]);
    expect(f.calls[1]?.auth).toBe("Bearer new-access-1");
  });

  it("sends no credential when signed out", async () => {
    const f = fakeApi();
    const r = await api.GET("/api/v1/auth/me");
    expect(r.response.status).toBe(401);
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0]?.auth).toBeNull();
  });
});
