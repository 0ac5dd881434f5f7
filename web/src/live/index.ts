// The live layer: one WebSocket per tab feeding the query cache.
export { LiveProvider, createLiveClient } from "./LiveProvider";
export { useLiveEvent, useLiveStatus } from "./status";
export { LiveClient, backoffDelay } from "./LiveClient";
export { queryKeys, applyEvent, applyReset } from "./cache";
export type { LiveStatus, Channel, ChannelEvent } from "./types";
