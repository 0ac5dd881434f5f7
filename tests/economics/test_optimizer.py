"""The optimizer against the exact, unreduced MILP (HiGHS) and the rules every plan must keep."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hcp.core.errors import InvalidInput
from hcp.economics.optimizer import (
    MINING,
    WORKLOAD,
    build_problem,
    objective_usd_per_hour,
    optimize,
    solve,
    violations,
)
from hcp.economics.reference import random_request, reference_optimum
from hcp.economics.schemas import OptimizeRequest

EXAMPLE = {
    "btc_usd": 65000, "network_difficulty": 1.2e14, "fees_btc_per_block": 0.025,
    "facilities": [{"id": "tx-north", "power_cap_kw": 800, "electricity_usd_per_mwh": 45}],
    "units": [
        {"id": "a1", "kind": "asic", "facility_id": "tx-north", "hashrate_ths": 200, "power_w": 3500},
        {"id": "g1", "kind": "gpu", "facility_id": "tx-north", "model": "H100", "power_w": 700, "idle_power_w": 80},
        {"id": "g2", "kind": "gpu", "facility_id": "tx-north", "model": "H100", "power_w": 700, "idle_power_w": 80},
        {"id": "g3", "kind": "gpu", "facility_id": "tx-north", "model": "H100", "power_w": 700, "idle_power_w": 80},
    ],
    "workloads": [{"id": "w1", "gpu_model": "H100", "gpu_count": 2, "price_usd_per_gpu_hour": 2.5}],
    "gpu_spot_usd_per_hour": {"H100": 2.1},
}


def test_design_example_mines_places_and_rents_spot() -> None:
    plan = optimize(OptimizeRequest(**EXAMPLE))
    modes = {a.unit_id: (a.mode, a.workload_id) for a in plan.assignments}
    assert modes["a1"] == ("mining", None)
    assert sorted(m for u, m in modes.items() if u.startswith("g")) == [
        ("spot", None), ("workload", "w1"), ("workload", "w1")]
    hashprice = (3.125 + 0.025) * 144 * 65000 / (1.2e14 * 2**32 / 600 / 1e12)
    expected = 200 * hashprice / 24 + 2 * 2.5 + 2.1 - (3500 + 3 * 700) * 45 / 1e6
    assert plan.objective_usd_per_hour == pytest.approx(expected, abs=1e-6)
    assert plan.hashprice_usd_per_th_day == pytest.approx(hashprice)
    assert plan.unplaced_workloads == []
    assert plan.facilities[0].power_kw == pytest.approx(5.6)


def test_cap_curtails_the_least_profitable_asics_first() -> None:
    req = dict(EXAMPLE, units=[
        {"id": f"s21-{i}", "kind": "asic", "facility_id": "tx-north", "hashrate_ths": 200, "power_w": 3500}
        for i in range(4)] + [
        {"id": f"s19-{i}", "kind": "asic", "facility_id": "tx-north", "hashrate_ths": 95, "power_w": 3250}
        for i in range(4)], workloads=[])
    req["facilities"] = [{"id": "tx-north", "power_cap_kw": 15, "electricity_usd_per_mwh": 30}]
    plan = optimize(OptimizeRequest(**req))
    mining = {a.unit_id for a in plan.assignments if a.mode == "mining"}
    assert mining == {f"s21-{i}" for i in range(4)}  # 14 kW of the 15 kW, all the efficient ones


def test_power_price_above_break_even_curtails_everything() -> None:
    req = dict(EXAMPLE, workloads=[], gpu_spot_usd_per_hour={})
    req["facilities"] = [{"id": "tx-north", "power_cap_kw": 800, "electricity_usd_per_mwh": 500}]
    plan = optimize(OptimizeRequest(**req))
    assert {a.mode for a in plan.assignments} == {"curtailed", "idle"}


def test_curve_picks_a_lower_power_point_when_the_cap_binds() -> None:
    req = dict(EXAMPLE, workloads=[], units=[{
        "id": "lux", "kind": "asic", "facility_id": "tx-north", "hashrate_ths": 200, "power_w": 3500,
        "curve": [[2500, 160], [3000, 181]]}])
    req["facilities"] = [{"id": "tx-north", "power_cap_kw": 2.6, "electricity_usd_per_mwh": 30}]
    plan = optimize(OptimizeRequest(**req))
    assert (plan.assignments[0].mode, plan.assignments[0].power_w) == ("mining", 2500)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), asics=st.integers(0, 25), gpus=st.integers(0, 16),
       workloads=st.integers(0, 8), facilities=st.integers(1, 3))
def test_reaches_the_exact_optimum_and_keeps_every_rule(
    seed: int, asics: int, gpus: int, workloads: int, facilities: int
) -> None:
    req = OptimizeRequest(**random_request(np.random.default_rng(seed), asics=asics, gpus=gpus,
                                           workloads=workloads, facilities=facilities))
    p = build_problem(req)
    s = solve(p)
    assert violations(p, s) == []
    ours = objective_usd_per_hour(p, s)
    best, _, proven = reference_optimum(p)
    assert best is not None and proven
    assert ours >= best - 1e-3 * abs(best) - 1e-9  # >= 99.9% of HiGHS's optimum


def test_large_fleet_plan_is_valid() -> None:
    req = OptimizeRequest(**random_request(np.random.default_rng(1), asics=5000, gpus=1000, workloads=300))
    p = build_problem(req)
    s = solve(p)
    assert violations(p, s) == []
    assert (s.mode == MINING).sum() > 0 and (s.mode == WORKLOAD).sum() > 0


@pytest.mark.parametrize(("change", "field"), [
    (lambda r: r["units"][0].update(power_w=-5), "units[0].power_w"),
    (lambda r: r["units"][0].update(facility_id="mars"), "units[0].facility_id"),
    (lambda r: r["workloads"][0].update(gpu_count=0), "workloads[0].gpu_count"),
    (lambda r: r.update(btc_usd=float("nan")), "btc_usd"),
    (lambda r: r["units"][1].pop("model"), "units[1].model"),
    (lambda r: r["units"][0].pop("hashrate_ths"), "units[0].hashrate_ths"),
    (lambda r: r["units"].append(dict(r["units"][0])), "units[4].id"),
    (lambda r: r["facilities"].append(dict(r["facilities"][0])), "facilities[1].id"),
    (lambda r: r["units"][1].update(idle_power_w=900), "units[1].idle_power_w"),
])
def test_bad_input_names_the_field(change, field) -> None:
    import copy

    from pydantic import ValidationError

    from hcp.core.errors import validation_details

    req = copy.deepcopy(EXAMPLE)
    change(req)
    try:
        optimize(OptimizeRequest(**req))
    except ValidationError as exc:
        assert validation_details(exc.errors())[0]["field"] == field
    except InvalidInput as exc:
        assert exc.details[0]["field"] == field
    else:
        raise AssertionError("accepted bad input")


def test_idle_gpus_over_the_cap_is_infeasible() -> None:
    req = dict(EXAMPLE)
    req["facilities"] = [{"id": "tx-north", "power_cap_kw": 0.1, "electricity_usd_per_mwh": 45}]
    with pytest.raises(InvalidInput) as info:
        optimize(OptimizeRequest(**req))
    assert info.value.details[0]["field"] == "facilities[0].power_cap_kw"
