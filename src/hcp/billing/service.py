"""Billing services: budgets, month-to-date spend, budget alerts and the admission check.

The rest of billing lives beside this module: `rates` (the card), `metering` (usage from
`workload.state`), `invoices`, `payments`, `pdf` and `revenue`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.billing import rates
from hcp.billing.metering import open_segments, seconds
from hcp.billing.models import Budget, BudgetAlert, Usage
from hcp.billing.schemas import BudgetOut
from hcp.core.db import upsert
from hcp.core.errors import HCPError, InvalidInput
from hcp.core.money import to_cents
from hcp.core.outbox import add_event
from hcp.core.settings import BillingSettings
from hcp.kernel.events import BudgetThreshold

BUDGET_SUBJECT = "billing.budget"
THRESHOLDS = (80, 100)


class BudgetExceeded(HCPError):
    status_code = 402
    code = "budget_exceeded"


async def set_budget(*, session: AsyncSession, tenant_id: str, monthly_limit_usd: Decimal) -> Budget:
    if monthly_limit_usd < 0:
        raise InvalidInput("monthly_limit_usd", "must not be negative")
    budget = await session.get(Budget, tenant_id)
    if budget is None:
        budget = Budget(tenant_id=tenant_id, monthly_limit_usd=monthly_limit_usd)
        session.add(budget)
    else:
        budget.monthly_limit_usd = monthly_limit_usd
    await session.flush()
    return budget


async def get_budget(*, session: AsyncSession, tenant_id: str) -> Budget | None:
    return await session.get(Budget, tenant_id)


def month_of(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput("month", f"{month!r} is not a month: give YYYY-MM") from None
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


async def metered_usd(*, session: AsyncSession, tenant_id: str, start: datetime, end: datetime) -> Decimal:
    """Unrounded cost of the tenant's usage within [start, end) (rows never cross a midnight)."""
    rows = (await session.execute(
        select(Usage.gpu_seconds, Usage.rate_usd_per_gpu_hour).where(
            Usage.tenant_id == tenant_id, Usage.started_at >= start, Usage.ended_at <= end)
    )).all()
    return sum((rates.cost_usd(gpu_seconds=Decimal(s), rate_usd_per_gpu_hour=Decimal(r)) for s, r in rows),
               Decimal(0))


async def running_usd(*, session: AsyncSession, tenant_id: str, now: datetime, since: datetime) -> Decimal:
    """What the tenant's workloads running now have accrued this month, not yet metered."""
    total = Decimal(0)
    for mark in await open_segments(session=session, tenant_id=tenant_id):
        begin = max(mark.at, since)
        if now > begin:
            total += rates.cost_usd(gpu_seconds=seconds(now - begin) * mark.gpu_count,
                                    rate_usd_per_gpu_hour=Decimal(mark.rate_usd_per_gpu_hour))
    return total


async def budget_view(*, session: AsyncSession, tenant_id: str, now: datetime) -> BudgetOut:
    month = month_of(now)
    start, end = month_bounds(month)
    budget = await get_budget(session=session, tenant_id=tenant_id)
    metered = await metered_usd(session=session, tenant_id=tenant_id, start=start, end=end)
    running = await running_usd(session=session, tenant_id=tenant_id, now=now, since=start)
    spent = to_cents(metered + running)
    limit = None if budget is None else Decimal(budget.monthly_limit_usd)
    return BudgetOut(
        tenant_id=tenant_id, month=month, monthly_limit_usd=limit, spent_usd=spent,
        metered_usd=to_cents(metered), running_usd=to_cents(running),
        remaining_usd=None if limit is None else limit - spent,
        used_pct=None if not limit else (spent * 100 / limit).quantize(Decimal("0.1")),
        thresholds_pct=list(THRESHOLDS), updated_at=None if budget is None else budget.updated_at,
    )


async def check_thresholds(*, session: AsyncSession, tenant_id: str, when: datetime) -> list[int]:
    """Publish `billing.budget` for each threshold the month's metered spend has reached, once per
    tenant, month and threshold (the primary key decides among concurrent replicas)."""
    budget = await get_budget(session=session, tenant_id=tenant_id)
    if budget is None or Decimal(budget.monthly_limit_usd) <= 0:
        return []
    month = month_of(when)
    start, end = month_bounds(month)
    spent = to_cents(await metered_usd(session=session, tenant_id=tenant_id, start=start, end=end))
    limit = Decimal(budget.monthly_limit_usd)
    sent = []
    for pct in THRESHOLDS:
        if spent * 100 < limit * pct:
            continue
        result = await session.execute(upsert(session, BudgetAlert).values(
            tenant_id=tenant_id, month=month, threshold_pct=pct, spent_usd=spent, at=when).on_conflict_do_nothing())
        if getattr(result, "rowcount", 0) == 1:
            add_event(session, BudgetThreshold(
                tenant_id=tenant_id, month=month, threshold_pct=pct,
                spent_usd=Decimal(f"{spent:.2f}"), limit_usd=to_cents(limit)), ts=when)
            sent.append(pct)
    return sent


async def check_admission(
    *, session: AsyncSession, settings: BillingSettings, tenant_id: str, gpu_model: str, gpu_count: int,
    duration_s: float, priority: int, now: datetime,
) -> None:
    """Refuse (402 budget_exceeded) a workload whose estimate would take the tenant's month over
    its budget: month-to-date spend (metered and running) plus the estimate, against the limit."""
    budget = await get_budget(session=session, tenant_id=tenant_id)
    if budget is None:
        return
    limit = Decimal(budget.monthly_limit_usd)
    start, end = month_bounds(month_of(now))
    spent = await metered_usd(session=session, tenant_id=tenant_id, start=start, end=end) + \
        await running_usd(session=session, tenant_id=tenant_id, now=now, since=start)
    rate = rates.rate_usd_per_gpu_hour(settings, gpu_model, priority)
    hours = Decimal(str(duration_s)) / rates.SECONDS_PER_HOUR
    estimate = rate * gpu_count * hours
    if spent + estimate > limit:
        spent_c, est_c, limit_c = to_cents(spent), to_cents(estimate), to_cents(limit)
        raise BudgetExceeded(
            f"budget exceeded: month-to-date spend ${spent_c:.2f} plus this workload's estimate "
            f"${est_c:.2f} exceeds the monthly budget of ${limit_c:.2f}",
            details={"month": month_of(now), "spent_usd": f"{spent_c:.2f}", "estimate_usd": f"{est_c:.2f}",
                     "limit_usd": f"{limit_c:.2f}", "remaining_usd": f"{to_cents(limit - spent):.2f}"})


async def admit_workload(*, session: AsyncSession, settings: BillingSettings, tenant_id: str, gpu_model: str,
                         gpu_count: int, duration_s: float, priority: int, at: datetime) -> None:
    """The orchestrator's admission hook (`hcp.orchestrator.service.admission_check`)."""
    await check_admission(session=session, settings=settings, tenant_id=tenant_id, gpu_model=gpu_model,
                          gpu_count=gpu_count, duration_s=duration_s, priority=priority, now=at)
