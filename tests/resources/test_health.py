"""Health: thresholds, offline after missed polls, events on change only, maintenance respected."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest
from tests.resources.conftest import asic_identity, events, gpu_identity, register

from hcp.core.clock import ScaledClock, SteppedClock
from hcp.core.db import Database
from hcp.core.leadership import Leadership
from hcp.core.settings import ResourcesSettings
from hcp.drivers.base import Capability, Driver, Drivers, Reading, UnitIdentity, UnitRef, UnitUnreachable
from hcp.resources import service, telemetry
from hcp.resources.health import MONITOR_LOCK_KEY, HealthMonitor, PollResult, assess

SETTINGS = ResourcesSettings(confirm_retry_s=0.0, poll_timeout_s=1.0)
MINING = {"hashrate_ths": 199.0, "expected_hashrate_ths": 200.0, "temp_c": 75.0, "fan_min_rpm": 4000.0}


def judge(kind: str = "asic", mode: str = "mining", errors: tuple[str, ...] = (), ramping: bool = False,
          **metrics: float) -> tuple[str, list[str]]:
    base = dict(MINING) if kind == "asic" else {"temp_c": 60.0, "xid": 0.0}
    return assess(kind=kind, metrics={**base, **metrics}, errors=errors, mode=mode, nominal_hashrate_ths=200.0,
                  settings=SETTINGS, ramping=ramping)


def test_thresholds() -> None:
    assert judge() == ("ok", [])
    assert judge(temp_c=88) == ("warning", ["temperature at or above 85 °C"])
    assert judge(temp_c=96)[0] == "critical"
    assert judge(hashrate_ths=133) == ("warning", ["hashrate below 80% of expected"])
    assert judge(hashrate_ths=20)[0] == "critical"
    assert judge(hashrate_ths=20, ramping=True) == ("ok", [])  # back from curtailment, still ramping
    assert judge(hashrate_ths=0, mode="curtailed") == ("ok", [])
    assert judge(fan_min_rpm=0) == ("warning", ["a fan below 1000 rpm"])
    assert judge(errors=("Chain 0 has failed",)) == ("warning", ["reports: Chain 0 has failed"])
    assert judge("gpu", "idle", xid=48) == ("critical", ["XID error 48"])
    assert judge("gpu", "workload", temp_c=93) == ("critical", ["temperature at or above 92 °C"])


class FakeDriver(Driver):
    """Answers per address what the test says: a reading or silence."""

    name = "fake"

    def __init__(self) -> None:
        self.answers: dict[str, Reading | None] = {}
        self.calls: dict[str, int] = {}

    def capabilities(self, unit: UnitRef) -> Capability:
        return Capability.TELEMETRY

    async def identify(self, address: str, *, options: Mapping[str, Any] | None = None) -> UnitIdentity | None:
        return None

    async def read_telemetry(self, unit: UnitRef) -> Reading:
        self.calls[unit.address] = self.calls.get(unit.address, 0) + 1
        answer = self.answers.get(unit.address)
        if answer is None:
            raise UnitUnreachable("connection refused")
        return answer


Monitored = tuple[Database, FakeDriver, HealthMonitor]


@pytest.fixture
async def monitored(db: Database) -> Monitored:
    driver = FakeDriver()
    monitor = HealthMonitor(db=db, drivers=Drivers([driver]), settings=SETTINGS, clock=ScaledClock(1.0))
    return db, driver, monitor


async def unit_state(db: Database, unit_id: str) -> dict[str, Any]:
    async with db.session() as session:
        return await service.get_unit_view(session=session, unit_id=unit_id)


async def test_a_round_records_readings_and_judges_health(monitored: Monitored) -> None:
    db, driver, monitor = monitored
    ok = await register(db, asic_identity(1, driver="fake"))
    hot = await register(db, asic_identity(2, driver="fake"))
    driver.answers = {"10.9.0.1": Reading(MINING, mode="mining", errors=()),
                      "10.9.0.2": Reading({**MINING, "temp_c": 97.0}, mode="mining")}
    summary = await monitor.poll_once()
    assert (summary.polled, summary.answered, summary.samples) == (2, 2, 8)
    good, bad = await unit_state(db, ok), await unit_state(db, hot)
    assert good["reading"]["hashrate_ths"] == 199.0 and good["mode"] == "mining" and good["health"] == "ok"
    assert bad["health"] == "critical" and bad["health_reasons"] == ["temperature at or above 95 °C"]
    # A fast reading without temperatures keeps the last one known.
    driver.answers["10.9.0.2"] = Reading({"hashrate_ths": 190.0})
    await monitor.poll_once()
    bad = await unit_state(db, hot)
    assert bad["reading"]["temp_c"] == 97.0 and bad["reading"]["hashrate_ths"] == 190.0
    changes = [e for e in await events(db) if e["previous"] is not None]
    assert [(e["id"], e["health"], e["mode"]) for e in changes] == [(ok, "ok", "mining"), (hot, "critical", "mining")]


async def test_offline_after_missed_polls_and_back(monitored: Monitored) -> None:
    db, driver, monitor = monitored
    uid = await register(db, asic_identity(1, driver="fake"))
    driver.answers = {"10.9.0.1": Reading(MINING, mode="mining")}
    await monitor.poll_once()
    driver.answers = {}
    await monitor.poll_once()  # one round: the miss is confirmed by a retry at once
    state = await unit_state(db, uid)
    assert state["status"] == "offline" and state["health_reasons"] == ["not answering"]
    assert driver.calls["10.9.0.1"] == 3 and state["missed_polls"] == 2
    await monitor.poll_once()  # an offline unit is asked once per round, and nothing is published
    assert driver.calls["10.9.0.1"] == 4
    driver.answers = {"10.9.0.1": Reading(MINING, mode="mining")}
    await monitor.poll_once()
    assert (await unit_state(db, uid))["status"] == "online"
    statuses = [(e["status"], e["previous"]["status"]) for e in await events(db) if e["previous"]]
    assert statuses == [("online", "online"), ("offline", "online"), ("online", "offline")]


async def test_maintenance_outranks_the_poll(monitored: Monitored) -> None:
    db, driver, monitor = monitored
    uid = await register(db, asic_identity(1, driver="fake"))
    async with db.transaction() as session:
        await service.update_unit(session=session, unit_id=uid, fields={"maintenance": True})
    driver.answers = {"10.9.0.1": Reading(MINING, mode="mining")}
    await monitor.poll_once()
    assert (await unit_state(db, uid))["status"] == "maintenance"
    driver.answers = {}
    await monitor.poll_once()
    await monitor.poll_once()
    assert (await unit_state(db, uid))["status"] == "maintenance"


async def test_curtailed_miners_get_their_ramp(monitored: Monitored) -> None:
    db, driver, monitor = monitored
    uid = await register(db, asic_identity(1, driver="fake"))
    driver.answers = {"10.9.0.1": Reading({**MINING, "hashrate_ths": 0.0}, mode="curtailed")}
    await monitor.poll_once()
    driver.answers = {"10.9.0.1": Reading({**MINING, "hashrate_ths": 12.0}, mode="mining")}
    await monitor.poll_once()
    state = await unit_state(db, uid)
    assert state["mode"] == "mining" and state["health"] == "ok"


async def test_pushed_units_go_offline_when_their_readings_stop(db: Database) -> None:
    clock = SteppedClock(start=time.time())
    monitor = HealthMonitor(db=db, drivers=Drivers([]), settings=ResourcesSettings(poll_interval_s=10.0),
                            clock=clock)
    async with db.transaction() as session:
        unit, _ = await service.register_unit(session=session, identity=gpu_identity(1, driver="nvml"), push=True)
        uid = unit.id
    async with db.session() as session:
        fresh = await service.get_unit(session=session, unit_id=uid)
    await monitor.apply([PollResult(fresh, Reading({"temp_c": 50.0, "power_w": 300.0}, mode="workload"))])
    state = await unit_state(db, uid)
    assert state["mode"] == "workload" and state["reading"]["power_w"] == 300.0
    async with db.session() as session:
        points = await telemetry.query(session=session, raw_since_ms=0, q=telemetry.SeriesQuery(
            unit_id=uid, since_ms=0, until_ms=telemetry.to_ms(monitor.clock.now()) + 1, step_s=None, metrics=None))
    assert {s["metric"] for s in points["series"]} == {"temp_c", "power_w"}
    await monitor.poll_once()
    assert (await unit_state(db, uid))["status"] == "online"  # within its poll interval
    await clock.advance(11.0)  # an interval with no reading pushed
    await monitor.poll_once()
    await monitor.poll_once()
    assert (await unit_state(db, uid))["status"] == "offline"


async def test_odd_readings_are_dropped_not_fatal(monitored: Monitored) -> None:
    db, driver, monitor = monitored
    uid = await register(db, asic_identity(1, driver="fake"))
    driver.answers = {"10.9.0.1": Reading({"hashrate_ths": 150.0, "temp_c": float("nan"), "x" * 60: 1.0,
                                           "fan_min_rpm": float("inf")}, mode="dancing")}
    summary = await monitor.poll_once()
    state = await unit_state(db, uid)
    assert summary.samples == 1 and state["reading"] == {"hashrate_ths": 150.0} and state["mode"] == "unknown"


async def test_one_poller_among_replicas(db: Database) -> None:
    first, second = Leadership(db, MONITOR_LOCK_KEY), Leadership(db, MONITOR_LOCK_KEY)
    try:
        assert await first.hold()
        if db.dialect == "postgresql":
            assert not await second.hold()  # the advisory lock is taken
            await first.release()
            assert await second.hold()
        else:
            assert await second.hold()  # SQLite: one process, always the leader
    finally:
        await first.release()
        await second.release()
