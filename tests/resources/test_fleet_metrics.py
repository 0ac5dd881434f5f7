"""Fleet aggregates: the sums the database computes agree, on SQLite and PostgreSQL, with the
capacity report's estimate of each unit, and reach the bus and /metrics from a running platform
with the simulator."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete
from tests.conftest import free_port, random_loopback_subnet, running_app
from tests.eventually import eventually

from hcp.app import create_app
from hcp.core.bus import Event
from hcp.core.clock import ScaledClock
from hcp.core.db import Database
from hcp.core.platform import Platform
from hcp.core.settings import Settings
from hcp.orchestrator.fleet_metrics import SUBJECT, FleetMetrics, next_wait
from hcp.resources import capacity
from hcp.resources.fleet_metrics import aggregate, unit_groups
from hcp.resources.models import Facility, Unit

MODES = ("mining", "curtailed", "workload", "spot", "idle", "unknown")
STATUSES = ("online", "offline", "maintenance", "switching")
# Written out again rather than imported, so that a wrong mapping in the module fails here.
POWER_MODE = {"mining": "mining", "workload": "ai", "spot": "ai", "idle": "idle", "unknown": "idle",
              "curtailed": "curtailed"}
# Readings as hardware reports them: PostgreSQL's float arithmetic raises on underflow, which
# subnormal values (1e-310 TH/s) would reach; no device reports those.
maybe_float = st.one_of(st.none(), st.just(0.0), st.floats(min_value=1e-6, max_value=10_000))


@st.composite
def units(draw: st.DrawFn) -> list[Unit]:
    fleet = []
    for i in range(draw(st.integers(0, 30))):
        reading: dict[str, float] = {}
        for key in ("power_w", "hashrate_ths", "expected_hashrate_ths", "util_pct"):
            value = draw(maybe_float)
            if value is not None:
                reading[key] = value
        fleet.append(Unit(
            id=f"u{i}", identity=f"u{i}", kind=draw(st.sampled_from(("asic", "gpu"))), model="m", driver="sim",
            status=draw(st.sampled_from(STATUSES)), mode=draw(st.sampled_from(MODES)),
            facility_id=draw(st.sampled_from((None, "f1", "f2"))), workload_id=draw(st.sampled_from((None, "w1"))),
            power_w=draw(maybe_float), hashrate_ths=draw(maybe_float), reading=reading,
        ))
    return fleet


async def store(db: Database, fleet: list[Unit]) -> None:
    """The fleet replaces whatever units the database held (hypothesis reuses the database)."""
    async with db.transaction() as session:
        await session.execute(delete(Unit))
        for facility in ("f1", "f2"):
            await session.merge(Facility(id=facility, name=facility, location="TX", power_cap_kw=1e3,
                                         market_node="HB_WEST"))
        # Copies: the generated objects stay detached and readable for the reference sums.
        session.add_all([Unit(**{c.key: getattr(u, c.key) for c in Unit.__table__.columns
                                 if getattr(u, c.key) is not None}) for u in fleet])


def reference(fleet: list[Unit]) -> dict[str, Any]:
    """The same aggregates, unit by unit, with the capacity report's estimate of each unit."""
    online = [u for u in fleet if u.status in ("online", "switching")]
    power: dict[tuple[str, str], float] = {}
    for u in online:
        key = (u.facility_id or "unassigned", POWER_MODE[u.mode])
        power[key] = power.get(key, 0.0) + capacity.estimated_power_w(u)[0]
    gpus = [u for u in fleet if u.kind == "gpu"]
    busy = [u for u in gpus if u in online and (u.mode in ("workload", "spot") or u.workload_id)]
    util = [min(u.reading["util_pct"], 100.0) / 100 for u in gpus if u in online and "util_pct" in u.reading]
    return {
        "power": {k: v for k, v in power.items() if v},
        "hashrate": sum(u.reading.get("hashrate_ths", 0.0) for u in online if u.kind == "asic"),
        "mining": sum(1 for u in online if u.kind == "asic" and u.mode == "mining"),
        "gpus": (len(gpus), len(busy)),
        "util": sum(util) / len(util) if util else None,
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fleet=units())
async def test_aggregates_equal_a_unit_by_unit_sum(db: Database, fleet: list[Unit]) -> None:
    """Summed by the database (SQLite and PostgreSQL), as the capacity report estimates each unit."""
    await store(db, fleet)
    async with db.session() as session:
        agg = aggregate(await unit_groups(session=session))
    want = reference(fleet)
    assert {k: v for k, v in agg.power_w.items() if v} == pytest.approx(want["power"])
    assert sum(agg.power_by_mode().values()) == pytest.approx(sum(want["power"].values()))
    assert agg.hashrate_ths == pytest.approx(want["hashrate"])
    assert agg.asics_mining == want["mining"]
    assert (agg.gpus_total, agg.gpus_busy) == want["gpus"]
    assert agg.gpu_utilization_fleet == pytest.approx(want["util"])
    assert all(0.0 <= r <= 1.0 for r in agg.gpu_utilization.values())


