"""`market.tick` events from a real bus (memory and NATS JetStream) stored in SQLite and
PostgreSQL: each tick once, however often the bus delivers it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from tests.eventually import eventually
from tests.market.conftest import GPUS, NODES, tick

from hcp.core.bus import Bus, Event
from hcp.core.clock import SteppedClock
from hcp.core.db import Database
from hcp.core.outbox import ProcessedEvent
from hcp.market import service
from hcp.market.ingest import CONSUMER, MarketIngester
from hcp.market.models import MarketPrice

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PER_TICK = 4 + len(NODES) + len(GPUS)


async def history_rows(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(MarketPrice)) or 0)


async def processed(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(
            select(func.count()).select_from(ProcessedEvent).where(ProcessedEvent.consumer == CONSUMER)) or 0)


async def test_ticks_from_the_bus_are_stored(bus: Bus, db: Database) -> None:
    clock = SteppedClock(start=T0.timestamp())
    ingester = MarketIngester(db=db, clock=clock)
    subscription = await ingester.subscribe(bus)
    try:
        for minute in range(3):
            ts = T0 + timedelta(minutes=minute)
            await bus.emit_raw("market.tick", tick(ts, btc_usd=65_000.0 + minute), ts=ts)
        await eventually(lambda: history_rows(db), what="ticks stored")
        await eventually(lambda: _rows_equal(db, 3 * PER_TICK), what="all three ticks")
        async with db.session() as session:
            prices = await service.latest_prices(session=session, now=T0 + timedelta(minutes=2), stale_after_s=600)
        assert prices.btc_usd == 65_002.0 and prices.electricity_usd_per_mwh == NODES and not prices.stale
        north = prices.electricity("HB_NORTH")
        assert north is not None and north.source == "sim" and north.received_at == T0
        assert await processed(db) == 3
    finally:
        await subscription.stop()


async def _rows_equal(db: Database, expected: int) -> bool:
    return await history_rows(db) == expected


async def test_a_redelivered_tick_is_stored_once(bus: Bus, db: Database) -> None:
    """The handler commits, then fails before acknowledging (a crash after the write): the bus
    delivers the tick again, and the second delivery changes nothing."""
    ingester = MarketIngester(db=db, clock=SteppedClock(start=T0.timestamp()))
    deliveries: dict[str, int] = {}

    async def crash_after_commit(event: Event) -> None:
        await ingester.handle(event)
        deliveries[event.id] = deliveries.get(event.id, 0) + 1
        if deliveries[event.id] == 1:
            raise RuntimeError("lost the ack")

    subscription = await bus.subscribe("market.tick", crash_after_commit, durable=CONSUMER)
    try:
        first = await bus.emit_raw("market.tick", tick(T0, btc_usd=61_000.0), ts=T0)
        await eventually(lambda: deliveries.get(first.id, 0) >= 2, what="the redelivery")
        assert await history_rows(db) == PER_TICK and await processed(db) == 1
        # The same tick published again under its id within the dedup window is not even delivered;
        # handed to the consumer directly it is still stored once.
        await bus.publish(first)
        await ingester.handle(first)
        second = await bus.emit_raw("market.tick", tick(T0 + timedelta(minutes=1), btc_usd=62_000.0), ts=T0)
        await eventually(lambda: deliveries.get(second.id, 0) >= 2, what="the second tick")
        assert await history_rows(db) == 2 * PER_TICK and await processed(db) == 2
        assert deliveries[first.id] == 2
    finally:
        await subscription.stop()


async def test_a_malformed_tick_is_dropped_and_the_next_one_stored(bus: Bus, db: Database) -> None:
    ingester = MarketIngester(db=db, clock=SteppedClock(start=T0.timestamp()))
    subscription = await ingester.subscribe(bus)
    try:
        await bus.emit_raw("market.tick", {"ts": "2026-01-01T00:00:00Z", "btc_usd": "a lot"}, ts=T0)
        await bus.emit_raw("market.tick", {"ts": "not a time", "btc_usd": 65_000.0}, ts=T0)
        good = tick(T0 + timedelta(minutes=1))
        await bus.emit_raw("market.tick", good, ts=T0)
        await eventually(lambda: _rows_equal(db, PER_TICK), what="the good tick")
        # Dropped ticks are acknowledged, not retried: nothing of them was applied or recorded.
        assert await processed(db) == 1
    finally:
        await subscription.stop()


async def test_a_restarted_consumer_resumes_where_it_stopped(bus: Bus, db: Database) -> None:
    clock = SteppedClock(start=T0.timestamp())
    subscription = await MarketIngester(db=db, clock=clock).subscribe(bus)
    await bus.emit_raw("market.tick", tick(T0), ts=T0)
    await eventually(lambda: _rows_equal(db, PER_TICK), what="the first tick")
    await subscription.stop()
    # Published while no ingester runs: the durable consumer keeps it for the next one.
    await bus.emit_raw("market.tick", tick(T0 + timedelta(minutes=1), btc_usd=70_000.0), ts=T0)
    subscription = await MarketIngester(db=db, clock=clock).subscribe(bus)
    try:
        await eventually(lambda: _rows_equal(db, 2 * PER_TICK), what="the tick published while stopped")
        async with db.session() as session:
            prices = await service.latest_prices(session=session, now=clock.now(), stale_after_s=600)
        assert prices.btc_usd == 70_000.0
    finally:
        await subscription.stop()
