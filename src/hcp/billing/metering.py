"""Metering: GPU time from `workload.state` events, de-duplicated, paired, split by UTC day.

Each event that starts (switching -> running) or ends (running -> anything) billable time is
stored as a mark, keyed by the event's id. The marks of a workload are then paired in time
order into usage segments, keyed by the start mark: whatever the order or the number of times
the events arrive (redelivery, several replicas consuming one durable group), the same
segments come out once. Switch time is not billed: time starts at running.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.billing import rates
from hcp.billing.models import Usage, UsageMark
from hcp.billing.schemas import UsageByDay, UsageByModel, UsageByWorkload, UsageGrouping, UsageReport
from hcp.core.bus import Event
from hcp.core.db import lock_until_commit, new_id, upsert
from hcp.core.metrics import REGISTRY
from hcp.core.money import to_cents
from hcp.core.outbox import add_event, first_delivery
from hcp.core.settings import BillingSettings
from hcp.kernel.enums import FINAL_STATUSES, WorkloadStatus
from hcp.kernel.events import BillingUsage, WorkloadState

log = structlog.get_logger(__name__)

CONSUMER = "billing-metering"
USAGE_SUBJECT = "billing.usage"
METERED = Counter("hcp_billing_metered_gpu_seconds_total", "GPU-seconds metered into usage",
                  ["gpu_model"], registry=REGISTRY)
DUPLICATES = Counter("hcp_billing_duplicate_events_total", "workload.state events delivered again and ignored",
                     registry=REGISTRY)
MICRO = Decimal("0.000001")


def seconds(delta: timedelta) -> Decimal:
    """A timedelta as exact decimal seconds (microseconds kept)."""
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) * MICRO


def segment_of(kind: str, workload: WorkloadState) -> str | None:
    """The run a mark belongs to: (preemptions, queued_at) as at its start. A preemption counts
    itself before its event and a drift back to the queue moves queued_at: for the latter no key
    can be known, and the end pairs with the start just before it in time."""
    status, preemptions, queued_at = workload.status, workload.preemptions, workload.queued_at
    if queued_at is None:
        return None
    if kind == "end" and status == WorkloadStatus.PREEMPTED:
        preemptions -= 1
    elif kind == "end" and status not in FINAL_STATUSES:
        return None
    return f"{preemptions}|{queued_at.isoformat()}"[:80]


def mark_kind(previous: str | None, status: str) -> str | None:
    if previous == "switching" and status == "running":
        return "start"
    if previous == "running" and status != "running":
        return "end"
    return None


def day_parts(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at each UTC midnight in between."""
    parts = []
    cursor = start
    while cursor < end:
        midnight = (cursor + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        stop = min(midnight, end)
        parts.append((cursor, stop))
        cursor = stop
    return parts


def card_model(hardware_model: str | None, known: Sequence[str]) -> str | None:
    """The rate-card model of a GPU's hardware model name ("NVIDIA H100 80GB HBM3" -> "H100")."""
    name = (hardware_model or "").upper()
    return next((model for model in known if model.upper() in name), None) if name else None


async def apply_event(*, session: AsyncSession, event: Event, settings: BillingSettings,
                      workload: WorkloadState | None = None) -> list[Usage]:
    """Apply one `workload.state` event (`workload`: its body, parsed once by the caller) in the
    caller's transaction; returns new usage rows. A delivery already applied changes nothing."""
    workload = workload or event.parse(WorkloadState)
    if not await first_delivery(session, consumer=CONSUMER, event_id=event.id):
        DUPLICATES.inc()
        return []
    kind = mark_kind(workload.previous_status, workload.status)
    if kind is None:
        return []
    at = datetime.fromisoformat(event.ts)
    model: str = workload.gpu_model
    known = list(settings.rates_usd_per_gpu_hour)
    if kind == "start" and model not in known:
        # A workload of model "any" is billed for the GPUs it landed on, as the event says.
        model = card_model(workload.placed_gpu_model, known) or "any"
    # A model off the card is billed as "any": the dearest rate.
    rate = rates.rate_usd_per_gpu_hour(settings, model if model in known else "any", workload.priority)
    await session.execute(upsert(session, UsageMark).values(
        event_id=event.id, workload_id=workload.id, tenant_id=workload.tenant_id, kind=kind, at=at,
        segment=segment_of(kind, workload),
        workload_name=workload.name[:200], gpu_model=model, gpu_count=workload.gpu_count,
        priority=workload.priority, rate_usd_per_gpu_hour=rate,
    ).on_conflict_do_nothing())
    return await pair(session=session, workload_id=workload.id)


async def pair(*, session: AsyncSession, workload_id: str, publish: bool = True) -> list[Usage]:
    """Turn the workload's unpaired start/end marks into usage rows (once each), each published
    as `billing.usage` (unless `publish` is false: history loaded after the fact)."""
    # Two replicas applying a start and its end at once would each miss the other's mark.
    await lock_until_commit(session, zlib.crc32(f"billing:{workload_id}".encode()) - 2**31)
    marks = (await session.execute(
        select(UsageMark).where(UsageMark.workload_id == workload_id)
        # At one instant an end goes before a start ("end" < "start").
        .order_by(UsageMark.at, UsageMark.kind, UsageMark.event_id)
    )).scalars().all()
    done = set((await session.execute(
        select(Usage.start_event_id).where(Usage.workload_id == workload_id))).scalars())
    created: list[Usage] = []
    quiet: list[dict[str, Any]] = []
    starts = [m for m in marks if m.kind == "start"]
    for mark in (m for m in marks if m.kind == "end"):
        before = [s for s in starts if s.at <= mark.at]
        if mark.segment is not None:
            own = [s for s in before if s.segment == mark.segment]
            # Its own start has not arrived yet: pair it when it does.
            start = own[-1] if own else (before[-1] if before and before[-1].segment is None else None)
        else:
            start = before[-1] if before else None
        if start is None or start.event_id in done or mark.at <= start.at:
            continue
        done.add(start.event_id)
        for part, (begin, stop) in enumerate(day_parts(start.at, mark.at)):
            row = {
                "id": new_id(), "start_event_id": start.event_id, "part": part, "end_event_id": mark.event_id,
                "tenant_id": start.tenant_id, "workload_id": workload_id, "workload_name": start.workload_name,
                "gpu_model": start.gpu_model, "gpu_count": start.gpu_count, "priority": start.priority,
                "started_at": begin, "ended_at": stop, "gpu_seconds": seconds(stop - begin) * start.gpu_count,
                "rate_usd_per_gpu_hour": start.rate_usd_per_gpu_hour,
            }
            if not publish:
                quiet.append(row)
                continue
            result = await session.execute(upsert(session, Usage).values(**row).on_conflict_do_nothing())
            if getattr(result, "rowcount", 0) != 1:
                continue
            usage = Usage(**row)
            created.append(usage)
            METERED.labels(usage.gpu_model).inc(float(usage.gpu_seconds))
            add_event(session, BillingUsage.model_validate(usage_view(usage)), ts=stop)
    if quiet:  # history: one executemany, nothing published
        await session.execute(upsert(session, Usage).on_conflict_do_nothing(), quiet)
    return created


async def open_segments(*, session: AsyncSession, tenant_id: str) -> list[UsageMark]:
    """Start marks of the tenant's workloads still running (no end after them yet)."""
    marks = (await session.execute(
        select(UsageMark).where(UsageMark.tenant_id == tenant_id).order_by(
            UsageMark.workload_id, UsageMark.at, UsageMark.kind)
    )).scalars().all()
    last: dict[str, UsageMark] = {}
    for mark in marks:
        last[mark.workload_id] = mark
    return [m for m in last.values() if m.kind == "start"]


def usage_view(u: Usage) -> dict[str, Any]:
    return {
        "id": u.id, "tenant_id": u.tenant_id, "workload_id": u.workload_id, "workload_name": u.workload_name,
        "gpu_model": u.gpu_model, "gpu_count": u.gpu_count, "priority": u.priority,
        "started_at": u.started_at, "ended_at": u.ended_at, "gpu_seconds": str(u.gpu_seconds),
        "rate_usd_per_gpu_hour": str(u.rate_usd_per_gpu_hour),
        "cost_usd": str(rates.cost_usd(gpu_seconds=Decimal(u.gpu_seconds),
                                       rate_usd_per_gpu_hour=Decimal(u.rate_usd_per_gpu_hour))),
    }


async def usage_report(
    *, session: AsyncSession, tenant_id: str | None, since: datetime, until: datetime, group_by: UsageGrouping,
) -> UsageReport:
    """GPU-seconds and cost of usage within [since, until) (a row straddling an edge counts for
    its share inside), grouped by workload, GPU model or UTC day; `tenant_id` None: all tenants."""
    filters = [Usage.ended_at > since, Usage.started_at < until]
    if tenant_id is not None:
        filters.append(Usage.tenant_id == tenant_id)
    rows = (await session.execute(select(Usage).where(*filters).order_by(Usage.started_at, Usage.id))).scalars()
    groups: dict[str, tuple[Usage, list[Decimal]]] = {}  # key -> (its first row, [gpu-seconds, cost])
    total_seconds = total_cost = Decimal(0)
    for u in rows:
        begin, end = max(u.started_at, since), min(u.ended_at, until)
        full = seconds(u.ended_at - u.started_at)
        gpu_seconds = Decimal(u.gpu_seconds) if full == 0 or (begin, end) == (u.started_at, u.ended_at) \
            else Decimal(u.gpu_seconds) * seconds(end - begin) / full
        cost = rates.cost_usd(gpu_seconds=gpu_seconds, rate_usd_per_gpu_hour=Decimal(u.rate_usd_per_gpu_hour))
        key = u.workload_id if group_by == "workload" else u.gpu_model if group_by == "model" \
            else u.started_at.date().isoformat()
        sums = groups.setdefault(key, (u, [Decimal(0), Decimal(0)]))[1]
        sums[0] += gpu_seconds
        sums[1] += cost
        total_seconds += gpu_seconds
        total_cost += cost

    def hours(gpu_seconds: Decimal) -> Decimal:
        return (gpu_seconds / rates.SECONDS_PER_HOUR).quantize(MICRO)

    items: list[UsageByWorkload] | list[UsageByModel] | list[UsageByDay]
    if group_by == "workload":
        items = [UsageByWorkload(workload_id=u.workload_id, workload_name=u.workload_name, tenant_id=u.tenant_id,
                                 gpu_model=u.gpu_model, gpu_hours=hours(s), cost_usd=to_cents(c))
                 for u, (s, c) in groups.values()]
    elif group_by == "model":
        items = [UsageByModel(gpu_model=u.gpu_model, gpu_hours=hours(s), cost_usd=to_cents(c))
                 for u, (s, c) in groups.values()]
    else:
        items = [UsageByDay(day=u.started_at.date(), gpu_hours=hours(s), cost_usd=to_cents(c))
                 for u, (s, c) in groups.values()]
    return UsageReport(from_=since, to=until, group_by=group_by, tenant_id=tenant_id, items=items, total=len(items),
                       total_gpu_hours=hours(total_seconds), total_cost_usd=to_cents(total_cost))
