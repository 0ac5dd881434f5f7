// Test helpers for the console's pages (not bundled: only tests import this file).
import { QueryClient } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";
import { vi } from "vitest";
import { AppProviders } from "../App";
import { STORAGE_KEY, resetSessionForTests, type Me, type Role } from "../auth/session";

export const USERS: Record<Role, Me> = {
  admin: { id: "u-admin", email: "admin@mara.com", role: "admin", tenant_id: null, scopes: ["*"] },
  operator: { id: "u-ops", email: "ops@mara.com", role: "operator", tenant_id: null, scopes: ["*"] },
  customer: { id: "u-john", email: "john@acme.com", role: "customer", tenant_id: "t-acme", scopes: ["*"] },
};

/** A stored session for `role`, as if signed in earlier (the access token valid for 10 min). */
export function signedInAs(role: Role): Me {
  const user = USERS[role];
  localStorage.setItem(
    STORAGE_KEY,
    JSON.stringify({ accessToken: `access-${role}`, refreshToken: `refresh-${role}`, expiresAt: Date.now() + 600_000, user }),
  );
  resetSessionForTests();
  return user;
}

/** matchMedia for MUI's breakpoints (wide: md and up match) and the OS colour preference. */
export function stubMatchMedia({ wide = true, dark = false }: { wide?: boolean; dark?: boolean } = {}) {
  vi.stubGlobal(
    "matchMedia",
    vi.fn((query: string) => ({
      matches: query.includes("prefers-color-scheme: dark") ? dark : query.includes("min-width") ? wide : false,
      media: query,
      onchange: null,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
      addListener: () => undefined,
      removeListener: () => undefined,
      dispatchEvent: () => false,
    })),
  );
}

export function json(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

export function renderWithProviders(ui: ReactNode, { path = "/" }: { path?: string } = {}) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <AppProviders queryClient={queryClient}>
      <MemoryRouter initialEntries={[path]}>{ui}</MemoryRouter>
    </AppProviders>,
  );
}
