"""The other strategies (mine-always, ai-first, price-threshold: one mix at every step, the last
curtailing above a strike price) and the exact optimizer run step by step (`exact=True`, and
the steps hybrid's fast path cannot prove)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from hcp.economics.backtest.decision import Decision, _fixed_gangs, _Market
from hcp.economics.backtest.defaults import BoolArray, FloatArray, IntArray
from hcp.economics.backtest.fleet import FleetModel
from hcp.economics.backtest.history import PriceHistory
from hcp.economics.optimizer import optimize
from hcp.economics.schemas import FacilityIn, OptimizeRequest, UnitIn, WorkloadIn


def _stock_fill(model: FleetModel, left: FloatArray) -> IntArray:
    """ASICs at stock power, most efficient (TH per watt) first, as many as the power left allows."""
    running = np.zeros(len(model.classes), dtype=np.int64)
    order = sorted(range(len(model.classes)),
                   key=lambda c: -model.classes[c].stock[1] / model.classes[c].stock[0])
    for c in order:
        cls = model.classes[c]
        p = cls.stock[0]
        k = min(cls.n, math.floor((left[cls.facility] + 1e-7) / p))
        running[c] = k
        left[cls.facility] -= k * p
    return running


def _decide_fixed(model: FleetModel, market: _Market, *, spot: bool) -> Decision:
    """mine-always (spot=False) and ai-first (spot=True): the same mix at every step."""
    steps = len(market.usd_per_th_hour)
    placed, left, free = _fixed_gangs(model)
    spot_gpus = np.zeros(len(model.pools), dtype=np.int64)
    if spot:
        for qi in sorted(range(len(model.pools)), key=lambda qi: -model.pools[qi].power_w):
            q = model.pools[qi]
            if np.isnan(market.spot_usd_per_hour[:, qi]).all():
                continue  # no spot market for this model: the GPU idles
            fit = int(free[qi])
            if q.extra_w > 0:
                fit = min(fit, math.floor((left[q.facility] + 1e-7) / q.extra_w))
            spot_gpus[qi] = fit
            left[q.facility] -= fit * q.extra_w
    running = _stock_fill(model, left)
    d = Decision.empty(model, steps)
    stock = np.array([c.stock for c in model.classes]).reshape(-1, 2)
    d.mining_units[:] = running
    d.mining_w[:] = running * stock[:, 0]
    d.mining_ths[:] = running * stock[:, 1]
    has_spot = ~np.isnan(market.spot_usd_per_hour)
    d.spot_gpus[:] = np.where(has_spot, spot_gpus, 0)
    d.placed[:] = placed
    return d


def _decide_threshold(model: FleetModel, market: _Market, threshold_usd_per_mwh: float) -> Decision:
    """mine-always, except that a facility's ASICs all curtail while its power costs more than
    the strike price."""
    d = _decide_fixed(model, market, spot=False)
    facility = np.array([c.facility for c in model.classes], dtype=np.int64)
    on = market.usd_per_wh[:, facility] * 1e6 <= threshold_usd_per_mwh
    d.mining_units = np.where(on, d.mining_units, 0)
    d.mining_w = np.where(on, d.mining_w, 0.0)
    d.mining_ths = np.where(on, d.mining_ths, 0.0)
    return d


def exact_request(model: FleetModel, prices: PriceHistory, k: int) -> OptimizeRequest:
    """Step k as a `POST /economics/optimize` request.

    Contracted workloads are pinned to their pool by naming each pool's model apart
    (`H100#0`, `H100#3`) and sent as committed work: the optimizer then solves exactly the
    problem the fast path solves. Only the contracts `_fixed_gangs` places go: the others cannot
    run (their facility's power cannot hold them beside the dearer ones), and offering them
    would let the optimizer trade a placed contract for a larger one, which no strategy does.
    """
    pool_model = [f"{q.model}#{qi}" for qi, q in enumerate(model.pools)]
    units = [u if u.kind == "asic" else u.model_copy(update={"model": pool_model[model.unit_pool[u.id]]})
             for u in model.units]
    return _exact_request(model, prices, k, units, pool_model, _fixed_gangs(model)[0])


def _exact_request(model: FleetModel, prices: PriceHistory, k: int, units: list[UnitIn],
                   pool_model: list[str], placed: BoolArray) -> OptimizeRequest:
    spot = {pool_model[qi]: float(prices.gpu_spot_usd_per_hour[q.model][k])
            for qi, q in enumerate(model.pools) if q.model in prices.gpu_spot_usd_per_hour}
    return OptimizeRequest.model_construct(
        btc_usd=float(prices.btc_usd[k]), network_difficulty=float(prices.network_difficulty[k]),
        fees_btc_per_block=float(prices.fees_btc_per_block[k]),
        facilities=[FacilityIn.model_construct(id=fid, power_cap_kw=float(model.cap_w[f]) / 1000,
                                               electricity_usd_per_mwh=float(prices.electricity_usd_per_mwh[
                                                   model.market_nodes[f]][k]))
                    for f, fid in enumerate(model.facility_ids)],
        units=units,
        workloads=[WorkloadIn.model_construct(id=g.workload_id, gpu_model=pool_model[g.pool], gpu_count=g.gpu_count,
                                              price_usd_per_gpu_hour=g.price_usd_per_gpu_hour, committed=True)
                   for j, g in enumerate(model.gangs) if placed[j]],
        gpu_spot_usd_per_hour=spot,
    )


def _decide_exact(model: FleetModel, prices: PriceHistory, rows: Sequence[int],
                  tick: Callable[[int], None] | None = None) -> Decision:
    """`hcp.economics.optimizer.optimize` on every step (slow: for small fleets and short periods)."""
    pool_model = [f"{q.model}#{qi}" for qi, q in enumerate(model.pools)]
    units = [u if u.kind == "asic" else u.model_copy(update={"model": pool_model[model.unit_pool[u.id]]})
             for u in model.units]
    gang_index = {g.workload_id: j for j, g in enumerate(model.gangs)}
    placed = _fixed_gangs(model)[0]
    d = Decision.empty(model, len(rows))
    for t, k in enumerate(rows):
        plan = optimize(_exact_request(model, prices, k, units, pool_model, placed))
        for a in plan.assignments:
            if a.mode == "mining":
                c = model.unit_class[a.unit_id]
                d.mining_units[t, c] += 1
                d.mining_w[t, c] += a.power_w
                d.mining_ths[t, c] += a.hashrate_ths or 0.0
            elif a.mode == "spot":
                d.spot_gpus[t, model.unit_pool[a.unit_id]] += 1
            elif a.mode == "workload" and a.workload_id is not None:
                d.placed[t, gang_index[a.workload_id]] = True
        if tick is not None:
            tick(t + 1)
    return d
