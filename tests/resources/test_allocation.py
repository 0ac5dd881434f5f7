"""Allocations: all or nothing, one workload per unit, enforced by the database."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from tests.resources.conftest import gpu_identity, register

from hcp.core.db import Database, utcnow
from hcp.core.errors import Conflict, InvalidInput, NotFound
from hcp.resources import allocation, service
from hcp.resources.models import Allocation


async def gpus(db: Database, n: int) -> list[str]:
    return [await register(db, gpu_identity(i), facility_id="tx-north") for i in range(1, n + 1)]


async def test_all_or_nothing(db: Database) -> None:
    a, b, c = await gpus(db, 3)
    async with db.transaction() as session:
        rows = await allocation.allocate(session=session, unit_ids=[a, b], workload_id="w1", tenant_id="t1",
                                         expected_end_at=utcnow() + timedelta(hours=2))
        assert [r.unit_id for r in rows] == [a, b]
    with pytest.raises(Conflict, match=f"{b} to w1") as held:
        async with db.transaction() as session:
            await allocation.allocate(session=session, unit_ids=[c, b], workload_id="w2")
    assert held.value.code == "unit_allocated"
    async with db.session() as session:
        active, total = await allocation.list_allocations(session=session, active=True)
        view = await service.get_unit_view(session=session, unit_id=a)
    assert total == 2 and {r.workload_id for r in active} == {"w1"}  # c was not taken
    assert view["allocation"]["workload_id"] == "w1"
    async with db.transaction() as session:
        released = await allocation.release(session=session, workload_id="w1", reason="completed")
        assert len(released) == 2
    async with db.transaction() as session:
        await allocation.allocate(session=session, unit_ids=[b, c], workload_id="w2")
    async with db.session() as session:
        history, total = await allocation.list_allocations(session=session, unit_id=b)
        mine, _ = await allocation.list_allocations(session=session, tenant_id="t1")
    assert total == 2 and history[0].workload_id == "w2" and history[1].release_reason == "completed"
    assert {r.workload_id for r in mine} == {"w1"}


async def test_refusals(db: Database) -> None:
    a, b = await gpus(db, 2)
    async with db.transaction() as session:
        await service.update_unit(session=session, unit_id=b, fields={"maintenance": True})
    cases = [
        (dict(unit_ids=[]), InvalidInput), (dict(unit_ids=[a, a]), InvalidInput),
        (dict(unit_ids=["nope"]), NotFound), (dict(unit_ids=[b]), Conflict),
        (dict(unit_ids=[a], expected_end_at=utcnow() - timedelta(seconds=1)), InvalidInput),
    ]
    for kwargs, error in cases:
        with pytest.raises(error):
            async with db.transaction() as session:
                await allocation.allocate(session=session, workload_id="w", **kwargs)  # type: ignore[arg-type]
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Allocation)) == 0
        with pytest.raises(NotFound):
            await allocation.get_allocation(session=session, allocation_id="nope")


async def test_the_database_refuses_a_second_active_allocation(db: Database) -> None:
    """Even past the service's check (a racing allocator), the unique index says no."""
    [a] = await gpus(db, 1)
    async with db.transaction() as session:
        session.add(Allocation(unit_id=a, workload_id="w1"))
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            session.add(Allocation(unit_id=a, workload_id="w2"))
    async with db.transaction() as session:
        await allocation.release(session=session, unit_ids=[a])
        session.add(Allocation(unit_id=a, workload_id="w3"))  # released rows do not count


UNITS = 6


@pytest.fixture
async def fleet(db: Database) -> tuple[Database, list[str]]:
    return db, await gpus(db, UNITS)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plans=st.lists(st.lists(st.integers(0, UNITS - 1), min_size=1, max_size=3, unique=True), min_size=8, max_size=24),
    seed=st.integers(0, 2**16),
)
async def test_no_unit_is_ever_held_by_two_workloads(
    fleet: tuple[Database, list[str]], plans: list[list[int]], seed: int
) -> None:
    """Many tasks at once each try to take a few units, hold them a moment, and give them back.
    Whoever the database lets commit must be the only holder of those units until it releases."""
    db, unit_ids = fleet
    rng = random.Random(seed)
    holder: dict[str, str] = {}
    violations: list[str] = []
    won = 0

    async def workload(n: int, wanted: list[int]) -> None:
        nonlocal won
        name = f"w{seed}-{n}"
        units = [unit_ids[i] for i in wanted]
        await asyncio.sleep(rng.random() * 0.01)
        try:
            async with db.transaction() as session:
                await allocation.allocate(session=session, unit_ids=units, workload_id=name)
        except Conflict:
            return
        # Straight after the commit, with no await in between: nobody else may hold these units.
        for uid in units:
            if uid in holder:
                violations.append(f"{uid} held by {holder[uid]} and {name}")
            holder[uid] = name
        won += 1
        await asyncio.sleep(rng.random() * 0.01)
        for uid in units:  # before the release commits, so a successor never sees a stale holder
            holder.pop(uid, None)
        async with db.transaction() as session:
            await allocation.release(session=session, workload_id=name)

    await asyncio.gather(*(workload(n, plan) for n, plan in enumerate(plans)))
    assert violations == []
    assert won >= 1
    async with db.session() as session:
        active = select(func.count()).select_from(Allocation).where(Allocation.released_at.is_(None))
        left = await session.scalar(active)
    assert left == 0
