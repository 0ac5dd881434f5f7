// Who may see what, by role: the route guards (App.tsx) and the navigation (shell/nav.ts) share
// these, and App.tsx imports them from here so the landing page's bundle carries no nav icons.
import type { Role } from "./session";

export const STAFF: readonly Role[] = ["admin", "operator"];
export const ADMIN: readonly Role[] = ["admin"];
export const CUSTOMER: readonly Role[] = ["customer"];
export const EVERYONE: readonly Role[] = ["admin", "operator", "customer"];
