"""The workload lifecycle as a declared table of transitions, each with a guard and an effect.

`transition` is the only way a workload changes state: in the caller's transaction it checks
the guard, applies the effect to the row, appends the history row and writes the
`workload.state` event through the outbox, so all of it commits together or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.core.db import new_id
from hcp.core.errors import Conflict, NotFound
from hcp.core.money import PRICE_SCALE
from hcp.core.outbox import add_event
from hcp.kernel.enums import FINAL_STATUSES, WAITING_STATUSES, WorkloadStatus
from hcp.kernel.events import WorkloadState
from hcp.orchestrator.models import Workload, WorkloadEvent
from hcp.resources import service as resources

WORKLOAD_STATE = "workload.state"
TERMINAL = FINAL_STATUSES
ACTIVE = tuple(s for s in WorkloadStatus if s not in FINAL_STATUSES)
PLACED_STATUSES = frozenset({WorkloadStatus.SCHEDULED, WorkloadStatus.SWITCHING, WorkloadStatus.RUNNING})


class IllegalTransition(Conflict):
    code = "illegal_transition"


@dataclass(frozen=True)
class Change:
    """What a transition is told: when, why, and the units it hands the workload (if any)."""

    at: datetime
    reason: str | None = None
    units: tuple[str, ...] = ()
    facility_id: str | None = None


Guard = Callable[[Workload, Change], str | None]  # why the transition may not happen, or None
Effect = Callable[[AsyncSession, Workload, Change], Awaitable[None]]


async def _no_effect(_session: AsyncSession, _workload: Workload, _change: Change) -> None:
    return None


@dataclass(frozen=True)
class Transition:
    guard: Guard | None = None
    effect: Effect = field(default=_no_effect)


def workload_view(workload: Workload) -> dict[str, Any]:
    """A workload as the API shows it (and as `workload.state` events carry it)."""
    price = workload.max_price_usd_per_gpu_hour
    return {
        "id": workload.id, "name": workload.name, "tenant_id": workload.tenant_id, "type": workload.type,
        "priority": workload.priority, "gpu_model": workload.gpu_model, "gpu_count": workload.gpu_count,
        "duration_s": workload.duration_s,
        # The column's scale, whether the row came from the database or from a request.
        "max_price_usd_per_gpu_hour": None if price is None else str(Decimal(price).quantize(PRICE_SCALE)),
        "preemptible": workload.preemptible, "status": workload.status, "units": list(workload.units or []),
        "facility_id": workload.facility_id, "submitted_at": workload.submitted_at,
        "queued_at": workload.queued_at, "started_at": workload.started_at,
        "finished_at": workload.finished_at, "failure_reason": workload.failure_reason,
        "wait_reason": workload.wait_reason if workload.status in WAITING_STATUSES else None,
        "preemptions": workload.preemptions, "created_by": workload.created_by,
    }


# --- guards and effects ------------------------------------------------------------------------
def _units_fit(workload: Workload, change: Change) -> str | None:
    if len(change.units) != workload.gpu_count or len(set(change.units)) != len(change.units):
        return f"needs {workload.gpu_count} distinct units, given {len(change.units)}"
    if change.facility_id is None:
        return "placement names no facility"
    return None


def _holds_units(workload: Workload, _change: Change) -> str | None:
    return None if workload.units else "holds no units"


async def _enqueue(_session: AsyncSession, workload: Workload, change: Change) -> None:
    workload.queued_at = change.at
    workload.units, workload.facility_id = [], None


async def _place(_session: AsyncSession, workload: Workload, change: Change) -> None:
    workload.units, workload.facility_id = list(change.units), change.facility_id


async def _start(_session: AsyncSession, workload: Workload, change: Change) -> None:
    workload.started_at = change.at


async def _finish(_session: AsyncSession, workload: Workload, change: Change) -> None:
    workload.finished_at = change.at
    workload.units = []


async def _fail(session: AsyncSession, workload: Workload, change: Change) -> None:
    workload.failure_reason = (change.reason or "failed")[:500]
    await _finish(session, workload, change)


async def _preempt(_session: AsyncSession, workload: Workload, _change: Change) -> None:
    # submitted_at stays: the workload keeps its place in the queue by age.
    workload.units, workload.facility_id, workload.started_at = [], None, None
    workload.preemptions += 1


async def _requeue(session: AsyncSession, workload: Workload, change: Change) -> None:
    workload.started_at = None
    await _enqueue(session, workload, change)


TRANSITIONS: dict[tuple[str | None, str], Transition] = {
    (None, WorkloadStatus.SUBMITTED): Transition(),
    (WorkloadStatus.SUBMITTED, WorkloadStatus.QUEUED): Transition(effect=_enqueue),
    (WorkloadStatus.SUBMITTED, WorkloadStatus.CANCELLED): Transition(effect=_finish),
    (WorkloadStatus.QUEUED, WorkloadStatus.SCHEDULED): Transition(guard=_units_fit, effect=_place),
    (WorkloadStatus.QUEUED, WorkloadStatus.CANCELLED): Transition(effect=_finish),
    (WorkloadStatus.SCHEDULED, WorkloadStatus.SWITCHING): Transition(guard=_holds_units),
    # A placement that could not be carried out (a restart in between): back to the queue.
    (WorkloadStatus.SCHEDULED, WorkloadStatus.QUEUED): Transition(effect=_requeue),
    (WorkloadStatus.SCHEDULED, WorkloadStatus.CANCELLED): Transition(effect=_finish),
    (WorkloadStatus.SWITCHING, WorkloadStatus.RUNNING): Transition(guard=_holds_units, effect=_start),
    (WorkloadStatus.SWITCHING, WorkloadStatus.QUEUED): Transition(effect=_requeue),
    (WorkloadStatus.SWITCHING, WorkloadStatus.FAILED): Transition(effect=_fail),
    (WorkloadStatus.SWITCHING, WorkloadStatus.CANCELLED): Transition(effect=_finish),
    (WorkloadStatus.RUNNING, WorkloadStatus.COMPLETED): Transition(effect=_finish),
    (WorkloadStatus.RUNNING, WorkloadStatus.FAILED): Transition(effect=_fail),  # a unit lost mid-run
    (WorkloadStatus.RUNNING, WorkloadStatus.CANCELLED): Transition(effect=_finish),
    (WorkloadStatus.RUNNING, WorkloadStatus.PREEMPTED): Transition(effect=_preempt),
    # Drift found by reconciliation (its units were taken away): run it again from the queue.
    (WorkloadStatus.RUNNING, WorkloadStatus.QUEUED): Transition(effect=_requeue),
    (WorkloadStatus.PREEMPTED, WorkloadStatus.QUEUED): Transition(effect=_enqueue),
    (WorkloadStatus.PREEMPTED, WorkloadStatus.CANCELLED): Transition(effect=_finish),
}


def allowed(from_status: str | None, to_status: str) -> bool:
    return (from_status, to_status) in TRANSITIONS


async def transition(
    session: AsyncSession, workload: Workload, to_status: WorkloadStatus, *, change: Change,
) -> Workload:
    """Move `workload` (a row of this session, locked by `lock`) to `to_status`, or raise
    `IllegalTransition`. The caller commits."""
    from_status: str | None = workload.status
    rule = TRANSITIONS.get((from_status, to_status))
    if rule is None:
        raise IllegalTransition(
            f"workload {workload.id} is {from_status}: it cannot become {to_status}",
            details={"from": from_status, "to": to_status},
        )
    if rule.guard is not None and (refused := rule.guard(workload, change)) is not None:
        raise IllegalTransition(f"workload {workload.id} cannot become {to_status}: {refused}",
                                details={"from": from_status, "to": to_status, "reason": refused})
    await rule.effect(session, workload, change)
    workload.status = to_status
    workload.updated_at = change.at
    session.add(WorkloadEvent(workload_id=workload.id, from_status=from_status, to_status=to_status,
                              at=change.at, reason=None if change.reason is None else change.reason[:500]))
    await session.flush()
    # The GPUs' model while it holds them (billing rates work for "any" GPU by it).
    placed = await resources.model_of(session=session, unit_ids=list(workload.units or [])) \
        if to_status in PLACED_STATUSES else None
    add_event(session, WorkloadState.model_validate(
        {**workload_view(workload), "previous_status": from_status, "placed_gpu_model": placed}), ts=change.at)
    return workload


async def create(session: AsyncSession, workload: Workload, *, at: datetime) -> Workload:
    """Insert a new workload as `submitted`, with its first history row and event."""
    workload.id = workload.id or new_id()
    workload.status = None  # type: ignore[assignment]  # "no state yet" is the table's None
    workload.submitted_at = at
    workload.units = []
    workload.preemptions = 0
    session.add(workload)
    return await transition(session, workload, WorkloadStatus.SUBMITTED, change=Change(at=at, reason="submitted"))


async def lock(session: AsyncSession, workload_id: str) -> Workload:
    """The workload's row, re-read and locked for the rest of the transaction."""
    row = (await session.execute(
        select(Workload).where(Workload.id == workload_id).with_for_update().execution_options(
            populate_existing=True)
    )).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no workload {workload_id}")
    return row


async def history(session: AsyncSession, workload_id: str) -> Sequence[WorkloadEvent]:
    return (await session.execute(
        select(WorkloadEvent).where(WorkloadEvent.workload_id == workload_id).order_by(WorkloadEvent.seq)
    )).scalars().all()
