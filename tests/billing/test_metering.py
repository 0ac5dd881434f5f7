"""Metering on SQLite and PostgreSQL: GPU time from workload.state events, once per event,
whatever the order; preemption splits usage; invoices total the exact rate x time, to the cent."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from hcp.billing import invoices, metering
from hcp.billing import service as billing
from hcp.billing.models import Usage
from hcp.core.bus import Event
from hcp.core.db import Database, new_id
from hcp.core.money import to_cents
from hcp.core.outbox import OutboxEvent
from hcp.core.settings import BillingSettings

SETTINGS = BillingSettings()
T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def state(workload: str, previous: str, status: str, at: datetime, *, tenant: str = "t-acme", model: str = "H100",
          count: int = 2, priority: int = 5, preemptions: int = 0, queued_at: datetime = T0,
          placed: str | None = None) -> Event:
    """A workload.state event as the orchestrator's lifecycle writes it (the fields billing reads)."""
    data: dict[str, Any] = {
        "id": workload, "name": f"job-{workload[:6]}", "tenant_id": tenant, "type": "ai_training",
        "priority": priority, "gpu_model": model, "gpu_count": count, "duration_s": 3600.0,
        "max_price_usd_per_gpu_hour": None, "preemptible": True, "status": status, "previous_status": previous,
        "units": [], "facility_id": None, "submitted_at": T0.isoformat(), "queued_at": queued_at.isoformat(),
        "started_at": None, "finished_at": None, "failure_reason": None, "wait_reason": None,
        "preemptions": preemptions, "created_by": None, "placed_gpu_model": placed}
    return Event(subject="workload.state", data=data, id=new_id(), ts=at.isoformat())


def run_events(workload: str, spans: list[tuple[datetime, datetime]], **kw: Any) -> list[Event]:
    """The events of a workload that ran over `spans`, preempted between them (a preemption
    counts itself before its event; requeueing moves queued_at)."""
    queued_at = spans[0][0] - timedelta(seconds=5)
    events = [state(workload, "queued", "scheduled", spans[0][0] - timedelta(seconds=2), queued_at=queued_at, **kw)]
    for i, (begin, end) in enumerate(spans):
        run = {"preemptions": i, "queued_at": queued_at, **kw}
        events.append(state(workload, "scheduled", "switching", begin - timedelta(milliseconds=400), **run))
        events.append(state(workload, "switching", "running", begin, **run))
        last = i == len(spans) - 1
        if last:
            events.append(state(workload, "running", "completed", end, **run))
        else:
            events.append(state(workload, "running", "preempted", end, **{**run, "preemptions": i + 1}))
            queued_at = end
            events.append(state(workload, "preempted", "queued", end, **{**run, "preemptions": i + 1,
                                                                            "queued_at": queued_at}))
    return events


async def deliver(db: Database, events: list[Event]) -> None:
    for event in events:
        async with db.transaction() as session:
            await metering.apply_event(session=session, event=event, settings=SETTINGS)


async def test_work_for_any_gpu_is_billed_for_the_gpus_the_event_says_it_landed_on(db: Database) -> None:
    """A workload of model "any" pays the rate of the model it was placed on, as `workload.state`
    carries it; billing asks no other domain. A model off the card pays the "any" (dearest) rate."""
    on_a100, unknown = new_id(), new_id()
    span = [(T0, T0 + timedelta(hours=1))]
    await deliver(db, run_events(on_a100, span, model="any", placed="NVIDIA A100-SXM4-80GB"))
    await deliver(db, run_events(unknown, span, model="any", placed="Radeon Instinct MI300X"))
    async with db.session() as session:
        rows = (await session.execute(select(Usage.workload_id, Usage.rate_usd_per_gpu_hour, Usage.gpu_model))).all()
    rates = {workload: rate for workload, rate, _ in rows}
    models = {workload: model for workload, _, model in rows}
    assert Decimal(rates[on_a100]) == Decimal("1.60") and models[on_a100] == "A100"
    assert Decimal(rates[unknown]) == Decimal("2.50") and models[unknown] == "any"


async def gpu_seconds(db: Database, workload: str | None = None) -> Decimal:
    async with db.session() as session:
        stmt = select(func.coalesce(func.sum(Usage.gpu_seconds), 0))
        if workload is not None:
            stmt = stmt.where(Usage.workload_id == workload)
        return Decimal(str(await session.scalar(stmt)))


async def test_running_time_is_metered_and_switch_time_is_not(db: Database) -> None:
    w = new_id()
    await deliver(db, run_events(w, [(T0, T0 + timedelta(hours=1, seconds=30, microseconds=250_000))]))
    # 2 GPUs x 3630.25 s; the 400 ms switch before `running` is not billed.
    assert await gpu_seconds(db, w) == Decimal("7260.5")
    async with db.session() as session:
        events = (await session.execute(select(OutboxEvent).where(OutboxEvent.subject == "billing.usage"))).scalars()
        usage_events = list(events)
    assert len(usage_events) == 1 and usage_events[0].payload["gpu_seconds"] == "7260.500000"


async def test_every_event_delivered_twice_changes_nothing(db: Database) -> None:
    w = new_id()
    events = run_events(w, [(T0, T0 + timedelta(minutes=30)), (T0 + timedelta(hours=2), T0 + timedelta(hours=3))])
    await deliver(db, events)
    once = await gpu_seconds(db, w)
    await deliver(db, events)  # every event redelivered
    await deliver(db, list(reversed(events)))
    assert await gpu_seconds(db, w) == once == Decimal(2 * (1800 + 3600))
    async with db.session() as session:
        rows = await session.scalar(select(func.count()).select_from(Usage).where(Usage.workload_id == w))
    assert rows == 2  # preemption split the usage in two segments


