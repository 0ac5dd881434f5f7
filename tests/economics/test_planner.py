"""The live planner: hysteresis, dwell, least-efficient-first curtailment, demand response."""

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np

from hcp.economics.planner import (
    DemandResponse,
    FacilityState,
    Hysteresis,
    Plan,
    Prices,
    UnitState,
    WorkloadDemand,
    decide,
)

T0 = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
PRICES = Prices(btc_usd=65_000, network_difficulty=8.3e13, fees_btc_per_block=0.04,
                gpu_spot_usd_per_hour={"H100": 2.5}, ts=T0)
# hashprice ~ $50/PH/day: S21 (17.5 J/TH) breaks even near $119/MWh, S19 (34 J/TH) near $61/MWh.
FLEET = [UnitState(f"s21-{i}", "asic", "tx", "S21", 3500.0, 200.0) for i in range(6)] + [
    UnitState(f"s19-{i}", "asic", "tx", "S19", 3250.0, 95.0) for i in range(6)] + [
    UnitState(f"h100-{i}", "gpu", "tx", "H100", 700.0, idle_power_w=80.0) for i in range(4)]


def facility(price: float, cap_kw: float = 200.0) -> list[FacilityState]:
    return [FacilityState("tx", "Texas North", cap_kw, "HB_NORTH", price)]


class Loop:
    """Drives `decide` the way the service does, remembering when each unit last changed."""

    def __init__(self, hysteresis: Hysteresis) -> None:
        self.hysteresis = hysteresis
        self.plan: Plan | None = None
        self.last_change: dict[str, datetime] = {}
        self.changes: dict[str, list[datetime]] = {}

    def step(self, now: datetime, price: float, *, cap_kw: float = 200.0, events=(), workloads=()) -> Plan:
        plan = decide(now=now, prices=PRICES, facilities=facility(price, cap_kw), units=FLEET,
                      workloads=list(workloads), events=list(events), previous=self.plan,
                      last_change=self.last_change, hysteresis=self.hysteresis)
        for uid in plan.changed:
            self.last_change[uid] = now
            self.changes.setdefault(uid, []).append(now)
        self.plan = plan
        return plan

    def mode(self, prefix: str) -> set[str]:
        assert self.plan is not None
        return {d.mode for uid, d in self.plan.decisions.items() if uid.startswith(prefix)}


def test_price_spike_curtails_least_efficient_first_and_resumes_after() -> None:
    loop = Loop(Hysteresis(min_gain_usd_per_hour=0.5, min_dwell_s=600))
    now = T0
    loop.step(now, 40.0)
    assert loop.mode("s19") == {"mining"} and loop.mode("s21") == {"mining"}
    now += timedelta(minutes=15)
    plan = loop.step(now, 90.0)  # above the S19's break-even, below the S21's
    assert loop.mode("s19") == {"curtailed"} and loop.mode("s21") == {"mining"}
    assert any(r["kind"] == "curtail" and r["model"] == "S19" and "break-even" in r["message"]
               for r in plan.recommendations)
    now += timedelta(minutes=15)
    loop.step(now, 400.0)  # above everyone's break-even
    assert loop.mode("s21") == {"curtailed"}
    now += timedelta(minutes=15)
    loop.step(now, 35.0)
    assert loop.mode("s19") == {"mining"} and loop.mode("s21") == {"mining"}


def run_day(dwell: float) -> Loop:
    loop = Loop(Hysteresis(min_gain_usd_per_hour=0.05, min_dwell_s=dwell))
    rng = np.random.default_rng(4)
    now = T0
    for _ in range(288):  # a day at 5-minute ticks, the price wobbling around the S19's break-even
        loop.step(now, 61.0 + float(rng.normal(0, 15.0)))
        now += timedelta(minutes=5)
    return loop


