// The tab's one live connection, for the signed-in user: created when someone signs in, recreated
// when the user changes, closed on sign-out. Its events patch the query cache (cache.ts); a
// `reset` refetches what they keep current; `alert.raised` shows a notification (LiveAlerts).
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type ReactNode } from "react";
import { useAuth } from "../auth/AuthProvider";
import { getAccessToken, isAccessTokenExpired, refreshAccessToken } from "../auth/session";
import { applyEvent, applyReset } from "./cache";
import { LiveClientContext } from "./context";
import { LiveAlerts } from "./LiveAlerts";
import { LiveClient, type LiveClientOptions } from "./LiveClient";
import { fetchAllowedChannels } from "./queries";

export { useLiveEvent, useLiveStatus } from "./status";

export function createLiveClient(overrides: Partial<LiveClientOptions> = {}): LiveClient {
  return new LiveClient({
    // an expired token would only earn a 1008: refresh first (a tab back from sleep)
    getToken: () => (isAccessTokenExpired() ? null : getAccessToken()),
    refreshToken: refreshAccessToken,
    fetchChannels: fetchAllowedChannels,
    ...overrides,
  });
}

export interface LiveProviderProps {
  children?: ReactNode;
  /** Tests: how to make the client (default: the real socket of this origin). */
  create?: () => LiveClient;
  /** Show alert notifications (default true). */
  notifications?: boolean;
}

export function LiveProvider({ children, create = createLiveClient, notifications = true }: LiveProviderProps) {
  const { user } = useAuth();
  const queryClient = useQueryClient();
  const [client, setClient] = useState<LiveClient | null>(null);
  // Who the connection is for: another user, role or tenant gets a new one.
  const identity = user ? `${user.id}:${user.role}:${user.tenant_id ?? ""}` : null;

  useEffect(() => {
    if (identity === null) {
      setClient(null);
      return undefined;
    }
    const live = create();
    const offEvent = live.onEvent((event) => applyEvent(queryClient, event));
    const offReset = live.onReset(() => applyReset(queryClient));
    live.start();
    setClient(live);
    return () => {
      offEvent();
      offReset();
      live.stop();
    };
    // `create` is a factory for tests, not expected to change
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [identity, queryClient]);

  return (
    <LiveClientContext.Provider value={client}>
      {children}
      {notifications && <LiveAlerts />}
    </LiveClientContext.Provider>
  );
}

export default LiveProvider;
