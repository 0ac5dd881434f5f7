// The connection's state for components: "connecting" | "live" | "reconnecting" | "offline".
import { useCallback, useContext, useEffect, useRef, useSyncExternalStore } from "react";
import { LiveClientContext } from "./context";
import type { Channel, ChannelEvent, LiveStatus } from "./types";

const noop = () => () => {};
const offline = (): LiveStatus => "offline";

/** The live connection's state (offline where there is none: signed out, outside the shell). */
export function useLiveStatus(): LiveStatus {
  const client = useContext(LiveClientContext);
  return useSyncExternalStore(
    client ? client.subscribeStatus : noop,
    client ? client.getStatus : offline,
    offline,
  );
}

/** Call `handler` with every event of `channel` (after the cache has applied it). The latest
 * handler is used without resubscribing, so an inline function is fine. */
export function useLiveEvent<C extends Channel>(
  channel: C,
  handler: (event: Extract<ChannelEvent, { channel: C }>) => void,
): void {
  const client = useContext(LiveClientContext);
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  const dispatch = useCallback(
    (event: ChannelEvent) => {
      if (event.channel === channel) latest.current(event as Extract<ChannelEvent, { channel: C }>);
    },
    [channel],
  );
  useEffect(() => (client ? client.onEvent(dispatch) : undefined), [client, dispatch]);
}
