// React's view of the session store (session.ts): `useAuth()` gives the user and sign-in/out.
// AuthProvider (inside QueryClientProvider) forgets every cached answer when the session ends or
// changes hands (sign-out here or in another tab, a refused refresh), so one user never sees
// another's data, and revalidates the stored user with /auth/me once per page load.
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore, type ReactNode } from "react";
import {
  getSession,
  getUser,
  reloadUser,
  signIn as sessionSignIn,
  signOut as sessionSignOut,
  subscribeSession,
  type Me,
} from "./session";

export type { Me, Role } from "./session";

export interface Auth {
  user: Me | null;
  signIn(email: string, password: string): Promise<Me>;
  signOut(): Promise<void>;
  /** admin or operator */
  isStaff: boolean;
  isAdmin: boolean;
}

export function isStaffRole(role: Me["role"] | undefined | null): boolean {
  return role === "admin" || role === "operator";
}

export function useAuth(): Auth {
  const user = useSyncExternalStore(subscribeSession, getUser, getUser);
  const signIn = useCallback((email: string, password: string) => sessionSignIn(email, password), []);
  const signOut = useCallback(() => sessionSignOut(), []);
  return useMemo(
    () => ({ user, signIn, signOut, isStaff: isStaffRole(user?.role), isAdmin: user?.role === "admin" }),
    [user, signIn, signOut],
  );
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const userId = useSyncExternalStore(
    subscribeSession,
    () => getUser()?.id ?? null,
    () => getUser()?.id ?? null,
  );
  const previous = useRef(userId);

  useEffect(() => {
    if (previous.current !== null && previous.current !== userId) queryClient.clear();
    previous.current = userId;
  }, [userId, queryClient]);

  useEffect(() => {
    if (getSession()) reloadUser().catch(() => undefined); // offline: keep the stored user
  }, []);

  return <>{children}</>;
}
