// Route guard for pages some roles may not see: anyone else gets the 404 page, as the API answers
// them (a customer learns nothing of an operator page, not even that it exists).
import { lazy, type ReactNode } from "react";
import { useAuth } from "./AuthProvider";
import type { Role } from "./session";

const NotFoundPage = lazy(() => import("../pages/notfound/NotFoundPage"));

export function RequireRole({ roles, children }: { roles: readonly Role[]; children: ReactNode }) {
  const { user } = useAuth();
  if (!user || !roles.includes(user.role)) return <NotFoundPage inShell />;
  return <>{children}</>;
}
