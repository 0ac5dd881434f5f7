"""The optimizer's problem as one big MILP, one binary per unit decision, solved by HiGHS.

A yardstick for tests and benchmarks only: it shares no reduction with `optimizer.py`, so
agreement between the two says the reduction is exact. It grows with units x workloads and
is hopeless beyond a few thousand units, which is why the product does not use it.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from hcp.economics.optimizer import ANY_MODEL, Problem


def reference_binaries(p: Problem) -> int:
    """How many binaries the unreduced MILP of `p` has (to skip the hopeless ones)."""
    gpus_by_model = np.bincount(p.model[p.is_gpu], minlength=len(p.models)) if len(p.models) else np.zeros(0)
    model_index = {name: i for i, name in enumerate(p.models)}
    per_workload = [
        int(gpus_by_model.sum()) if w == ANY_MODEL else int(gpus_by_model[model_index[w]]) if w in model_index else 0
        for w in p.workload_model
    ]
    asic_points = sum(len(p.curves.get(int(i), [0])) for i in np.flatnonzero(~p.is_gpu))
    return int(sum(per_workload) + asic_points + p.is_gpu.sum())


def reference_optimum(p: Problem, *, time_limit_s: float = 60.0) -> tuple[float | None, float, bool]:
    """(objective USD/h or None, seconds, proven optimal) of the unreduced MILP."""
    started = time.perf_counter()
    cost: list[float] = []
    upper: list[float] = []
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lb: list[float] = []
    ub: list[float] = []

    def var(gain: float) -> int:
        cost.append(gain)
        upper.append(1.0)
        return len(cost) - 1

    def row(terms: list[tuple[int, float]], lo: float, hi: float) -> None:
        r = len(lb)
        for c, v in terms:
            rows.append(r)
            cols.append(c)
            vals.append(v)
        lb.append(lo)
        ub.append(hi)

    n_fac = len(p.facility_ids)
    power: list[list[tuple[int, float]]] = [[] for _ in range(n_fac)]
    constant = 0.0
    for i in np.flatnonzero(~p.is_gpu):
        f, e = int(p.facility[i]), p.usd_per_wh[p.facility[i]]
        points = p.curves.get(int(i), np.array([[p.power_w[i], p.hashrate_ths[i]]]))
        choice = []
        for pw, hs in points:
            c = var(hs * p.hashprice / 24.0 - pw * e)
            power[f].append((c, pw))
            choice.append((c, 1.0))
        row(choice, 0.0, 1.0)
    gpu_rows = np.flatnonzero(p.is_gpu)
    idle_floor = np.zeros(n_fac)
    per_gpu: dict[int, list[tuple[int, float]]] = defaultdict(list)
    by_group: dict[tuple[int, int], list[int]] = defaultdict(list)
    for g in gpu_rows:
        f, e = int(p.facility[g]), p.usd_per_wh[p.facility[g]]
        idle_floor[f] += p.idle_power_w[g]
        constant -= p.idle_power_w[g] * e
        by_group[(f, int(p.model[g]))].append(int(g))
        spot = p.spot_usd_per_hour.get(p.models[int(p.model[g])])
        if spot is not None:
            extra = p.power_w[g] - p.idle_power_w[g]
            c = var(spot - extra * e)
            per_gpu[int(g)].append((c, 1.0))
            power[f].append((c, extra))
    model_index = {name: i for i, name in enumerate(p.models)}
    for j in range(len(p.workload_ids)):
        want = p.workload_model[j]
        models = list(range(len(p.models))) if want == ANY_MODEL else (
            [model_index[want]] if want in model_index else [])
        count, price = int(p.workload_count[j]), float(p.workload_price[j])
        placements = []
        for (f, mdl), gpus in by_group.items():
            if mdl not in models or len(gpus) < count:
                continue
            e = p.usd_per_wh[f]
            z = var(0.0)
            placements.append((z, 1.0))
            gang = [(z, -float(count))]
            for gi in gpus:
                extra = p.power_w[gi] - p.idle_power_w[gi]
                b = var(price - extra * e)
                per_gpu[gi].append((b, 1.0))
                power[f].append((b, extra))
                gang.append((b, 1.0))
            row(gang, 0.0, 0.0)
        if placements:
            row(placements, 0.0, 1.0)
    for terms in per_gpu.values():
        if len(terms) > 1:
            row(terms, 0.0, 1.0)
    for f in range(n_fac):
        if idle_floor[f] > p.cap_w[f] + 1e-6:
            return None, time.perf_counter() - started, True
        if power[f]:
            row(power[f], -np.inf, p.cap_w[f] - idle_floor[f])
    if not cost:
        return constant, time.perf_counter() - started, True
    n = len(cost)
    a = sparse.csr_array((vals, (rows, cols)), shape=(len(lb), n))
    best: float | None = None
    proven = False
    # HiGHS (as bundled with SciPy) was seen to call a suboptimal solution "optimal" on these
    # gang-equality models, differently with and without presolve: the yardstick takes the
    # better of both runs, each a feasible plan.
    for presolve in (True, False):
        remaining = time_limit_s - (time.perf_counter() - started)
        if remaining <= 0:
            break
        result = milp(-np.asarray(cost), integrality=np.ones(n), bounds=Bounds(np.zeros(n), np.asarray(upper)),
                      constraints=[LinearConstraint(a, np.asarray(lb), np.asarray(ub))],
                      options={"time_limit": remaining, "mip_rel_gap": 1e-6, "presolve": presolve})
        if result.x is not None:
            value = float(-result.fun + constant)
            if best is None or value > best:
                best = value
            proven = proven or result.status == 0
    return best, time.perf_counter() - started, proven


def random_request(
    rng: np.random.Generator, *, asics: int, gpus: int, workloads: int, facilities: int = 3,
    cap_fraction: tuple[float, float] = (0.2, 1.2), curves: bool = True,
) -> dict[str, object]:
    """A random but plausible optimize request: a few unit types, caps that often bind."""
    specs = [(200.0, 3500.0), (95.0, 3250.0), (335.0, 5360.0)]  # S21, S19, S21 XP-ish
    fac_ids = [f"f{i}" for i in range(facilities)]
    units: list[dict[str, object]] = []
    full_w = np.zeros(facilities)
    for i in range(asics):
        f = int(rng.integers(facilities))
        hs, pw = specs[int(rng.integers(len(specs)))]
        unit: dict[str, object] = {"id": f"a{i}", "kind": "asic", "facility_id": fac_ids[f],
                                   "hashrate_ths": hs, "power_w": pw}
        if curves and rng.random() < 0.3:
            unit["curve"] = [[pw * k, hs * k ** 0.66] for k in (0.6, 0.8)]
        units.append(unit)
        full_w[f] += pw
    for i in range(gpus):
        f = int(rng.integers(facilities))
        model, pw, idle = ("H100", 700.0, 80.0) if rng.random() < 0.6 else ("A100", 400.0, 50.0)
        units.append({"id": f"g{i}", "kind": "gpu", "facility_id": fac_ids[f], "model": model,
                      "power_w": pw, "idle_power_w": idle})
        full_w[f] += pw
    wls = []
    for j in range(workloads):
        model = ["H100", "A100", "any"][int(rng.integers(3))]
        wls.append({"id": f"w{j}", "gpu_model": model, "gpu_count": int(rng.integers(1, 9)),
                    "price_usd_per_gpu_hour": round(float(rng.uniform(0.2, 4.0)), 2)})
    spot: dict[str, float] = {}
    if rng.random() < 0.7:
        spot = {"H100": round(float(rng.uniform(1.5, 3.0)), 2), "A100": round(float(rng.uniform(0.8, 2.0)), 2)}
    return {
        "btc_usd": float(rng.uniform(55_000, 75_000)),
        "network_difficulty": float(rng.uniform(7e13, 1.5e14)),
        "fees_btc_per_block": float(rng.uniform(0.0, 0.1)),
        "facilities": [
            {"id": fid, "power_cap_kw": round(max(full_w[f], 1000.0) * float(rng.uniform(*cap_fraction)) / 1000, 3),
             "electricity_usd_per_mwh": round(float(rng.uniform(-10, 160)), 2)}
            for f, fid in enumerate(fac_ids)
        ],
        "units": units,
        "workloads": wls,
        "gpu_spot_usd_per_hour": spot,
    }
