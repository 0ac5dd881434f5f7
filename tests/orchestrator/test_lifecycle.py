"""The workload lifecycle: every declared transition, refusals, and one transaction per transition
(row, history and outbox event commit together or not at all). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hcp.core.db import Database, utcnow
from hcp.core.outbox import OutboxEvent
from hcp.orchestrator import lifecycle
from hcp.orchestrator.lifecycle import TRANSITIONS, Change, IllegalTransition, Transition
from hcp.orchestrator.models import STATUSES, Workload, WorkloadEvent

# A path from nothing to each status, through legal transitions only.
PATHS: dict[str, list[str]] = {
    "submitted": [],
    "queued": ["queued"],
    "scheduled": ["queued", "scheduled"],
    "switching": ["queued", "scheduled", "switching"],
    "running": ["queued", "scheduled", "switching", "running"],
    "preempted": ["queued", "scheduled", "switching", "running", "preempted"],
}
UNITS = ("gpu-a", "gpu-b")


def change(to: str) -> Change:
    if to == "scheduled":
        return Change(at=utcnow(), reason="test", units=UNITS, facility_id="tx-north")
    return Change(at=utcnow(), reason="test")


async def new_workload(db: Database, status: str) -> str:
    async with db.transaction() as session:
        w = Workload(tenant_id="t1", name="job", type="ai_training", priority=5, gpu_model="H100", gpu_count=2,
                     duration_s=60.0, preemptible=True)
        await lifecycle.create(session, w, at=utcnow() - timedelta(hours=1))
        for step in PATHS[status]:
            await lifecycle.transition(session, w, step, change=change(step))
        return w.id


async def counts(db: Database, workload_id: str) -> tuple[int, int]:
    async with db.session() as session:
        history = await session.scalar(
            select(func.count()).select_from(WorkloadEvent).where(WorkloadEvent.workload_id == workload_id))
        events = [e.payload for e in (await session.execute(select(OutboxEvent))).scalars()
                  if e.subject == "workload.state" and e.payload["id"] == workload_id]
    return int(history or 0), len(events)


async def test_every_legal_transition_writes_row_history_and_event(db: Database) -> None:
    for (before, after) in TRANSITIONS:
        if before is None:
            continue
        workload_id = await new_workload(db, before)
        h0, e0 = await counts(db, workload_id)
        async with db.transaction() as session:
            w = await lifecycle.lock(session, workload_id)
            await lifecycle.transition(session, w, after, change=change(after))
        async with db.session() as session:
            row = await session.get(Workload, workload_id)
            assert row is not None and row.status == after, (before, after)
            last = (await lifecycle.history(session, workload_id))[-1]
            assert (last.from_status, last.to_status) == (before, after)
            event = (await session.execute(
                select(OutboxEvent).where(OutboxEvent.subject == "workload.state").order_by(OutboxEvent.seq.desc())
                .limit(1))).scalar_one()
        assert await counts(db, workload_id) == (h0 + 1, e0 + 1)
        assert event.payload["id"] == workload_id and event.payload["status"] == after
        assert event.payload["previous_status"] == before
        if after in ("completed", "failed", "cancelled", "preempted", "queued"):
            assert row.units == []


async def test_illegal_transitions_raise_and_change_nothing(db: Database) -> None:
    for before in ("submitted", "queued", "running", "preempted"):
        for after in STATUSES:
            if (before, after) in TRANSITIONS:
                continue
            workload_id = await new_workload(db, before)
            before_counts = await counts(db, workload_id)
            with pytest.raises(IllegalTransition) as refused:
                async with db.transaction() as session:
                    w = await lifecycle.lock(session, workload_id)
                    await lifecycle.transition(session, w, after, change=change(after))
            assert refused.value.status_code == 409
            async with db.session() as session:
                row = await session.get(Workload, workload_id)
            assert row is not None and row.status == before
            assert await counts(db, workload_id) == before_counts


async def test_terminal_states_have_no_way_out() -> None:
    for terminal in ("completed", "failed", "cancelled"):
        assert not [t for (f, t) in TRANSITIONS if f == terminal]


async def test_a_guard_refuses_a_placement_of_the_wrong_size(db: Database) -> None:
    workload_id = await new_workload(db, "queued")
    with pytest.raises(IllegalTransition, match="needs 2 distinct units"):
        async with db.transaction() as session:
            w = await lifecycle.lock(session, workload_id)
            await lifecycle.transition(session, w, "scheduled",
                                       change=Change(at=utcnow(), units=("gpu-a",), facility_id="tx-north"))


async def test_a_failing_effect_rolls_back_row_history_and_event(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    workload_id = await new_workload(db, "running")
    before = await counts(db, workload_id)

    async def broken(session: object, workload: Workload, change: Change) -> None:
        workload.finished_at = change.at
        raise RuntimeError("effect failed half way")

    monkeypatch.setitem(TRANSITIONS, ("running", "completed"), Transition(effect=broken))
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            w = await lifecycle.lock(session, workload_id)
            await lifecycle.transition(session, w, "completed", change=change("completed"))
    async with db.session() as session:
        row = await session.get(Workload, workload_id)
    assert row is not None and row.status == "running" and row.finished_at is None
    assert await counts(db, workload_id) == before


async def test_preemption_keeps_the_place_in_the_queue(db: Database) -> None:
    workload_id = await new_workload(db, "running")
    async with db.session() as session:
        submitted = (await session.get(Workload, workload_id)).submitted_at  # type: ignore[union-attr]
    async with db.transaction() as session:
        w = await lifecycle.lock(session, workload_id)
        await lifecycle.transition(session, w, "preempted", change=change("preempted"))
        await lifecycle.transition(session, w, "queued", change=change("queued"))
    async with db.session() as session:
        row = await session.get(Workload, workload_id)
        history = [(e.from_status, e.to_status) for e in await lifecycle.history(session, workload_id)]
    assert row is not None and row.submitted_at == submitted and row.preemptions == 1 and row.units == []
    assert history[-2:] == [("running", "preempted"), ("preempted", "queued")]
    assert history[0] == (None, "submitted")
