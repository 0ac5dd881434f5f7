"""The orchestrator's request functions: submitting, listing and cancelling workloads, the
switches recorded, and queued work as the economics planner's demand. The workload loop that
carries them out is `hcp.orchestrator.loop`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.auth.audit import record_audit
from hcp.core.errors import InvalidInput, NotFound
from hcp.core.security import Principal, ensure_visible
from hcp.core.settings import Settings
from hcp.economics.planner import WorkloadDemand
from hcp.kernel.enums import GpuModelChoice, UnitKind, WorkloadStatus, WorkloadType
from hcp.orchestrator import lifecycle
from hcp.orchestrator.lifecycle import Change, workload_view
from hcp.orchestrator.models import Switch, Workload
from hcp.resources import allocation
from hcp.resources import service as resources
from hcp.router.scheduler import classify

# What a queued workload is worth per GPU-hour when its owner named no ceiling (the rate card
# until billing publishes one).
DEFAULT_RATE_USD_PER_GPU_HOUR: dict[str, Decimal] = {
    GpuModelChoice.H100: Decimal("2.50"), GpuModelChoice.A100: Decimal("1.60")}
# The models a workload asking for `any` may run on.
GPU_MODELS = tuple(m for m in GpuModelChoice if m is not GpuModelChoice.ANY)


# --- submission and the API's reads ------------------------------------------------------------
async def admission_check(session: AsyncSession, tenant_id: str, workload: Workload, *,
                          settings: Settings, at: datetime) -> None:
    """Refuse a workload the tenant may not run: billing's budget check (402 budget_exceeded)."""
    from hcp.billing import service as billing

    await billing.admit_workload(session=session, settings=settings.billing, tenant_id=tenant_id,
                                 gpu_model=workload.gpu_model, gpu_count=workload.gpu_count,
                                 duration_s=workload.duration_s, priority=workload.priority, at=at)


async def largest_gang(*, session: AsyncSession) -> dict[str, int]:
    """The most GPUs of each model that any one facility holds (registered, whatever their state)."""
    best: dict[str, int] = {}
    for (_facility, model), n in (await resources.count_units(session=session, kind=UnitKind.GPU)).items():
        best[model] = max(best.get(model, 0), n)
    return best


@dataclass(frozen=True)
class Submission:
    name: str
    type: WorkloadType
    priority: int
    gpu_model: GpuModelChoice
    gpu_count: int
    duration_s: float
    max_price_usd_per_gpu_hour: Decimal | None
    preemptible: bool | None


async def submit(
    *, session: AsyncSession, settings: Settings, tenant_id: str, submission: Submission, created_by: str | None,
    at: datetime, idempotency_key: str | None = None,
) -> tuple[Workload, bool]:
    """Admit a workload and queue it, in the caller's transaction; returns it and whether it is new
    (False when the tenant already submitted with this idempotency key)."""
    if idempotency_key is not None:
        existing = await _by_key(session, tenant_id, idempotency_key)
        if existing is not None:
            return existing, False
    gangs = await largest_gang(session=session)
    models = GPU_MODELS if submission.gpu_model == GpuModelChoice.ANY else (submission.gpu_model,)
    most = max((gangs.get(m, 0) for m in models), default=0)
    if submission.gpu_count > most:
        raise InvalidInput("gpu_count", f"no facility has {submission.gpu_count} {submission.gpu_model} GPUs "
                                        f"(the most in one facility is {most})")
    preemptible = submission.preemptible
    if preemptible is None:
        preemptible = classify(submission.type).preemptible_by_default
    workload = Workload(
        tenant_id=tenant_id, name=submission.name, type=submission.type, priority=submission.priority,
        gpu_model=submission.gpu_model, gpu_count=submission.gpu_count, duration_s=submission.duration_s,
        max_price_usd_per_gpu_hour=submission.max_price_usd_per_gpu_hour, preemptible=preemptible,
        created_by=created_by, idempotency_key=idempotency_key,
    )
    await admission_check(session, tenant_id, workload, settings=settings, at=at)
    try:
        async with session.begin_nested():
            await lifecycle.create(session, workload, at=at)
    except IntegrityError:
        # The same key raced in from another request: that one won.
        if idempotency_key is not None and (existing := await _by_key(session, tenant_id, idempotency_key)):
            return existing, False
        raise
    await lifecycle.transition(session, workload, WorkloadStatus.QUEUED, change=Change(at=at, reason="admitted"))
    return workload, True


async def _by_key(session: AsyncSession, tenant_id: str, key: str) -> Workload | None:
    return (await session.execute(
        select(Workload).where(Workload.tenant_id == tenant_id, Workload.idempotency_key == key)
    )).scalar_one_or_none()


async def get_workload(*, session: AsyncSession, principal: Principal, workload_id: str) -> Workload:
    workload = await session.get(Workload, workload_id)
    if workload is None:
        raise NotFound(f"no workload {workload_id}")
    ensure_visible(principal, workload.tenant_id, what="workload", id=workload_id)
    return workload


async def detail(*, session: AsyncSession, workload: Workload) -> dict[str, Any]:
    events = await lifecycle.history(session, workload.id)
    return {**workload_view(workload), "history": [
        {"from": e.from_status, "to": e.to_status, "at": e.at, "reason": e.reason} for e in events]}


async def cancel(
    *, session: AsyncSession, principal: Principal, workload_id: str, at: datetime,
) -> Workload:
    """Cancel in the caller's transaction: the units it held are released with it."""
    workload = await lifecycle.lock(session, workload_id)
    ensure_visible(principal, workload.tenant_id, what="workload", id=workload_id)
    previous = workload.status
    await lifecycle.transition(session, workload, WorkloadStatus.CANCELLED,
                               change=Change(at=at, reason="cancelled by user"))
    await allocation.release(session=session, workload_id=workload.id, reason="workload cancelled", at=at)
    await record_audit(session, actor=principal, action="workload.cancel", object_type="workload",
                       object_id=workload.id, tenant_id=workload.tenant_id,
                       details={"previous_status": previous})
    return workload


def switch_view(row: Switch) -> dict[str, Any]:
    return {"id": row.id, "unit_id": row.unit_id, "workload_id": row.workload_id, "from": row.from_workload,
            "to": row.to_workload, "phases": dict(row.phases or {}), "latency_ms": row.latency_ms, "at": row.at}


async def queued_demand(session: AsyncSession) -> list[WorkloadDemand]:
    """Queued workloads as the economics planner's demand (a `WorkloadSource`)."""
    rows = (await session.execute(
        select(Workload).where(Workload.status.in_((WorkloadStatus.QUEUED, WorkloadStatus.PREEMPTED)))
        .order_by(Workload.submitted_at)
    )).scalars().all()
    demand = []
    for w in rows:
        # What it is worth: the rate card, up to the owner's limit ("any" at the dearest model's rate).
        rates = [DEFAULT_RATE_USD_PER_GPU_HOUR.get(m, Decimal("2.00"))
                 for m in (GPU_MODELS if w.gpu_model == GpuModelChoice.ANY else (w.gpu_model,))]
        price = max(rates)
        limit = w.max_price_usd_per_gpu_hour
        if limit is not None:
            price = min(price, limit)
        demand.append(WorkloadDemand(id=w.id, gpu_model=w.gpu_model, gpu_count=w.gpu_count,
                                     price_usd_per_gpu_hour=float(price), tenant_id=w.tenant_id,
                                     max_price_usd_per_gpu_hour=None if limit is None else float(limit)))
    return demand

