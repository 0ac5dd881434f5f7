// The WebSocket's messages as the OpenAPI snapshot names them (src/hcp/realtime/schemas.py), and the
// shapes the live layer works with.
import type { components } from "../api/schema";

type S = components["schemas"];

export type LiveStatus = "connecting" | "live" | "reconnecting" | "offline";

export type Channel = S["ChannelOut"]["name"];

/** Every message the server sends: a bus event on a channel, or one of its own (id and channel null). */
export interface Envelope<D = unknown> {
  id: string | null;
  channel: Channel | null;
  event: string;
  ts: string;
  data: D;
}

/** A channel event (id and channel set), told apart by `event`. */
export type ChannelEvent =
  | S["WsWorkloadEvent"]
  | S["WsUnitEvent"]
  | S["WsFleetMetricsEvent"]
  | S["WsPriceEvent"]
  | S["WsPlanEvent"]
  | S["WsAlertEvent"]
  | S["WsUsageEvent"]
  | S["WsInvoiceEvent"]
  | S["WsBudgetEvent"];

export type WorkloadChange = S["WorkloadState"];
export type Workload = S["WorkloadOut"];
export type WorkloadDetail = S["WorkloadDetail"];
export type WorkloadList = S["WorkloadList"];
export type FleetMetricsSnapshot = S["FleetMetricsSnapshot"];
export type UnitChange = S["UnitState"];
export type Unit = S["UnitOut"];
export type UnitList = S["UnitList"];
export type AlertView = S["AlertView"];
export type AlertList = S["AlertList"];

/** `GET /api/v1/fleet/history`: the fleet over a recent window, oldest first, one point per step
 * (averages of the snapshots in it); `fleet.metrics` events extend it. */
export type FleetHistory = S["FleetHistory"];
export type FleetHistoryPoint = S["FleetPoint"];