def test_steady_price_never_flaps_a_unit_within_its_dwell_time() -> None:
    dwell = 1800.0
    loop = run_day(dwell)
    for uid, times in loop.changes.items():
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert all(g >= dwell for g in gaps), f"{uid} changed mode twice within its dwell time"
    flapping = run_day(0.0)  # the same day without a dwell time flaps: the test can fail
    assert sum(map(len, flapping.changes.values())) > 2 * sum(map(len, loop.changes.values())) > 0


def test_small_gains_keep_the_current_plan() -> None:
    loop = Loop(Hysteresis(min_gain_usd_per_hour=1_000.0, min_dwell_s=0))
    loop.step(T0, 40.0)
    plan = loop.step(T0 + timedelta(minutes=5), 90.0)
    assert plan.changed == [] and plan.reason.startswith("kept")
    assert plan.objective_usd_per_hour < plan.optimum_usd_per_hour


def test_demand_response_window_lowers_the_cap_then_lifts_it() -> None:
    loop = Loop(Hysteresis(min_gain_usd_per_hour=0.5, min_dwell_s=3600))
    event = DemandResponse("dr1", "tx", 15.0, T0 + timedelta(hours=1), T0 + timedelta(hours=2), "ERCOT 4CP")
    loop.step(T0, 40.0, events=[event])
    assert loop.plan.facilities[0]["power_kw"] > 15.0
    during = loop.step(T0 + timedelta(hours=1, minutes=5), 40.0, events=[event])
    assert during.facilities[0]["power_kw"] <= 15.0  # the cap wins over the dwell time
    assert during.facilities[0]["demand_response"]["reason"] == "ERCOT 4CP"
    assert any("until" in r["message"] for r in during.recommendations if r["kind"] == "curtail")
    after = loop.step(T0 + timedelta(hours=3), 40.0, events=[event])
    assert after.facilities[0]["power_kw"] > 15.0 and after.facilities[0]["demand_response"] is None


def test_workloads_take_gpus_before_spot_and_unavailable_units_sit_out() -> None:
    fleet = [*FLEET[:-1], UnitState("h100-3", "gpu", "tx", "H100", 700.0, idle_power_w=80.0, available=False)]
    plan = decide(now=T0, prices=PRICES, facilities=facility(40.0), units=fleet,
                  workloads=[WorkloadDemand("w1", "H100", 2, 4.0)], events=[], previous=None,
                  last_change={}, hysteresis=Hysteresis())
    modes = {uid: d.mode for uid, d in plan.decisions.items() if uid.startswith("h100")}
    assert sorted(modes.values()) == ["idle", "spot", "workload", "workload"]
    assert modes["h100-3"] == "idle" and plan.decisions["h100-3"].power_w == 0.0


def test_each_facility_reports_its_share_of_the_profit() -> None:
    units = [*FLEET, UnitState("nd-s21", "asic", "nd", "S21", 3500.0, 200.0),
             UnitState("nd-h100", "gpu", "nd", "H100", 700.0, idle_power_w=80.0)]
    facilities = [*facility(40.0), FacilityState("nd", "North Dakota", 50.0, "MISO", 30.0)]
    plan = decide(now=T0, prices=PRICES, facilities=facilities, units=units, workloads=[], events=[],
                  previous=None, last_change={}, hysteresis=Hysteresis())
    rows = {f["id"]: f for f in plan.facilities}
    # North Dakota: one S21 mining (~$0.42/h less $0.105/h of power) and one H100 on spot ($2.50 less $0.021).
    hashprice = plan.hashprice_usd_per_th_day
    expected_nd = 200 * hashprice / 24 - 3.5 * 30 / 1000 + 2.5 - 0.7 * 30 / 1000
    assert np.isclose(rows["nd"]["profit_usd_per_hour"], expected_nd, atol=1e-3)
    assert np.isclose(sum(f["profit_usd_per_hour"] for f in plan.facilities), plan.objective_usd_per_hour, atol=1e-3)
