"""Allocations: units held by a workload, taken and given back transactionally.

The database has the last word on "one workload per unit": a partial unique index over the
active allocations. The check before the insert gives a clear answer in the common case; the
index settles the race between two allocators that both passed the check (the loser gets a
`Conflict`, and nothing of its request is written).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.core.db import lock_until_commit, utcnow
from hcp.core.errors import Conflict, InvalidInput, NotFound
from hcp.core.paging import page
from hcp.kernel.enums import UnitStatus
from hcp.resources.models import Allocation, Unit

ALLOCATABLE_STATUSES = (UnitStatus.ONLINE,)
# Taken by whoever writes units' roles (an allocation, a fleet plan) for the rest of its
# transaction, so that a plan and a placement never cross: whichever commits second sees the other.
ROLES_LOCK_KEY = 0x4843_5003


async def lock_roles(session: AsyncSession) -> None:
    """Serialise writers of units' roles until the transaction ends. PostgreSQL: a transaction
    advisory lock. SQLite needs none: every writing transaction begins IMMEDIATE, one at a time."""
    await lock_until_commit(session, ROLES_LOCK_KEY)


async def allocate(
    *, session: AsyncSession, unit_ids: Sequence[str], workload_id: str, tenant_id: str | None = None,
    expected_end_at: datetime | None = None, at: datetime | None = None,
) -> list[Allocation]:
    """Give every unit in `unit_ids` to the workload, or none of them."""
    now = at or utcnow()
    wanted = list(dict.fromkeys(unit_ids))
    if not wanted:
        raise InvalidInput("unit_ids", "at least one unit")
    if len(wanted) != len(unit_ids):
        raise InvalidInput("unit_ids", "a unit is listed twice")
    if expected_end_at is not None and expected_end_at <= now:
        raise InvalidInput("expected_end_at", "must be in the future")
    units = {u.id: u for u in (await session.execute(select(Unit).where(Unit.id.in_(wanted)))).scalars()}
    missing = [uid for uid in wanted if uid not in units]
    if missing:
        raise NotFound(f"no unit {', '.join(missing)}", details={"unit_ids": missing})
    unavailable = {uid: units[uid].status for uid in wanted if units[uid].status not in ALLOCATABLE_STATUSES}
    if unavailable:
        raise Conflict("units not available: " + ", ".join(f"{u} is {s}" for u, s in unavailable.items()),
                       code="unit_unavailable", details={"units": unavailable})
    await _refuse_held(session, wanted)
    rows = [Allocation(unit_id=uid, workload_id=workload_id, tenant_id=tenant_id, allocated_at=now,
                       expected_end_at=expected_end_at) for uid in wanted]
    try:
        async with session.begin_nested():
            # Inserted in one order by everyone: two allocators of overlapping units in opposite
            # orders would each wait on the other's uncommitted index entry (PostgreSQL: deadlock).
            ordered: list[Allocation] = sorted(rows, key=lambda r: r.unit_id)
            session.add_all(ordered)
            await session.flush()
    except IntegrityError:
        # Another allocator committed between our check and our insert: say who won.
        await _refuse_held(session, wanted)
        raise Conflict("a unit was allocated concurrently", code="unit_allocated") from None
    return rows


async def _refuse_held(session: AsyncSession, unit_ids: Sequence[str]) -> None:
    held = (await session.execute(
        select(Allocation.unit_id, Allocation.workload_id)
        .where(Allocation.unit_id.in_(list(unit_ids)), Allocation.released_at.is_(None))
    )).all()
    if held:
        raise Conflict(
            "units already allocated: " + ", ".join(f"{u} to {w}" for u, w in held),
            code="unit_allocated", details={"held": {u: w for u, w in held}},
        )


async def release(
    *, session: AsyncSession, workload_id: str | None = None, unit_ids: Sequence[str] | None = None,
    allocation_id: str | None = None, reason: str = "released", at: datetime | None = None,
) -> list[Allocation]:
    """End the active allocations that match (all of a workload's, some units', or one)."""
    if workload_id is None and not unit_ids and allocation_id is None:
        raise InvalidInput("workload_id", "name a workload, units or an allocation to release")
    now = at or utcnow()
    filters: list[Any] = [Allocation.released_at.is_(None)]
    if workload_id is not None:
        filters.append(Allocation.workload_id == workload_id)
    if unit_ids:
        filters.append(Allocation.unit_id.in_(list(unit_ids)))
    if allocation_id is not None:
        filters.append(Allocation.id == allocation_id)
    rows = list((await session.execute(select(Allocation).where(*filters).with_for_update())).scalars())
    if not rows:
        return []
    await session.execute(
        update(Allocation).where(Allocation.id.in_([r.id for r in rows]), Allocation.released_at.is_(None))
        .values(released_at=now, release_reason=reason[:200])
    )
    for row in rows:
        row.released_at, row.release_reason = now, reason[:200]
    return rows


async def get_allocation(*, session: AsyncSession, allocation_id: str, tenant_id: str | None = None) -> Allocation:
    """One allocation; a customer's view (`tenant_id`) sees only its own, others are not found."""
    allocation = await session.get(Allocation, allocation_id)
    if allocation is None or (tenant_id is not None and allocation.tenant_id != tenant_id):
        raise NotFound(f"no allocation {allocation_id}")
    return allocation


async def list_allocations(
    *, session: AsyncSession, active: bool | None = None, workload_id: str | None = None,
    unit_id: str | None = None, tenant_id: str | None = None, limit: int = 100, offset: int = 0,
) -> tuple[list[Allocation], int]:
    """Allocations, newest first; `tenant_id` restricts to one tenant (a customer's view)."""
    filters: list[Any] = []
    if active is True:
        filters.append(Allocation.released_at.is_(None))
    elif active is False:
        filters.append(Allocation.released_at.is_not(None))
    for column, value in ((Allocation.workload_id, workload_id), (Allocation.unit_id, unit_id),
                          (Allocation.tenant_id, tenant_id)):
        if value is not None:
            filters.append(column == value)
    query = select(Allocation).where(*filters).order_by(Allocation.allocated_at.desc(), Allocation.id)
    return await page(session, query, limit=limit, offset=offset)


async def held_units(*, session: AsyncSession) -> dict[str, tuple[str, str | None]]:
    """Every unit an active allocation holds now: unit -> (workload, tenant)."""
    rows = (await session.execute(
        select(Allocation.unit_id, Allocation.workload_id, Allocation.tenant_id)
        .where(Allocation.released_at.is_(None)))).all()
    return {unit_id: (workload_id, tenant_id) for unit_id, workload_id, tenant_id in rows}
