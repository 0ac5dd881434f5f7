"""One decision per unit: running work is a fixed commitment of the plan, admitted queued work is
placed before spot and mining, switching is priced, and every workload left waiting says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hcp.economics.optimizer import optimize
from hcp.economics.planner import (
    FacilityState,
    Hysteresis,
    Plan,
    Prices,
    UnitState,
    WorkloadDemand,
    decide,
)
from hcp.economics.schemas import OptimizeRequest

T0 = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
GPU_W = {"H100": (700.0, 80.0), "A100": (400.0, 55.0)}


def prices(spot_h100: float = 2.5, spot_a100: float = 1.5, btc: float = 65_000) -> Prices:
    return Prices(btc_usd=btc, network_difficulty=8.3e13, fees_btc_per_block=0.04,
                  gpu_spot_usd_per_hour={"H100": spot_h100, "A100": spot_a100}, ts=T0)


def gpu(uid: str, fac: str, model: str = "H100", **kw: object) -> UnitState:
    full, idle = GPU_W[model]
    return UnitState(uid, "gpu", fac, model, full, idle_power_w=idle, **kw)  # type: ignore[arg-type]


def asic(uid: str, fac: str) -> UnitState:
    return UnitState(uid, "asic", fac, "S21", 3500.0, 200.0)


def plan_once(units: list[UnitState], workloads: list[WorkloadDemand], *, cap_kw: float = 100.0,
              price_mwh: float = 30.0, p: Prices | None = None, previous: Plan | None = None,
              now: datetime = T0) -> Plan:
    facilities = [FacilityState("tx", "Texas", cap_kw, "HB", price_mwh),
                  FacilityState("nd", "Dakota", cap_kw, "MISO", price_mwh)]
    return decide(now=now, prices=p or prices(), facilities=facilities, units=units, workloads=workloads,
                  events=[], previous=previous, last_change={}, hysteresis=Hysteresis(min_dwell_s=0))


def test_running_work_is_a_commitment_never_spot_or_idle() -> None:
    # The issue's demo: GPUs running customers' work were planned as spot (demand was queued work only).
    units = [gpu(f"g{i}", "tx", workload_id=f"w{i % 3}", tenant_id="acme") for i in range(7)]
    units += [gpu("g7", "tx"), gpu("g8", "tx")]
    plan = plan_once(units, [])
    for i in range(7):
        d = plan.decisions[f"g{i}"]
        assert (d.mode, d.workload_id, d.tenant_id, d.held) == ("workload", f"w{i % 3}", "acme", True)
        assert d.power_w == 700.0
    assert {plan.decisions["g7"].mode, plan.decisions["g8"].mode} == {"spot"}  # the free ones may rent
    assert plan.facilities[0]["running_work_kw"] == 4.9


def test_queued_work_goes_before_spot_even_when_spot_pays_more() -> None:
    units = [gpu(f"g{i}", "tx") for i in range(4)]
    plan = plan_once(units, [WorkloadDemand("q", "H100", 3, 1.0, tenant_id="acme")], p=prices(spot_h100=3.0))
    assert sorted(d.mode for d in plan.decisions.values()) == ["spot", "workload", "workload", "workload"]
    assert plan.unplaced_workloads == [] and plan.waiting == {}
    assert all(d.tenant_id == "acme" for d in plan.decisions.values() if d.mode == "workload")


def test_a_price_limit_under_spot_lets_spot_win_and_says_so() -> None:
    units = [gpu("g0", "tx")]
    work = WorkloadDemand("cheap", "H100", 1, 1.0, max_price_usd_per_gpu_hour=1.0)
    plan = plan_once(units, [work], p=prices(spot_h100=3.0))
    assert plan.decisions["g0"].mode == "spot"
    assert plan.waiting["cheap"].startswith("price limit:")


def test_queued_work_curtails_mining_for_power_and_a_cap_it_cannot_meet_is_the_reason() -> None:
    # 4 kW cap: one S21 (3.5 kW) plus an idle H100 fit; the workload needs the S21's power.
    units = [asic("a0", "tx"), gpu("g0", "tx")]
    plan = plan_once(units, [WorkloadDemand("q", "H100", 1, 0.5)], cap_kw=4.0, price_mwh=5.0)
    assert plan.decisions["a0"].mode == "curtailed" and plan.decisions["g0"].mode == "workload"
    tight = plan_once([gpu("g0", "tx"), gpu("g1", "tx")], [WorkloadDemand("q", "H100", 2, 5.0)], cap_kw=1.0)
    assert tight.waiting["q"].startswith("power cap:") and "tx has 2 H100 free" in tight.waiting["q"]


def test_leaving_spot_gives_notice_and_the_workload_says_until_when() -> None:
    units = [gpu("g0", "tx")]
    rented = plan_once(units, [])
    assert rented.decisions["g0"].mode == "spot"
    asked = plan_once(units, [WorkloadDemand("q", "H100", 1, 2.0)], previous=rented, now=T0 + timedelta(minutes=1))
    assert asked.decisions["g0"].mode == "spot" and asked.decisions["g0"].spot_ends_at is not None
    assert asked.waiting["q"].startswith("spot:") and asked.decisions["g0"].spot_ends_at in asked.waiting["q"]
    later = plan_once(units, [WorkloadDemand("q", "H100", 1, 2.0)], previous=asked, now=T0 + timedelta(minutes=4))
    assert later.decisions["g0"].mode == "workload" and later.waiting == {}


def test_optimizer_places_committed_work_before_more_profitable_mining() -> None:
    body = {
        "btc_usd": 65000, "network_difficulty": 8.3e13,
        "facilities": [{"id": "f", "power_cap_kw": 3.6, "electricity_usd_per_mwh": 10}],
        "units": [{"id": "a", "kind": "asic", "facility_id": "f", "hashrate_ths": 200, "power_w": 3500},
                  {"id": "g", "kind": "gpu", "facility_id": "f", "model": "H100", "power_w": 700,
                   "idle_power_w": 80}],
        "workloads": [{"id": "w", "gpu_model": "H100", "gpu_count": 1, "price_usd_per_gpu_hour": 0.01}],
    }
    assert optimize(OptimizeRequest(**body)).unplaced_workloads == ["w"]  # mining earns more
    body["workloads"][0]["committed"] = True  # type: ignore[index]
    out = optimize(OptimizeRequest(**body))
    assert out.unplaced_workloads == [] and {a.unit_id: a.mode for a in out.assignments}["a"] == "curtailed"


def test_optimizer_prices_an_asic_start_against_its_current_mode() -> None:
    # Power at $100/MWh: an S21 earns a little over its energy, less than a 10-minute ramp costs in an hour.
    body = {
        "btc_usd": 65000, "network_difficulty": 8.3e13,
        "facilities": [{"id": "f", "power_cap_kw": 10, "electricity_usd_per_mwh": 105}],
        "units": [{"id": "a", "kind": "asic", "facility_id": "f", "hashrate_ths": 200, "power_w": 3500,
                   "current_mode": "curtailed"}],
    }
    assert optimize(OptimizeRequest(**body)).assignments[0].mode == "mining"  # no switching priced
    body["switching"] = {"asic_ramp_s": 600, "horizon_h": 1}
    assert optimize(OptimizeRequest(**body)).assignments[0].mode == "curtailed"
    body["units"][0]["current_mode"] = "mining"  # type: ignore[index]
    assert optimize(OptimizeRequest(**body)).assignments[0].mode == "mining"  # no start: nothing to pay


fleets = st.lists(st.tuples(st.sampled_from(["tx", "nd"]), st.sampled_from(["asic", "H100", "A100"]),
                            st.booleans(), st.booleans()), min_size=1, max_size=24)
demand = st.lists(st.tuples(st.sampled_from(["H100", "A100", "any"]), st.integers(1, 4),
                            st.floats(0.5, 5.0), st.one_of(st.none(), st.floats(0.5, 4.0))), max_size=8)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=fleets, work=demand, cap_kw=st.floats(2.0, 60.0), price=st.floats(-20, 400),
       spot=st.floats(0.5, 4.0), btc=st.floats(30_000, 120_000))
def test_every_unit_has_one_role_commitments_hold_and_caps_hold(fleet, work, cap_kw, price, spot, btc) -> None:
    units, running_w = [], {"tx": 0.0, "nd": 0.0}
    for i, (fac, kind, held, available) in enumerate(fleet):
        if kind == "asic":
            units.append(UnitState(f"u{i}", "asic", fac, "S21", 3500.0, 200.0, available=available))
            continue
        full, _ = GPU_W[kind]
        # Running work only where it fits the cap with every other GPU idle (it was placed under it).
        takes = held and available and running_w[fac] + full <= cap_kw * 1000 * 0.5
        if takes:
            running_w[fac] += full
        units.append(gpu(f"u{i}", fac, kind, available=available, workload_id=f"run{i}" if takes else None,
                         tenant_id="t1" if takes else None))
    queued = [WorkloadDemand(f"q{j}", m, n, price_h, tenant_id="t2", max_price_usd_per_gpu_hour=limit)
              for j, (m, n, price_h, limit) in enumerate(work)]
    p = prices(spot_h100=spot, spot_a100=spot / 2, btc=btc)
    facilities = [FacilityState("tx", "Texas", cap_kw, "HB", price),
                  FacilityState("nd", "Dakota", cap_kw, "MISO", price)]
    idle_floor = {f: sum(GPU_W[u.model][1] for u in units if u.kind == "gpu" and u.available and u.facility_id == f
                         and u.workload_id is None) for f in ("tx", "nd")}
    if any(running_w[f] + idle_floor[f] > cap_kw * 1000 for f in running_w):
        return  # not a fleet a cap could hold
    plan = decide(now=T0, prices=p, facilities=facilities, units=units, workloads=queued, events=[],
                  previous=None, last_change={}, hysteresis=Hysteresis())

    assert set(plan.decisions) == {u.id for u in units}  # exactly one role per unit
    for u in units:
        d = plan.decisions[u.id]
        if u.workload_id is not None:
            assert (d.mode, d.workload_id, d.held) == ("workload", u.workload_id, True)
        elif d.mode == "workload":
            assert d.workload_id in {w.id for w in queued} and d.tenant_id == "t2"
    gangs: dict[str, list[UnitState]] = {}
    for u in units:
        d = plan.decisions[u.id]
        if d.mode == "workload" and not d.held:
            gangs.setdefault(d.workload_id or "", []).append(u)
    for w in queued:
        on = gangs.get(w.id, [])
        assert len(on) in (0, w.gpu_count) and len({u.facility_id for u in on}) <= 1
    for row in plan.facilities:
        assert row["power_kw"] <= row["power_cap_kw"] + 1e-6, plan.facilities
    assert set(plan.waiting) == set(plan.unplaced_workloads)
    # Admitted work waits only when no facility could take it even with its miners off and its
    # spot rentals ended: enough free GPUs there, and their power beside what must run.
    for w in queued:
        if w.id not in plan.waiting or not w.committed(p.gpu_spot_usd_per_hour):
            continue
        models = ("H100", "A100") if w.gpu_model == "any" else (w.gpu_model,)
        for fac in ("tx", "nd"):
            for model in models:
                free = [u for u in units if u.kind == "gpu" and u.model == model and u.facility_id == fac
                        and u.available and plan.decisions[u.id].mode in ("idle", "spot")]
                if len(free) < w.gpu_count:
                    continue
                must = sum(plan.decisions[u.id].power_w for u in units if u.facility_id == fac
                           and plan.decisions[u.id].mode == "workload")
                idle = sum(GPU_W[u.model][1] for u in units if u.kind == "gpu" and u.facility_id == fac
                           and u.available and plan.decisions[u.id].mode in ("idle", "spot"))
                need = w.gpu_count * (GPU_W[model][0] - GPU_W[model][1])
                assert must + idle + need > cap_kw * 1000 - 1e-6, (w, fac, model, plan.waiting[w.id])