@given(st.floats(0.01, 3600), st.floats(0, 100))
def test_rounds_keep_their_interval_and_take_at_most_a_fifth_of_the_time(interval: float, took: float) -> None:
    wait = next_wait(interval, took)
    assert took + wait >= interval - 1e-9
    assert took / (took + wait) <= 0.2 + 1e-9 if took else wait == interval
    if took <= interval / 5:
        assert took + wait == pytest.approx(interval)  # a fleet that fits keeps the cadence exactly


def test_an_empty_fleet_aggregates_to_nothing() -> None:
    agg = aggregate([])
    assert (agg.hashrate_ths, agg.asics_mining, agg.gpus_total, agg.power_w, agg.gpu_utilization_fleet) == (
        0.0, 0, 0, {}, None)


async def test_aggregates_of_a_known_fleet(db: Database) -> None:
    async with db.transaction() as session:
        session.add(Facility(id="f1", name="F1", location="TX", power_cap_kw=100.0, market_node="HB_WEST"))
        session.add_all([
            Unit(id="a1", identity="a1", kind="asic", model="Antminer S21", driver="cgminer", facility_id="f1",
                 status="online", mode="mining", power_w=3500.0, hashrate_ths=200.0,
                 reading={"hashrate_ths": 100, "expected_hashrate_ths": 200, "temp_c": 70}),
            Unit(id="a2", identity="a2", kind="asic", model="Antminer S21", driver="cgminer", facility_id="f1",
                 status="online", mode="curtailed", power_w=3500.0, hashrate_ths=200.0, reading={}),
            Unit(id="g1", identity="g1", kind="gpu", model="H100", driver="sim", facility_id="f1", status="online",
                 mode="workload", workload_id="w1", power_w=700.0, reading={"power_w": 650.5, "util_pct": 80}),
            Unit(id="g2", identity="g2", kind="gpu", model="H100", driver="sim", status="offline", mode="idle",
                 power_w=700.0, reading={"power_w": 90.0, "util_pct": 0}),
        ])
    async with db.session() as session:
        agg = aggregate(await unit_groups(session=session))
    assert agg.hashrate_ths == 100.0 and agg.asics_mining == 1
    assert agg.power_w[("f1", "mining")] == pytest.approx(1750.0)  # half its expected hashrate (integers in JSON)
    assert agg.power_w[("f1", "curtailed")] == capacity.IDLE_ASIC_W
    assert agg.power_w[("f1", "ai")] == pytest.approx(650.5)
    assert agg.power_w[("unassigned", "idle")] == 0.0  # the offline GPU draws nothing we know of
    assert agg.gpus == {("f1", "busy"): 1, ("f1", "idle"): 0, ("f1", "unavailable"): 0,
                        ("unassigned", "busy"): 0, ("unassigned", "idle"): 0, ("unassigned", "unavailable"): 1}
    assert agg.gpu_utilization == {"f1": pytest.approx(0.8)}


# --- a running platform ------------------------------------------------------------------------
def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