async def test_events_out_of_order_pair_the_same_way(db: Database) -> None:
    w = new_id()
    events = run_events(w, [(T0, T0 + timedelta(minutes=10)), (T0 + timedelta(minutes=20), T0 + timedelta(minutes=25))])
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)
    await deliver(db, shuffled)
    assert await gpu_seconds(db, w) == Decimal(2 * (600 + 300))


async def test_an_end_waits_for_its_own_start(db: Database) -> None:
    # The first run's start and the second run's end arrive first (two replicas, a slow one):
    # the end must not be paired with the first run's start.
    w = new_id()
    events = run_events(w, [(T0, T0 + timedelta(minutes=30)), (T0 + timedelta(minutes=40), T0 + timedelta(minutes=50))])
    start1, end1, _start2, end2 = (e for e in events if metering.mark_kind(
        e.data["previous_status"], e.data["status"]) is not None)
    await deliver(db, [start1, end2])
    assert await gpu_seconds(db, w) == 0
    await deliver(db, [end1])
    assert await gpu_seconds(db, w) == 2 * 1800
    await deliver(db, events)
    assert await gpu_seconds(db, w) == 2 * (1800 + 600)


async def test_usage_is_split_at_midnight_and_month_end(db: Database) -> None:
    w = new_id()
    begin = datetime(2026, 10, 31, 22, 0, tzinfo=UTC)
    await deliver(db, run_events(w, [(begin, begin + timedelta(hours=4))], count=1))
    async with db.session() as session:
        rows = (await session.execute(select(Usage).where(Usage.workload_id == w).order_by(Usage.started_at))).scalars()
        parts = [(u.started_at, u.ended_at, u.gpu_seconds) for u in rows]
    assert [p[2] for p in parts] == [Decimal(7200), Decimal(7200)]
    assert parts[1][0] == datetime(2026, 11, 1, tzinfo=UTC)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    durations=st.lists(st.tuples(st.integers(1, 50_000), st.integers(0, 999_999), st.integers(1, 8),
                                 st.sampled_from(["H100", "A100"]), st.integers(1, 10)), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
)
async def test_invoice_total_is_the_exact_sum_of_rate_times_time(
    db: Database, durations: list[tuple[int, int, int, str, int]], seed: int,
) -> None:
    tenant = f"t-{new_id()[:8]}"
    events: list[Event] = []
    expected_lines = []
    for i, (secs, micros, count, model, priority) in enumerate(durations):
        begin = T0 + timedelta(days=i)
        end = begin + timedelta(seconds=secs, microseconds=micros)
        events += run_events(new_id(), [(begin, end)], tenant=tenant, model=model, count=count, priority=priority)
        rate = SETTINGS.rates_usd_per_gpu_hour[model] * SETTINGS.priority_multipliers.get(priority, Decimal(1))
        exact = (Decimal(secs) + Decimal(micros) / 1_000_000) * count * rate / 3600
        expected_lines.append(to_cents(exact))
    rng = random.Random(seed)
    delivered = events + rng.sample(events, k=len(events) // 2)  # some delivered twice
    rng.shuffle(delivered)
    await deliver(db, delivered)
    async with db.transaction() as session:
        invoice = await invoices.close_month(session=session, settings=SETTINGS, tenant_id=tenant, period="2026-10",
                                             now=datetime(2026, 11, 1, 1, tzinfo=UTC))
        assert invoice is not None
        lines = await invoices.lines_of(session=session, invoice_id=invoice.id)
    subtotal = sum(expected_lines, Decimal(0))
    assert sorted(Decimal(li.amount_usd) for li in lines) == sorted(expected_lines)
    assert Decimal(invoice.subtotal_usd) == subtotal
    assert Decimal(invoice.total_usd) == subtotal + to_cents(subtotal * SETTINGS.tax_rate)
    assert invoice.status == "issued"


async def test_budget_events_once_per_threshold(db: Database) -> None:
    tenant = f"t-{new_id()[:8]}"
    async with db.transaction() as session:
        await billing.set_budget(session=session, tenant_id=tenant, monthly_limit_usd=Decimal("10.00"))
    # 2 H100 at $2.50: 1.7 h = $8.50 (85%), then 0.4 h more = $10.50 (105%).
    first = run_events(new_id(), [(T0, T0 + timedelta(hours=1.7))], tenant=tenant)
    second = run_events(new_id(), [(T0 + timedelta(hours=3), T0 + timedelta(hours=3.4))], tenant=tenant)
    for events in (first, second, first, second):
        for event in events:
            async with db.transaction() as session:
                created = await metering.apply_event(session=session, event=event, settings=SETTINGS)
                for u in created:
                    await billing.check_thresholds(session=session, tenant_id=u.tenant_id, when=u.ended_at)
    async with db.session() as session:
        sent = (await session.execute(select(OutboxEvent).where(OutboxEvent.subject == "billing.budget")
                                      .order_by(OutboxEvent.seq))).scalars().all()
    assert [e.payload for e in sent] == [
        {"tenant_id": tenant, "month": "2026-10", "threshold_pct": 80, "spent_usd": "8.50", "limit_usd": "10.00"},
        {"tenant_id": tenant, "month": "2026-10", "threshold_pct": 100, "spent_usd": "10.50", "limit_usd": "10.00"},
    ]
    async with db.session() as session:
        try:
            await billing.check_admission(session=session, settings=SETTINGS, tenant_id=tenant, gpu_model="A100",
                                          gpu_count=1, duration_s=60, priority=5, now=T0 + timedelta(hours=5))
        except billing.BudgetExceeded as exc:
            assert exc.status_code == 402
            assert "$10.50" in exc.message and "$0.03" in exc.message and "$10.00" in exc.message
        else:
            raise AssertionError("a tenant over budget was admitted")
