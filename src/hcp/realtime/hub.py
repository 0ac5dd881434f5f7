"""The hub of one WebSocket process: bus events in, per-client queues out.

The hub subscribes to the channels' subjects without a durable name, so every WebSocket process
(monolith or any number of split-mode replicas) sees every event. Each event is encoded once,
held in a bounded replay buffer (for clients that come back with `last_id`), and offered to the
queue of every client that subscribed to its channel and may see it. Queues are bounded: a client
whose queue is full is dropped, never buffered for, so a slow reader costs the server at most
`client_queue` messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import Counter, Gauge

from hcp.core.bus import Bus, Event, Subscription, json_default
from hcp.core.component import tasks_health
from hcp.core.metrics import REGISTRY
from hcp.core.security import Principal
from hcp.core.settings import RealtimeSettings
from hcp.core.tasks import cancel_tasks

log = structlog.get_logger(__name__)

# Which bus subjects feed each channel.
CHANNELS: dict[str, tuple[str, ...]] = {
    "workloads": ("workload.state",),
    "resources": ("unit.state",),
    "metrics": ("fleet.metrics",),
    "prices": ("market.tick",),
    "plan": ("plan.decided",),
    "alerts": ("alert.raised", "alert.acked", "alert.resolved"),
    "billing": ("billing.usage", "invoice.issued", "billing.budget"),
}
CHANNEL_OF: dict[str, str] = {subject: channel for channel, subjects in CHANNELS.items() for subject in subjects}
# What the hub subscribes to: one subscription keeps its subjects in order, so an alert's
# `alert.resolved` never overtakes its `alert.raised`. Order holds within a channel, not across.
SUBSCRIPTIONS = ("workload.state", "unit.state", "fleet.metrics", "market.tick", "plan.decided", "alert.*",
                 "billing.*", "invoice.issued")
# Channels whose events belong to a tenant: a customer gets their own tenant's, staff all. The
# other channels are the fleet's, for staff only.
TENANT_CHANNELS = frozenset({"workloads", "billing", "alerts"})

WS_CLIENTS = Gauge("hcp_ws_clients", "WebSocket clients connected to this process", registry=REGISTRY)
WS_DROPPED = Counter("hcp_ws_dropped_total", "WebSocket clients dropped for reading too slowly",
                     registry=REGISTRY)

# Close codes: 1008 policy violation (bad credential), 1013 try again later (too slow, too many).
CLOSE_POLICY = 1008
CLOSE_TRY_LATER = 1013


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), default=json_default)


def control(event: str, data: dict[str, Any]) -> str:
    """A message of the server's own (not a bus event): no id, no channel."""
    return encode({"id": None, "channel": None, "event": event, "ts": datetime.now(UTC).isoformat(), "data": data})


def allowed_channels(principal: Principal) -> frozenset[str]:
    return frozenset(CHANNELS) if principal.is_staff else TENANT_CHANNELS


@dataclass(frozen=True, slots=True)
class Held:
    """One event as sent, kept for replay: its position, id, channel and tenant, and its text."""

    seq: int
    id: str
    channel: str
    tenant_id: str | None
    text: str


@dataclass(eq=False)
class Client:
    principal: Principal
    queue: asyncio.Queue[str]
    channels: set[str] = field(default_factory=set)
    dropped: asyncio.Event = field(default_factory=asyncio.Event)

    def may_see(self, held: Held) -> bool:
        if held.channel not in self.channels:
            return False
        if self.principal.is_staff:
            return True
        return held.tenant_id is not None and held.tenant_id == self.principal.tenant_id


