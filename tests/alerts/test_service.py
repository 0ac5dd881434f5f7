"""Alerts in the database, on SQLite and PostgreSQL: one open alert per cause, escalation under
the same alert, auto-resolve, ack and resolve by a user, the events written with each change,
and the open-alerts count the gauge reports."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from hcp.alerts import rules, service
from hcp.alerts.models import Alert
from hcp.core.db import Database
from hcp.core.errors import Conflict, NotFound
from hcp.core.outbox import OutboxEvent
from hcp.core.security import Principal

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
OPS = Principal(id="u1", email="ops@mara.com", role="operator", tenant_id=None, scopes=frozenset({"read", "write"}))
ACME = Principal(id="u2", email="john@acme.com", role="customer", tenant_id="acme",
                 scopes=frozenset({"read", "write"}))


def hot(unit_id: str, severity: str = "warning") -> rules.Verdict:
    cause = rules.Cause(f"temperature:{unit_id}", "temperature", severity, f"{unit_id} is hot")
    return rules.Verdict("unit", unit_id, rules.UNIT_RULES, (cause,))


def fine(unit_id: str) -> rules.Verdict:
    return rules.Verdict("unit", unit_id, rules.UNIT_RULES, ())


async def apply(db: Database, verdict: rules.Verdict) -> list[tuple[str, Alert]]:
    async with db.transaction() as session:
        return await service.apply_verdict(session=session, verdict=verdict, now=NOW)


async def alerts(db: Database) -> list[Alert]:
    async with db.session() as session:
        return list((await session.execute(select(Alert).order_by(Alert.raised_at, Alert.id))).scalars())


async def events(db: Database) -> list[tuple[str, str, str]]:
    async with db.session() as session:
        rows = (await session.execute(select(OutboxEvent).order_by(OutboxEvent.seq))).scalars().all()
        return [(r.subject, r.payload["id"], r.payload["severity"]) for r in rows
                if r.subject.startswith("alert.")]


async def test_one_alert_per_cause_escalated_in_place_and_resolved_when_it_clears(db: Database) -> None:
    assert [s for s, _ in await apply(db, hot("a1"))] == ["alert.raised"]
    for _ in range(5):  # the same cause again and again: nothing new
        assert await apply(db, hot("a1")) == []
    (first,) = await alerts(db)
    assert first.status == "open" and first.severity == "warning"
    assert [s for s, _ in await apply(db, hot("a1", "critical"))] == ["alert.raised"]
    assert await apply(db, hot("a1", "warning")) == []  # severity is the worst reached while open
    (same,) = await alerts(db)
    assert same.id == first.id and same.severity == "critical"
    assert [s for s, _ in await apply(db, fine("a1"))] == ["alert.resolved"]
    (gone,) = await alerts(db)
    assert gone.status == "resolved" and gone.resolved_by == "auto" and gone.open_cause is None
    # The cause coming back is a new alert.
    await apply(db, hot("a1"))
    assert sorted(a.status for a in await alerts(db)) == ["open", "resolved"]
    assert [(s, sev) for s, _, sev in await events(db)] == [
        ("alert.raised", "warning"), ("alert.raised", "critical"), ("alert.resolved", "critical"),
        ("alert.raised", "warning")]


async def test_a_verdict_touches_only_its_subject_and_rules(db: Database) -> None:
    await apply(db, hot("a1"))
    await apply(db, hot("a2"))
    switch = rules.switch_verdict({"unit_id": "a1", "latency_ms": 900.0}, limit_ms=500)
    assert switch is not None
    await apply(db, switch)
    await apply(db, fine("a2"))
    open_causes = sorted(a.cause for a in await alerts(db) if a.status == "open")
    assert open_causes == ["switch_latency:a1", "temperature:a1"]
    # An offline unit keeps its other alerts: being offline says nothing about its temperature.
    offline = rules.unit_verdict({"id": "a1", "kind": "asic", "status": "offline"}, rules.ResourcesSettings())
    await apply(db, offline)
    open_causes = sorted(a.cause for a in await alerts(db) if a.status == "open")
    assert open_causes == ["switch_latency:a1", "temperature:a1", "unit_offline:a1"]


async def test_replicas_racing_on_one_cause_open_one_alert(db: Database) -> None:
    results = await asyncio.gather(*(apply(db, hot("a9")) for _ in range(4)))
    assert sum(len(r) for r in results) == 1
    assert len(await alerts(db)) == 1


async def test_ack_and_resolve_by_a_user(db: Database) -> None:
    ((_, alert),) = await apply(db, hot("a1"))
    async with db.transaction() as session:
        acked = await service.ack(session=session, principal=OPS, alert_id=alert.id, now=NOW)
        assert acked.status == "acked" and acked.acked_by == "ops@mara.com"
    async with db.session() as session:
        assert await service.count_open(session=session) == {"info": 0, "warning": 1, "critical": 0}
    # Acked is still open for the rules: no second alert, and it resolves when the cause clears.
    assert await apply(db, hot("a1")) == []
    async with db.transaction() as session:
        done = await service.resolve(session=session, principal=OPS, alert_id=alert.id, now=NOW)
        assert done.status == "resolved" and done.resolved_by == "ops@mara.com"
    async with db.transaction() as session:
        with pytest.raises(Conflict):
            await service.ack(session=session, principal=OPS, alert_id=alert.id, now=NOW)
    async with db.session() as session:
        assert await service.count_open(session=session) == {"info": 0, "warning": 0, "critical": 0}
        with pytest.raises(NotFound):
            await service.get_alert(session=session, principal=OPS, alert_id="nope")
    assert [s for s, _, _ in await events(db)] == ["alert.raised", "alert.acked", "alert.resolved"]


async def test_customers_see_their_tenants_budget_alerts_only(db: Database) -> None:
    for tenant in ("acme", "globex"):
        verdict = rules.budget_verdict({"tenant_id": tenant, "month": "2026-11", "threshold_pct": 80,
                                        "spent_usd": "80.00", "limit_usd": "100.00"})
        assert verdict is not None
        await apply(db, verdict)
    await apply(db, hot("a1"))
    async with db.session() as session:
        mine, total = await service.list_alerts(session=session, principal=ACME)
        assert total == 1 and [a.tenant_id for a in mine] == ["acme"]
        everything, total = await service.list_alerts(session=session, principal=OPS, status="open")
        assert total == 3
        globex = next(a for a in everything if a.tenant_id == "globex")
        fleet = next(a for a in everything if a.tenant_id is None)
        for other in (globex, fleet):
            with pytest.raises(NotFound):
                await service.get_alert(session=session, principal=ACME, alert_id=other.id)
