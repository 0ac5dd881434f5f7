"""Reconciliation on start: the loop rebuilds its scheduler from the tables and repairs drift;
one loop leads among replicas."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from tests.conftest import DEMO_CREDENTIALS, login_headers, running_app

from hcp.app import create_app
from hcp.core.platform import Platform
from hcp.core.settings import Settings
from hcp.orchestrator import lifecycle
from hcp.orchestrator.lifecycle import Change
from hcp.orchestrator.loop import OrchestratorLoop
from hcp.orchestrator.models import Workload
from hcp.orchestrator.service import queued_demand
from hcp.resources import allocation
from hcp.resources.models import Allocation


@pytest.fixture
async def platform(make_settings: Callable[..., Settings], database_url: str) -> AsyncIterator[Platform]:
    app: FastAPI = create_app(make_settings(database_url=database_url, orchestrator={"run": False}))
    async with running_app(app) as client:
        admin = await login_headers(client, *DEMO_CREDENTIALS["admin"])
        for i in range(4):
            made = await client.post("/api/v1/resources/agents/register", headers=admin, json={
                "driver": "nvml", "address": f"nvml://GPU-{i}", "id": f"g{i}", "facility_id": "tx-north",
                "push": True, "model": "H100", "serial": f"GPU-{i}"})
            assert made.status_code == 200, made.text
        yield app.state.platform


async def workload_in(platform: Platform, status: str, units: tuple[str, ...] = (), *,
                      allocate: bool = True, gpu_model: str = "H100") -> str:
    path = {"queued": ["queued"], "switching": ["queued", "scheduled", "switching"],
            "running": ["queued", "scheduled", "switching", "running"]}[status]
    async with platform.db.transaction() as session:
        now = platform.clock.now()
        w = Workload(tenant_id="t1", name=status, type="ai_training", priority=5, gpu_model=gpu_model,
                     gpu_count=max(1, len(units)), duration_s=3600.0, preemptible=True)
        await lifecycle.create(session, w, at=now)
        for step in path:
            await lifecycle.transition(session, w, step, change=Change(
                at=now, units=units, facility_id="tx-north" if units else None))
        if units and allocate:
            await allocation.allocate(session=session, unit_ids=list(units), workload_id=w.id, tenant_id="t1",
                                      at=now)
        return w.id


async def test_start_repairs_drift_and_resumes_what_is_sound(platform: Platform) -> None:
    sound = await workload_in(platform, "running", ("g0",))
    unheld = await workload_in(platform, "running", ("g1",), allocate=False)
    interrupted = await workload_in(platform, "switching", ("g2",))
    waiting = await workload_in(platform, "queued")
    async with platform.db.transaction() as session:
        await allocation.allocate(session=session, unit_ids=["g3"], workload_id="ghost", at=platform.clock.now())

    loop = OrchestratorLoop(platform)
    await loop.reconcile()

    async with platform.db.session() as session:
        status = {w.id: w.status for w in (await session.execute(select(Workload))).scalars()}
        active = {a.unit_id: a.workload_id for a in (await session.execute(
            select(Allocation).where(Allocation.released_at.is_(None)))).scalars()}
        demand = await queued_demand(session)
    assert status[sound] == "running" and status[unheld] == "queued"
    assert status[interrupted] == "queued" and status[waiting] == "queued"
    assert active == {"g0": sound}  # the ghost's and the interrupted switch's units are free again
    assert set(loop.scheduler.running) == {sound} and loop.scheduler.gpus["g0"].job == sound
    assert set(loop.scheduler.queue) == {unheld, interrupted, waiting}
    assert {d.id for d in demand} == {unheld, interrupted, waiting}
    assert all(d.price_usd_per_gpu_hour == 2.5 for d in demand)  # the default H100 rate


async def test_a_running_workload_on_an_offline_unit_fails_at_start(platform: Platform) -> None:
    lost = await workload_in(platform, "running", ("g0",))
    from hcp.resources.models import Unit

    async with platform.db.transaction() as session:
        unit = await session.get(Unit, "g0")
        assert unit is not None
        unit.status = "offline"
    loop = OrchestratorLoop(platform)
    await loop.reconcile()
    async with platform.db.session() as session:
        row = await session.get(Workload, lost)
        held = (await session.execute(select(Allocation).where(Allocation.released_at.is_(None)))).scalars().all()
    assert row is not None and row.status == "failed" and "g0" in (row.failure_reason or "")
    assert held == []




async def test_one_loop_leads_among_replicas_and_another_takes_over_when_it_stops(platform: Platform) -> None:
    waiting = await workload_in(platform, "queued", gpu_model="A100")  # none here: it stays queued
    first, second = OrchestratorLoop(platform), OrchestratorLoop(platform)
    try:
        await first.step()
        await second.step()
        assert first.leading and known(first) == {waiting}
        if platform.db.dialect == "postgresql":  # SQLite is one process: every loop leads
            assert not second.leading and not known(second)
            await first.stop()  # gives the lock back
            await second.step()
        assert second.leading and known(second) == {waiting}
    finally:
        await first.stop()
        await second.stop()


def known(loop: OrchestratorLoop) -> set[str]:
    return set(loop.scheduler.queue) | set(loop.scheduler.running)
