// Administration's data: users, tenants (customers), API keys and the audit log. None of these
// has a live channel: every change made here invalidates what it touches (and the audit log,
// which records it), and lists refetch when a page opens.
import { keepPreviousData, useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { api, call, unwrap, type Schemas } from "../../api/client";
import type { paths } from "../../api/schema";
import { cleanParams, liveQueryDefaults, queryKeys } from "../../live/cache";

type QueryOf<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } }
  ? NonNullable<Q>
  : never;

export type UserListParams = QueryOf<"/api/v1/auth/users">;
export type AuditParams = QueryOf<"/api/v1/auth/audit">;
export type AuditFilters = Omit<AuditParams, "limit" | "offset">;
export type User = Schemas["UserOut"];
export type Tenant = Schemas["TenantOut"];
export type ApiKey = Schemas["ApiKeyOut"];
export type ApiKeyCreated = Schemas["ApiKeyCreated"];
export type AuditEntry = Schemas["AuditEntryOut"];
export type AuditVerification = Schemas["AuditVerification"];
export type Budget = Schemas["BudgetOut"];
export type Facility = Schemas["FacilityOut"];
export type Role = Schemas["Role"];

export const ROLES: readonly Role[] = ["admin", "operator", "customer"];

export const adminKeys = {
  all: ["auth"] as const,
  users: (params?: UserListParams) => ["auth", "users", cleanParams(params)] as const,
  userRoot: ["auth", "users"] as const,
  tenants: ["auth", "tenants"] as const,
  apiKeys: (userId: string | null) => ["auth", "api-keys", userId] as const,
  apiKeyRoot: ["auth", "api-keys"] as const,
  audit: (params?: AuditParams) => ["auth", "audit", "list", cleanParams(params)] as const,
  auditRoot: ["auth", "audit"] as const,
  auditVerify: ["auth", "audit", "verify"] as const,
  facilities: ["resources", "facilities"] as const,
};

/** After any change: the audit log has a new entry (and its chain a new head). */
function touchedAudit(qc: QueryClient) {
  return qc.invalidateQueries({ queryKey: adminKeys.auditRoot });
}

export function useUsers(params: UserListParams) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: adminKeys.users(params),
    queryFn: () => call(api.GET("/api/v1/auth/users", { params: { query: params } })),
    placeholderData: keepPreviousData,
  });
}

/** Every tenant (a few hundred at most: the API's largest page). */
export function useTenants(enabled = true) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: adminKeys.tenants,
    queryFn: () => call(api.GET("/api/v1/auth/tenants", { params: { query: { limit: 500 } } })),
    enabled,
    staleTime: 60_000,
  });
}

export function useTenantNames(enabled = true): Map<string, string> {
  const tenants = useTenants(enabled);
  const names = new Map<string, string>();
  for (const t of tenants.data?.items ?? []) names.set(t.id, t.name);
  return names;
}

export function useCreateUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["UserCreate"]) => call(api.POST("/api/v1/auth/users", { body })),
    onSuccess: () => Promise.all([qc.invalidateQueries({ queryKey: adminKeys.userRoot }), touchedAudit(qc)]),
  });
}

export function useUpdateUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, changes }: { id: string; changes: Schemas["UserUpdate"] }) =>
      call(api.PATCH("/api/v1/auth/users/{user_id}", { params: { path: { user_id: id } }, body: changes })),
    onSuccess: () => Promise.all([qc.invalidateQueries({ queryKey: adminKeys.userRoot }), touchedAudit(qc)]),
  });
}

export function useCreateTenant() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["TenantCreate"]) => call(api.POST("/api/v1/auth/tenants", { body })),
    onSuccess: () => Promise.all([qc.invalidateQueries({ queryKey: adminKeys.tenants }), touchedAudit(qc)]),
  });
}

export function useSetBudget() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { tenant_id: string; monthly_limit_usd: string }) =>
      call(api.PUT("/api/v1/billing/budget", { body })),
    onSuccess: (budget) => {
      qc.setQueryData(queryKeys.billingBudget(budget.tenant_id), budget);
      return touchedAudit(qc);
    },
  });
}

/** API keys of `userId` (null: the caller's own). */
export function useApiKeys(userId: string | null, enabled = true) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: adminKeys.apiKeys(userId),
    queryFn: () =>
      call(api.GET("/api/v1/auth/api-keys", { params: { query: userId ? { user_id: userId, limit: 500 } : { limit: 500 } } })),
    enabled,
  });
}

export function useCreateApiKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["ApiKeyCreate"]) => call(api.POST("/api/v1/auth/api-keys", { body })),
    onSuccess: () => Promise.all([qc.invalidateQueries({ queryKey: adminKeys.apiKeyRoot }), touchedAudit(qc)]),
  });
}

export function useRevokeApiKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => {
      await call(api.DELETE("/api/v1/auth/api-keys/{key_id}", { params: { path: { key_id: id } } }));
      return id;
    },
    onSuccess: () => Promise.all([qc.invalidateQueries({ queryKey: adminKeys.apiKeyRoot }), touchedAudit(qc)]),
  });
}

export function useAudit(params: AuditParams) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: adminKeys.audit(params),
    queryFn: () => call(api.GET("/api/v1/auth/audit", { params: { query: params } })),
    placeholderData: keepPreviousData,
  });
}

export function useAuditVerification() {
  return useQuery({
    queryKey: adminKeys.auditVerify,
    queryFn: () => call(api.GET("/api/v1/auth/audit/verify")),
    staleTime: 0,
  });
}

export function useFacilities() {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: adminKeys.facilities,
    queryFn: () => call(api.GET("/api/v1/facilities")),
    staleTime: 5 * 60_000,
  });
}

/** The file name a Content-Disposition header gives, or `fallback`. */
export function filenameOf(disposition: string | null, fallback: string): string {
  const m = disposition ? /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition) : null;
  return m?.[1] ? decodeURIComponent(m[1]) : fallback;
}

/** The audit log as CSV (what `filters` select, every page), saved by the browser. */
export async function downloadAuditCsv(filters: AuditFilters): Promise<void> {
  const r = await api.GET("/api/v1/auth/audit/export.csv", { params: { query: filters }, parseAs: "blob" });
  const data = unwrap(r) as Blob;
  const url = URL.createObjectURL(data);
  try {
    const a = document.createElement("a");
    a.href = url;
    a.download = filenameOf(r.response.headers.get("content-disposition"), "audit.csv");
    document.body.appendChild(a);
    a.click();
    a.remove();
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}
