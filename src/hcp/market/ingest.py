"""What the market domain runs in a process: the `market.tick` consumer that stores prices, the
retention that prunes old history, and the pollers of whichever real feeds are enabled.

The consumer is durable (`market-ingest`): replicas share the ticks, a restart resumes where it
stopped, and each tick is applied once (its event id is recorded by `first_delivery` in the same
transaction as its prices). A malformed tick is logged, counted and acknowledged, never retried.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import httpx
import structlog
from prometheus_client import Counter
from sqlalchemy import delete

from hcp.core.bus import Bus, Event, MalformedEvent, Subscription
from hcp.core.clock import Clock
from hcp.core.component import tasks_health
from hcp.core.db import Database, utcnow
from hcp.core.metrics import REGISTRY
from hcp.core.outbox import ProcessedEvent, first_delivery
from hcp.core.platform import Platform
from hcp.core.tasks import cancel_tasks
from hcp.kernel.events import MarketTick
from hcp.market import service
from hcp.market.feeds import build_feeds
from hcp.market.poller import FeedPoller

log = structlog.get_logger(__name__)

CONSUMER = "market-ingest"
# Ids of applied ticks are kept as long as the bus keeps events (NATS stream max_age), after
# which no redelivery can come.
PROCESSED_KEEP = timedelta(days=7)

TICKS = Counter(
    "hcp_market_ticks_total", "market.tick events consumed, by outcome (stored, duplicate, malformed)",
    ["outcome"], registry=REGISTRY,
)


class MarketIngester:
    """Stores each `market.tick` from the bus: history, latest per series, once per event."""

    def __init__(self, *, db: Database, clock: Clock, consumer: str = CONSUMER) -> None:
        self.db, self.clock, self.consumer = db, clock, consumer

    async def subscribe(self, bus: Bus) -> Subscription:
        return await bus.subscribe("market.tick", self.handle, durable=self.consumer)

    async def handle(self, event: Event) -> None:
        try:
            tick = event.parse(MarketTick)  # malformed: the bus logs it and dead-letters it once
        except MalformedEvent:
            TICKS.labels(outcome="malformed").inc()
            raise
        observations = service.observations_from_tick(tick, fallback_ts=event.ts)
        async with self.db.transaction() as session:
            if not await first_delivery(session, consumer=self.consumer, event_id=event.id):
                TICKS.labels(outcome="duplicate").inc()
                return
            await service.record_observations(
                session=session, observations=observations, received_at=self.clock.now()
            )
        TICKS.labels(outcome="stored").inc()


class MarketRuntime:
    def __init__(self, platform: Platform, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.platform = platform
        self.settings = platform.settings.market
        self.ingester = MarketIngester(db=platform.db, clock=platform.clock)
        unknown = sorted(set(self.settings.stale_after_by_kind_s) - set(service.KINDS))
        if unknown:
            log.warning("HCP_MARKET__STALE_AFTER_BY_KIND_S names unknown kinds; they are ignored",
                        unknown=unknown, kinds=list(service.KINDS))
        feeds = build_feeds(self.settings)
        self.poller: FeedPoller | None = None
        if feeds:
            self.poller = FeedPoller(feeds=feeds, bus=platform.bus, clock=platform.clock,
                                     timeout_s=self.settings.feed_timeout_s, transport=transport)
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []

    name = "market"

    def health(self) -> str:
        return tasks_health(self._tasks) if self._subscription is not None else "stopped"

    async def start(self) -> None:
        if self.settings.ingest:
            self._subscription = await self.ingester.subscribe(self.platform.bus)
            self._tasks.append(asyncio.create_task(self._retention(), name="market-retention"))
        if self.poller is not None:
            if self.platform.clock.speed != 1.0:
                log.warning("real market feeds report real time, but the platform clock runs at "
                            f"{self.platform.clock.speed}x: their prices will look stale or early")
            self.poller.start()
            log.info("market feeds polling", feeds=[f.name for f in self.poller.feeds])

    async def stop(self) -> None:
        await cancel_tasks(self._tasks)
        self._tasks.clear()
        if self.poller is not None:
            await self.poller.stop()
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.stop()
            self._subscription = None

    async def _retention(self) -> None:
        while True:
            # History is stamped on the platform's clock, so it ages on that clock too.
            await self.platform.clock.sleep(self.settings.prune_interval_s)
            try:
                await self.prune()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("market history pruning failed; retrying next round", exc_info=True)

    async def prune(self) -> int:
        """Delete history past the retention, and this consumer's old processed-event ids."""
        before = service.retention_cutoff(self.platform.clock.now(), self.settings.history_retention_days)
        async with self.platform.db.transaction() as session:
            deleted = await service.prune_history(session=session, before=before)
            await session.execute(delete(ProcessedEvent).where(
                ProcessedEvent.consumer == self.ingester.consumer,
                ProcessedEvent.processed_at < utcnow() - PROCESSED_KEEP,
            ))
        if deleted:
            log.info("market history pruned", rows=deleted, before=before.isoformat())
        return deleted

    def feed_views(self) -> list[dict[str, Any]]:
        if self.poller is None:
            return []
        return self.poller.feed_views(now=self.platform.clock.now(), stale_after_s=self.settings.stale_after_s,
                                      stale_after_by_kind_s=self.settings.stale_after_by_kind_s)


def runtime_of(platform: Platform) -> MarketRuntime | None:
    return platform.components.get(MarketRuntime)