async def test_platform_streams_fleet_metrics_and_exposes_gauges(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        sim={"enabled": True, "gpus": 4, "asics": 6, "asic_subnet": random_loopback_subnet(),
             "asic_web_port": free_port(), "speed": 20.0, "market_interval_s": 2.0},
        resources={"poll_interval_s": 0.5}, metrics={"interval_s": 0.25},
    )
    # Simulated time from a fixed instant: the market's prices follow the hour of day, and so does
    # the plan; from here they are the same in every run.
    start = datetime(2026, 6, 1, 10, tzinfo=UTC).timestamp()
    app = create_app(settings, platform=Platform(settings, clock=ScaledClock(20.0, start=start)))
    async with running_app(app) as client:
        platform = app.state.platform
        events: list[Event] = []

        async def on_event(event: Event) -> None:
            events.append(event)

        await platform.bus.subscribe(SUBJECT, on_event, durable="test-fleet-metrics", deliver="new")
        def full_picture() -> bool:
            assert events, "no fleet.metrics event"
            latest = events[-1].data
            assert latest["hashrate_ths"] > 0 and latest["gpus_total"] >= 4 \
                and latest["profit_usd_per_hour"] is not None, latest
            return True

        await eventually(full_picture, 60, what="a fleet.metrics event with the whole fleet and a plan",
                         interval=0.1)
        body: dict[str, Any] = events[-1].data
        assert set(body) == {"ts", "hashrate_ths", "power_w", "power_w_by_facility", "gpu_utilization", "gpus_busy",
                             "gpus_total", "asics_mining", "profit_usd_per_hour", "queue_depth"}
        assert set(body["power_w"]) == {"mining", "ai", "idle", "curtailed", "total"}
        assert body["power_w"]["total"] == pytest.approx(
            sum(body["power_w"][m] for m in ("mining", "ai", "idle", "curtailed")), abs=0.5)
        assert body["power_w"]["total"] == pytest.approx(sum(body["power_w_by_facility"].values()), abs=0.5)
        assert body["asics_mining"] <= 6 and 0 <= body["gpus_busy"] <= body["gpus_total"] == 4
        assert body["queue_depth"] == {"inference": 0, "training": 0, "batch": 0}
        # One event per interval, not one per unit (10 units): 2 s at 0.25 s is about 8 events (a
        # count over a fixed window, so a fixed sleep).
        before = len(events)
        await asyncio.sleep(2.0)
        assert 2 <= len(events) - before <= 12  # fewer if a loaded machine stretches the rounds

        # The same fleet through the capacity report (its hashrate moves a little between polls).
        staff = await client.post("/api/v1/auth/login", json={"email": "ops@mara.com", "password": "operator123"})
        headers = {"Authorization": f"Bearer {staff.json()['access_token']}"}
        report = (await client.get("/api/v1/resources/capacity", headers=headers)).json()
        assert body["hashrate_ths"] == pytest.approx(report["total"]["hashrate_ths"], rel=0.2)

        exposed = samples((await client.get("/metrics")).text)
        [(_, hashrate)] = exposed["hcp_fleet_hashrate_ths"]
        assert hashrate > 0 and math.isfinite(hashrate)
        facilities = {labels["facility"] for labels, _ in exposed["hcp_power_watts"]}
        assert facilities == set(body["power_w_by_facility"])
        assert {labels["mode"] for labels, _ in exposed["hcp_power_watts"]} == {"mining", "ai", "idle", "curtailed"}
        assert {labels["queue_class"]: v for labels, v in exposed["hcp_queue_depth"]} == {
            "inference": 0, "training": 0, "batch": 0}
        assert exposed["hcp_btc_price_usd"][0][1] > 1000
        assert exposed["hcp_hashprice_usd_per_th_day"][0][1] > 0
        assert exposed["hcp_electricity_usd_per_mwh"]
        assert math.isfinite(exposed["hcp_plan_profit_usd_per_hour"][0][1])
        assert platform.components.health()["fleet-metrics"] == "ok"
    assert platform.components.health()["fleet-metrics"] == "not started"


async def test_only_the_leader_publishes(make_settings: Callable[..., Settings]) -> None:
    """Two replicas on one PostgreSQL database: the lock lets one of them publish."""
    from tests.conftest import temporary_postgres_database

    async with temporary_postgres_database() as url:
        settings = make_settings(database_url=url, metrics={"interval_s": 0.1})
        app = create_app(settings)
        async with running_app(app):
            platform = app.state.platform
            await platform.components.require(FleetMetrics).stop()  # the app's own would race for the lock
            first, second = FleetMetrics(platform), FleetMetrics(platform)
            try:
                assert await first.publish_once() is True
                assert await second.publish_once() is False  # refreshed its gauges, did not publish
                assert second.snapshot is not None
                await first.leadership.release()
                assert await second.publish_once() is True
            finally:
                await first.leadership.release()
                await second.leadership.release()
