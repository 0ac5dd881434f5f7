"""A state change and its event commit together: on SQLite and PostgreSQL, memory bus and NATS."""

from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from pydantic_core import PydanticSerializationError
from sqlalchemy import func, select
from tests.eventually import eventually

from hcp.core.bus import Bus, Event, Payload
from hcp.core.db import Database
from hcp.core.outbox import OutboxEvent, OutboxRelay, ProcessedEvent, add_event, first_delivery
from hcp.resources.models import Facility


@pytest.fixture
async def relay(db: Database, bus: Bus):
    instance = OutboxRelay(db, bus, poll_s=0.05)
    instance.start()
    yield instance
    await instance.stop()



# Event bodies of the outbox's own tests (core knows no domain's events).
class UnitProbe(Payload):
    subject: ClassVar[str] = "unit.state"
    unit: str


class PlanProbe(Payload):
    subject: ClassVar[str] = "plan.decided"
    n: int


class UsageProbe(Payload):
    subject: ClassVar[str] = "billing.usage"
    gpu_seconds: int


class OpaqueProbe(Payload):
    subject: ClassVar[str] = "unit.state"
    bad: Any


async def collect(bus: Bus, subject: str, durable: str) -> tuple[list[Event], object]:
    got: list[Event] = []

    async def handler(event: Event) -> None:
        got.append(event)

    return got, await bus.subscribe(subject, handler, durable=durable)


def facility(fid: str) -> Facility:
    return Facility(id=fid, name=fid, location="L", power_cap_kw=10.0, market_node="N",
                    created_at=datetime.now(UTC))


async def test_rolled_back_event_is_never_delivered_committed_one_is(
    db: Database, bus: Bus, relay: OutboxRelay
) -> None:
    got, sub = await collect(bus, "unit.state", "watcher")
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            session.add(facility("lost"))
            add_event(session, UnitProbe(unit="lost"))
            await session.flush()
            raise RuntimeError("crash before commit")
    async with db.transaction() as session:
        session.add(facility("kept"))
        add_event(session, UnitProbe(unit="kept"))

    # The relay publishes in outbox order: a rolled-back event, had it been sent, comes first.
    await eventually(lambda: got, 5, what="the committed event")
    assert [e.data["unit"] for e in got] == ["kept"]
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 1
        assert await session.get(Facility, "lost") is None
    await sub.stop()


async def test_commit_wakes_the_relay_without_waiting_for_a_poll(db: Database, bus: Bus) -> None:
    slow = OutboxRelay(db, bus, poll_s=30.0)
    slow.start()
    got, sub = await collect(bus, "plan.decided", "fast")
    try:
        async with db.transaction() as session:
            add_event(session, PlanProbe(n=1))
        await eventually(lambda: got, 3, what="the event, long before the 30 s poll")
        assert len(got) == 1
    finally:
        await sub.stop()
        await slow.stop()


async def test_redelivered_event_is_applied_once(db: Database, bus: Bus) -> None:
    """The relay publishes, crashes before marking, and publishes again on restart;
    a consumer that records event ids applies the change once."""
    async with db.transaction() as session:
        sent = add_event(session, UsageProbe(gpu_seconds=60))
    relay = OutboxRelay(db, bus)
    async with db.session() as session:
        pending = (await session.execute(select(OutboxEvent))).scalars().all()
    await relay._publish(pending)  # published, then "crash" before _mark
    assert await relay.publish_pending() == 1  # restart: published again
    assert await relay.publish_pending() == 0

    applied: list[int] = []
    deliveries: list[str] = []

    async def meter(event: Event) -> None:
        deliveries.append(event.id)
        async with db.transaction() as session:
            if await first_delivery(session, consumer="meter", event_id=event.id):
                applied.append(event.data["gpu_seconds"])

    sub = await bus.subscribe("billing.usage", meter, durable="meter")
    # The same event handed over directly as well, as a redelivery after a lost ack would.
    await meter(Event(subject=sent.subject, data=sent.data, id=sent.id, ts=sent.ts))
    await eventually(lambda: len(deliveries) >= 2, 3, what="the bus's delivery beside the direct one")
    assert applied == [60]
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1
    await sub.stop()


async def test_unserialisable_payload_fails_the_transaction(db: Database) -> None:
    with pytest.raises(PydanticSerializationError):
        async with db.transaction() as session:
            add_event(session, OpaqueProbe(bad=object()))