class Hub:
    def __init__(self, bus: Bus, settings: RealtimeSettings) -> None:
        self.bus, self.settings = bus, settings
        self.clients: set[Client] = set()
        self._held: deque[Held] = deque()
        self._index: dict[str, int] = {}  # event id -> seq, for the events held
        self._seq = 0
        self._subs: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.delivered = 0  # messages put in client queues, for the benchmark

    # --- life cycle ------------------------------------------------------------------------------
    name = "realtime-hub"

    def health(self) -> str:
        return tasks_health(self._tasks) if self._subs else "stopped"

    async def start(self) -> None:
        for pattern in SUBSCRIPTIONS:
            self._subs.append(await self.bus.subscribe(pattern, self._on_event))
        self._tasks.append(asyncio.create_task(self._heartbeats(), name="ws-heartbeats"))

    async def stop(self) -> None:
        await cancel_tasks(self._tasks)
        self._tasks.clear()
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.stop()
        self._subs.clear()
        for client in list(self.clients):
            self.disconnect(client)

    # --- clients ---------------------------------------------------------------------------------
    def connect(self, principal: Principal) -> Client | None:
        """A new client, or None when this process serves as many as it may."""
        if len(self.clients) >= self.settings.max_clients:
            return None
        client = Client(principal=principal, queue=asyncio.Queue(maxsize=self.settings.client_queue))
        self.clients.add(client)
        WS_CLIENTS.inc()
        return client

    def disconnect(self, client: Client) -> None:
        if client in self.clients:
            self.clients.discard(client)
            WS_CLIENTS.dec()

    def drop(self, client: Client) -> None:
        """Too slow: forget what it has not read, and tell its connection to close."""
        if client.dropped.is_set():
            return
        client.dropped.set()
        self.disconnect(client)
        while not client.queue.empty():
            client.queue.get_nowait()
        WS_DROPPED.inc()
        log.warning("websocket client dropped: too slow", user=client.principal.email,
                    queue=self.settings.client_queue)

    def offer(self, client: Client, text: str) -> bool:
        if client.dropped.is_set():
            return False
        try:
            client.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.drop(client)
            return False
        return True

    def subscribe(self, client: Client, channels: Iterable[str], *, last_id: str | None = None) -> None:
        """Add channels (those it may not have are refused by name), acknowledge, then replay
        what it missed since `last_id` on them, or send `reset` when that is no longer held.

        Runs without awaiting, so no live event can slip in between the replay and the ack."""
        asked = list(dict.fromkeys(channels))
        unknown = [c for c in asked if c not in CHANNELS]
        denied = [c for c in asked if c in CHANNELS and c not in allowed_channels(client.principal)]
        granted = [c for c in asked if c not in unknown and c not in denied]
        client.channels.update(granted)
        data: dict[str, Any] = {"channels": sorted(client.channels)}
        if denied:
            data["denied"] = denied
        if unknown:
            data["unknown"] = unknown
        if not self.offer(client, control("subscribed", data)) or last_id is None or not granted:
            return
        self._replay(client, set(granted), last_id)

    def _replay(self, client: Client, channels: set[str], last_id: str) -> None:
        seq = self._index.get(last_id)
        if seq is None:
            self.offer(client, control("reset", {
                "last_id": last_id, "reason": "that event is no longer held: reload the state over the API"}))
            return
        first = self._held[0].seq
        missed = [h for h in list(self._held)[seq - first + 1:]
                  if h.channel in channels and client.may_see(h)]
        if len(missed) > client.queue.maxsize - client.queue.qsize():
            self.offer(client, control("reset", {
                "last_id": last_id, "reason": "too much missed to replay: reload the state over the API"}))
            return
        for held in missed:
            self.offer(client, held.text)

    def unsubscribe(self, client: Client, channels: Iterable[str], *, denied: list[str] | None = None) -> None:
        client.channels.difference_update(channels)
        data: dict[str, Any] = {"channels": sorted(client.channels)}
        if denied:
            data["denied"] = denied
        self.offer(client, control("unsubscribed", data))

    def reauthorise(self, client: Client, principal: Principal) -> None:
        """The client's credential now stands for this principal (a changed role or tenant):
        channels it no longer allows are dropped at once, and named."""
        client.principal = principal
        lost = sorted(client.channels - allowed_channels(principal))
        if lost:
            self.unsubscribe(client, lost, denied=lost)

    # --- events ----------------------------------------------------------------------------------
    async def _on_event(self, event: Event) -> None:
        self.publish(event)

    def publish(self, event: Event) -> Held | None:
        """Hold the event and offer it to every client that may see it."""
        channel = CHANNEL_OF.get(event.subject)
        if channel is None or event.id in self._index:
            return None  # not a channel's subject, or a redelivery already sent
        self._seq += 1
        tenant = event.data.get("tenant_id") if isinstance(event.data, dict) else None
        text = encode({"id": event.id, "channel": channel, "event": event.subject, "ts": event.ts,
                       "data": event.data})
        held = Held(self._seq, event.id, channel, str(tenant) if tenant is not None else None, text)
        if self.settings.replay_events:
            self._held.append(held)
            self._index[held.id] = held.seq
            while len(self._held) > self.settings.replay_events:
                self._index.pop(self._held.popleft().id, None)
        for client in list(self.clients):
            if client.may_see(held) and self.offer(client, text):
                self.delivered += 1
        return held

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_s)
            beat = control("heartbeat", {})
            for client in list(self.clients):
                self.offer(client, beat)
