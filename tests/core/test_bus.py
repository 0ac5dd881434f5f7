"""The bus contract, run on the in-memory bus and on NATS JetStream alike."""

import pytest
from tests.eventually import eventually

from hcp.core.bus import Bus, Event, subject_matches


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [("unit.state", "unit.state", True), ("unit.*", "unit.state", True), ("unit.*", "unit", False),
     ("unit.*", "unit.state.x", False), ("unit.>", "unit.state.x", True), (">", "a", True),
     ("unit.>", "unit", False), ("workload.state", "unit.state", False)],
)
def test_subject_wildcards(pattern: str, subject: str, expected: bool) -> None:
    assert subject_matches(pattern, subject) is expected


async def test_publish_reaches_subscriber_in_order(bus: Bus) -> None:
    got: list[int] = []

    async def handler(event: Event) -> None:
        got.append(event.data["n"])

    sub = await bus.subscribe("unit.*", handler, durable="order")
    for n in range(20):
        await bus.publish(Event(subject="unit.state", data={"n": n}))
    await bus.publish(Event(subject="market.tick", data={"n": -1}))
    # A last event that matches: once it is in, anything out of order or twice is in before it.
    await bus.publish(Event(subject="unit.state", data={"n": 20}))
    await eventually(lambda: 20 in got, 5, what="the last event")
    assert got == list(range(21))
    await sub.stop()


async def test_same_id_published_twice_is_delivered_once(bus: Bus) -> None:
    got: list[str] = []

    async def handler(event: Event) -> None:
        got.append(event.id)

    sub = await bus.subscribe("workload.state", handler, durable="dedup")
    event = Event(subject="workload.state", data={"status": "queued"})
    await bus.publish(event)
    await bus.publish(event)
    after = Event(subject="workload.state", data={"status": "running"})
    await bus.publish(after)
    # Delivered in order: a second copy would be in before the event published after it.
    await eventually(lambda: after.id in got, 5, what="the event published after the repeat")
    assert got == [event.id, after.id]
    await sub.stop()


async def test_failed_handler_gets_the_event_again(bus: Bus) -> None:
    attempts: list[str] = []

    async def flaky(event: Event) -> None:
        attempts.append(event.id)
        if len(attempts) < 3:
            raise RuntimeError("transient")

    sub = await bus.subscribe("billing.usage", flaky, durable="flaky")
    await bus.publish(Event(subject="billing.usage", data={}))
    await eventually(lambda: len(attempts) >= 3, 5, what="two redeliveries")
    assert len(set(attempts)) == 1
    await sub.stop()


async def test_durable_consumer_resumes_where_it_stopped(bus: Bus) -> None:
    got: list[int] = []

    async def handler(event: Event) -> None:
        got.append(event.data["n"])

    sub = await bus.subscribe("plan.decided", handler, durable="planner")
    await bus.publish(Event(subject="plan.decided", data={"n": 1}))
    await eventually(lambda: got == [1], 5)
    await sub.stop()
    await bus.publish(Event(subject="plan.decided", data={"n": 2}))  # while nobody listens
    sub = await bus.subscribe("plan.decided", handler, durable="planner")
    await eventually(lambda: got == [1, 2], 5, what="the event published while nobody listened")
    await sub.stop()


async def test_ephemeral_subscriber_sees_only_new_events(bus: Bus) -> None:
    await bus.publish(Event(subject="alert.raised", data={"n": "old"}))
    got: list[str] = []

    async def handler(event: Event) -> None:
        got.append(event.data["n"])

    sub = await bus.subscribe("alert.raised", handler)
    await bus.publish(Event(subject="alert.raised", data={"n": "new"}))
    # In stream order, the old event would come first: seeing the new one alone settles it.
    await eventually(lambda: "new" in got, 5)
    assert got == ["new"]
    await sub.stop()
    await bus.ping()
