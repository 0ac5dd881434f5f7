"""The metering consumer as two billing replicas sharing one durable consumer, on the memory bus
and NATS JetStream: every event published twice, usage counted once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import func, select
from tests.billing.test_metering import T0, run_events
from tests.eventually import eventually

from hcp.billing.loop import BillingLoop
from hcp.billing.models import Usage
from hcp.core.bus import Bus, Event, Handler
from hcp.core.db import Database, new_id
from hcp.core.settings import Settings


async def test_two_replicas_meter_each_event_once(db: Database, bus: Bus) -> None:
    platform = SimpleNamespace(db=db, bus=bus, settings=Settings(), clock=None)
    replicas = [BillingLoop(platform), BillingLoop(platform)]  # type: ignore[arg-type]
    handled: set[str] = set()

    def counted(handler: Handler) -> Handler:
        async def handle(event: Event) -> None:
            await handler(event)
            handled.add(event.id)
        return handle

    for replica in replicas:
        replica.subscription = await bus.subscribe("workload.state", counted(replica.on_workload_state),
                                                   durable="billing-metering")
    workloads = [new_id() for _ in range(4)]
    events = [e for i, w in enumerate(workloads)
              for e in run_events(w, [(T0 + timedelta(hours=i), T0 + timedelta(hours=i, minutes=30)),
                                      (T0 + timedelta(hours=i, minutes=40), T0 + timedelta(hours=i, minutes=50))])]
    for event in events + events:  # redelivered: the bus's window may drop the copy; first_delivery must
        await bus.publish(event)
    expected = Decimal(len(workloads) * 2 * (1800 + 600))
    # Every event handled by one replica or the other (the copies are within the dedup window),
    # so nothing is left over to show later.
    await eventually(lambda: handled >= {e.id for e in events}, 45, what="every event handled")
    async with db.session() as session:
        total = Decimal(str(await session.scalar(select(func.coalesce(func.sum(Usage.gpu_seconds), 0)))))
        rows = await session.scalar(select(func.count()).select_from(Usage))
    for replica in replicas:
        assert replica.subscription is not None
        await replica.subscription.stop()
    assert (total, rows) == (expected, len(workloads) * 2)
