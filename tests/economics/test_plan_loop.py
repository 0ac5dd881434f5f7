"""The live plan loop: market ticks in, plans out (stored, and `plan.decided` on the bus)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from tests.eventually import eventually

from hcp.core.bus import Event
from hcp.core.clock import ScaledClock
from hcp.core.platform import Platform
from hcp.core.settings import Settings
from hcp.economics import service
from hcp.economics.planner import Hysteresis, Prices, UnitState
from hcp.kernel.events import MarketTick
from hcp.migrations import migrate
from hcp.resources import service as resources

FLEET = [UnitState(f"s21-{i}", "asic", "tx", "S21", 3500.0, 200.0) for i in range(4)] + [
    UnitState(f"s19-{i}", "asic", "tx", "S19", 3250.0, 95.0) for i in range(4)] + [
    UnitState("h100-1", "gpu", "tx", "H100", 700.0, idle_power_w=80.0)]


async def fleet(_session) -> list[UnitState]:
    return FLEET


def tick(ts: datetime, price: float) -> Event:
    return Event(subject="market.tick", data={
        "ts": ts.isoformat().replace("+00:00", "Z"), "btc_usd": 65000.0, "network_difficulty": 8.3e13,
        "fees_btc_per_block": 0.04, "electricity_usd_per_mwh": {"HB_NORTH": price},
        "gpu_spot_usd_per_hour": {"H100": 2.5}})


def prices_of(event: Event) -> tuple[Prices, dict[str, float]]:
    parsed = service.prices_from_tick(event.parse(MarketTick), at=datetime.fromisoformat(event.ts))
    assert parsed is not None
    return parsed


@pytest.fixture
async def platform(database_url: str, make_settings: Callable[..., Settings]):
    start = datetime(2026, 7, 1, 12, tzinfo=UTC).timestamp()
    plat = Platform(make_settings(database_url=database_url), clock=ScaledClock(1.0, start=start))
    await plat.start(migrate=migrate)
    async with plat.db.transaction() as session:
        await resources.upsert_facility(session=session, id="tx", name="Texas North", location="TX",
                                        power_cap_kw=100.0, market_node="HB_NORTH")
    yield plat
    await plat.stop()


async def test_ticks_become_plans_and_plan_events(platform: Platform) -> None:
    loop = service.PlanLoop(platform, fleet=fleet, hysteresis=Hysteresis(0.5, 600), min_interval_s=60)
    decided: list[Event] = []

    async def seen(event: Event) -> None:
        decided.append(event)

    await platform.bus.subscribe("plan.decided", seen, durable="test-watch")
    await loop.start()
    t0 = platform.clock.now()
    await platform.bus.publish(tick(t0, 40.0))
    await platform.bus.publish(tick(t0 + timedelta(seconds=30), 400.0))  # inside min_interval: skipped
    await eventually(lambda: decided, 4, what="plan.decided")
    async with platform.db.session() as session:
        record = await service.latest_plan_record(session=session)
    assert record is not None and record.summary["units_by_mode"] == {"mining": 8, "spot": 1}
    assert decided and decided[0].data["id"] == record.id
    assert decided[0].data["recommendations"]
    # Ticks arrive from the future of the plan: one more, above every break-even.
    platform.clock.set_speed(1.0)
    async with platform.db.transaction() as session:
        prices, electricity = prices_of(tick(t0 + timedelta(minutes=20), 400.0))
        previous, last_change = service.plan_from_record(record)
        plan = await loop.plan(session=session, prices=prices, electricity=electricity,
                               previous=previous, last_change=last_change)
    assert plan is not None and {d.mode for uid, d in plan.decisions.items() if uid.startswith("s")} == {"curtailed"}
    async with platform.db.session() as session:
        latest = await service.latest_plan_record(session=session)
    assert latest.last_change["s21-0"] == plan.ts.isoformat()
    await loop.stop()


async def test_stale_ticks_are_not_planned(platform: Platform) -> None:
    loop = service.PlanLoop(platform, fleet=fleet)
    await loop.on_tick(tick(platform.clock.now() - timedelta(hours=2), 40.0))
    async with platform.db.session() as session:
        assert await service.latest_plan_record(session=session) is None


def test_profitability_reports_break_even() -> None:
    from hcp.economics.planner import FacilityState, Prices

    prices, _ = prices_of(tick(datetime(2026, 7, 1, tzinfo=UTC), 45.0))
    report = service.profitability(prices=prices, facilities=[FacilityState("tx", "TX", 100, "HB_NORTH", 45.0)],
                                   units=FLEET)
    s21 = next(m for m in report["facilities"][0]["models"] if m["model"] == "S21")
    hp = report["hashprice_usd_per_th_day"]
    assert s21["break_even_usd_per_mwh"] == pytest.approx(hp * 200 / 24 * 1e6 / 3500, abs=0.01)
    assert s21["efficiency_j_per_th"] == 17.5
    assert isinstance(prices, Prices)


async def _planned_kw(platform: Platform) -> tuple[float, object]:
    async with platform.db.session() as session:
        record = await service.latest_plan_record(session=session)
    assert record is not None
    (facility,) = record.summary["facilities"]
    return float(facility["power_kw"]), facility["demand_response"]


async def test_a_window_in_force_replans_at_once_and_cancelling_it_restores_the_cap(platform: Platform) -> None:
    loop = service.PlanLoop(platform, fleet=fleet, hysteresis=Hysteresis(0.5, 0), min_interval_s=60, replan_s=0.05)
    await loop.start()
    try:
        await platform.bus.publish(tick(platform.clock.now(), 40.0))
        before = await eventually(lambda: _planned_kw(platform), 4, what="the first plan")
        assert before[0] > 20 and before[1] is None  # the 8 ASICs mine: ~27 kW under the 100 kW cap

        # A window starting now: the plan obeys it without waiting for the next tick (a minute away).
        now = platform.clock.now()
        async with platform.db.transaction() as session:
            window = await service.create_demand_response(
                session=session, facility_id="tx", power_cap_kw=10.0, starts_at=now - timedelta(seconds=1),
                ends_at=now + timedelta(hours=1), reason="ERCOT 4CP", created_by=None)

        async def capped() -> bool:
            kw, in_force = await _planned_kw(platform)
            return kw <= 10.0 and in_force is not None

        await eventually(capped, 4, what="a plan under the window's 10 kW")

        # Cancelled: the facility's own cap again, at once.
        async with platform.db.transaction() as session:
            await service.delete_demand_response(session=session, event_id=window.id)

        async def restored() -> bool:
            kw, in_force = await _planned_kw(platform)
            return kw > 20 and in_force is None

        await eventually(restored, 4, what="a plan back above 20 kW once the window is cancelled")

        # One that opens in 2 s (before the next tick) is planned when it opens, not before.
        async with platform.db.transaction() as session:
            await service.create_demand_response(
                session=session, facility_id="tx", power_cap_kw=10.0,
                starts_at=platform.clock.now() + timedelta(seconds=2),
                ends_at=platform.clock.now() + timedelta(hours=1), reason="grid call", created_by=None)
        assert (await _planned_kw(platform))[0] > 20
        await eventually(capped, 6, what="a plan under the cap once the window opens")
    finally:
        await loop.stop()
