"""A malformed `market.tick` on a real bus (memory and NATS JetStream) reaches each consumer once:
the model refuses it, the bus logs it and dead-letters it, and nothing retries it; the next tick
goes through as if nothing happened."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from structlog.testing import capture_logs
from tests.eventually import eventually
from tests.market.conftest import GPUS, NODES, tick

from hcp.core.bus import Bus, Event
from hcp.core.clock import SteppedClock
from hcp.core.db import Database
from hcp.kernel.events import MarketTick
from hcp.market.ingest import MarketIngester
from hcp.market.models import MarketPrice

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PER_TICK = 4 + len(NODES) + len(GPUS)


async def stored_rows(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(MarketPrice)) or 0)


async def test_a_malformed_tick_is_dead_lettered_once_and_never_retried(bus: Bus, db: Database) -> None:
    deliveries: Counter[str] = Counter()
    parsed: list[MarketTick] = []
    dead: list[Event] = []

    async def planner_like(event: Event) -> None:  # a second consumer, as economics and alerts are
        deliveries[event.id] += 1
        parsed.append(event.parse(MarketTick))

    async def on_dead(event: Event) -> None:
        dead.append(event)

    with capture_logs() as logs:
        ingester = MarketIngester(db=db, clock=SteppedClock(start=T0.timestamp()))
        subscriptions = [
            await ingester.subscribe(bus),
            await bus.subscribe("market.tick", planner_like, durable="test-planner-like"),
            await bus.subscribe("deadletter.market.tick", on_dead, durable="test-dead-letters"),
        ]
        try:
            bad = Event(subject="market.tick", data={"ts": "2026-01-01T00:00:00Z", "btc_usd": "a lot",
                                                     "electricity_usd_per_mwh": {"HB_NORTH": 41.0}})
            await bus.publish(bad)
            await bus.emit(MarketTick.model_validate(tick(T0 + timedelta(minutes=1))), ts=T0)

            await eventually(lambda: stored_rows(db), what="the good tick after the malformed one")
            assert await stored_rows(db) == PER_TICK
            await eventually(lambda: len(dead) == 2, what="one dead letter per consumer")
            await eventually(lambda: len(parsed) == 1, what="the good tick parsed by the second consumer")
            # Longer than the bus's first retries (50, 100, 200 ms): a retried event would come back.
            await asyncio.sleep(0.6)
            assert deliveries[bad.id] == 1
            assert len(dead) == 2 and await stored_rows(db) == PER_TICK

            letters = {letter.data["consumer"]: letter.data for letter in dead}
            assert set(letters) == {"market-ingest", "test-planner-like"}
            for letter in letters.values():
                assert letter["event"]["id"] == bad.id and letter["event"]["data"] == bad.data
                assert letter["reason"].startswith("btc_usd: ")
            lines = [line for line in logs if line["event"] == "malformed event dead-lettered"]
            assert len(lines) == 2 and {line["consumer"] for line in lines} == set(letters)
            assert all(line["event_id"] == bad.id and line["reason"].startswith("btc_usd: ") for line in lines)
        finally:
            for subscription in subscriptions:
                await subscription.stop()
