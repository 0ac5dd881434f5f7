"""The rules read the health monitor's verdicts as it words them, and the service keeps exactly
one open alert per active cause whatever order the verdicts come in (property test)."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hcp.alerts import rules, service
from hcp.alerts.models import SEVERITY_RANK, Alert
from hcp.core.db import Base, Database
from hcp.core.settings import ResourcesSettings
from hcp.resources.health import assess

RES = ResourcesSettings()


def unit(kind: str, metrics: dict[str, float], *, mode: str = "mining", errors: tuple[str, ...] = (),
         status: str = "online") -> dict[str, object]:
    health, reasons = assess(kind=kind, metrics=metrics, errors=errors, mode=mode, nominal_hashrate_ths=200.0,
                             settings=RES)
    return {"id": "u1", "kind": kind, "status": status, "health": health, "health_reasons": reasons,
            "reading": metrics, "missed_polls": 0}


def causes(verdict: rules.Verdict) -> dict[str, str]:
    return {c.cause: c.severity for c in verdict.active}


def test_unit_rules_read_the_health_monitors_reasons() -> None:
    ok = {"temp_c": 70.0, "hashrate_ths": 200.0, "expected_hashrate_ths": 200.0, "fan_min_rpm": 4000.0}
    assert causes(rules.unit_verdict(unit("asic", ok), RES)) == {}
    assert causes(rules.unit_verdict(unit("asic", {**ok, "temp_c": 88.0}), RES)) == {"temperature:u1": "warning"}
    assert causes(rules.unit_verdict(unit("asic", {**ok, "temp_c": 97.0}), RES)) == {"temperature:u1": "critical"}
    assert causes(rules.unit_verdict(unit("gpu", {"temp_c": 93.0}, mode="idle"), RES)) == {
        "temperature:u1": "critical"}
    assert causes(rules.unit_verdict(unit("asic", {**ok, "hashrate_ths": 150.0}), RES)) == {
        "hashrate_low:u1": "warning"}
    assert causes(rules.unit_verdict(unit("asic", {**ok, "hashrate_ths": 80.0}), RES)) == {
        "hashrate_low:u1": "critical"}
    assert causes(rules.unit_verdict(unit("asic", {**ok, "fan_min_rpm": 0.0}), RES)) == {"fan_failure:u1": "warning"}
    assert causes(rules.unit_verdict(unit("gpu", {"temp_c": 60.0, "xid": 48.0}, mode="workload"), RES)) == {
        "gpu_xid:u1": "critical"}
    offline = rules.unit_verdict(unit("asic", {}, status="offline"), RES)
    assert causes(offline) == {"unit_offline:u1": "critical"} and offline.rules == {"unit_offline"}


def test_switch_market_stale_and_budget_rules() -> None:
    slow = rules.switch_verdict({"unit_id": "g1", "latency_ms": 612.0}, limit_ms=500)
    quick = rules.switch_verdict({"unit_id": "g1", "latency_ms": 410.0}, limit_ms=500)
    assert slow is not None and causes(slow) == {"switch_latency:g1": "warning"}
    assert quick is not None and causes(quick) == {} and quick.rules == slow.rules
    # $38/PH/day at 17.5 J/TH breaks even at ~$90/MWh (economics.hashprice says the same).
    assert abs(rules.break_even_usd_per_mwh(0.038, j_per_th=17.5) - 90.48) < 0.01
    tick = {"hashprice_usd_per_th_day": 0.038, "electricity_usd_per_mwh": {"HB_NORTH": 45.0, "HB_WEST": 250.0}}
    verdicts = {v.subject_id: v for v in rules.market_verdicts(tick, j_per_th=17.5)}
    assert causes(verdicts["HB_WEST"]) == {"price_spike:HB_WEST": "warning"}
    assert causes(verdicts["HB_NORTH"]) == {} and causes(verdicts["feed"]) == {}  # a tick clears staleness
    assert causes(rules.stale_verdict(age_s=700, stale_after_s=600)) == {"market_stale:feed": "warning"}
    assert causes(rules.stale_verdict(age_s=10, stale_after_s=600)) == {}
    budget = rules.budget_verdict({"tenant_id": "t1", "month": "2026-11", "threshold_pct": 100,
                                   "spent_usd": "101.00", "limit_usd": "100.00"})
    assert budget is not None and causes(budget) == {"budget:t1:2026-11": "critical"}
    assert budget.active[0].tenant_id == "t1"
    assert rules.budget_verdict({"tenant_id": "t1"}) is None


# --- property: the open alerts always mirror the latest verdict ----------------------------------
CAUSES = ("temperature", "hashrate_low", "fan_failure", "gpu_xid")
verdict_steps = st.lists(
    st.dictionaries(st.sampled_from(CAUSES), st.sampled_from(("warning", "critical")), max_size=4),
    min_size=1, max_size=12,
)


async def _run(steps: list[dict[str, str]], path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path / 'alerts.db'}")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        worst: dict[str, str] = {}  # cause -> worst severity since it opened
        now = datetime(2026, 11, 28, tzinfo=UTC)
        for step in steps:
            now += timedelta(seconds=1)
            active = tuple(rules.Cause(f"{rule}:u1", rule, sev, rule) for rule, sev in step.items())
            async with db.transaction() as session:
                await service.apply_verdict(session=session, now=now,
                                            verdict=rules.Verdict("unit", "u1", rules.UNIT_RULES, active))
            worst = {c.cause: max(c.severity, worst.get(c.cause, c.severity), key=SEVERITY_RANK.__getitem__)
                     for c in active}
            async with db.session() as session:
                rows = (await session.execute(select(Alert))).scalars().all()
            open_rows = [a for a in rows if a.status != "resolved"]
            assert {a.cause: a.severity for a in open_rows} == worst
            assert len(open_rows) == len(worst)  # one per cause
            assert all(a.open_cause is None and a.resolved_by == "auto" for a in rows if a.status == "resolved")
    finally:
        await db.dispose()


@settings(max_examples=40, deadline=None)
@given(verdict_steps)
def test_open_alerts_mirror_the_latest_verdict(steps: list[dict[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run(steps, Path(tmp)))
