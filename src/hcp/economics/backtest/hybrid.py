"""hybrid's per-step optimum without a solver: per facility a knapsack on power, solved for every
step at once by a greedy with repairs, proved within `TOLERANCE` by an upper bound or a
vectorised branch and bound; a step it cannot prove goes to the exact optimizer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from hcp.economics.backtest.decision import Decision, _fixed_gangs, _Market
from hcp.economics.backtest.defaults import TOLERANCE, BoolArray, FloatArray, IntArray
from hcp.economics.backtest.fleet import FleetModel
from hcp.economics.backtest.history import PriceHistory


def _decide_hybrid(model: FleetModel, market: _Market, *,
                   tolerance: float = TOLERANCE) -> tuple[Decision, BoolArray]:
    """The fast path, and the steps it cannot prove within `tolerance` of the optimum: for every
    objective the optimum could have (between ours and ours + the bound's gap), ours must be
    within that fraction of it. Those steps go to the exact optimizer."""
    decision, objective, gap = _hybrid_fast(model, market, tolerance=tolerance)
    return decision, gap > tolerance * _smallest(objective, gap) + 1e-9


def _hybrid_fast(model: FleetModel, market: _Market, *, variants: int = 4,
                 tolerance: float = TOLERANCE) -> tuple[Decision, FloatArray, FloatArray]:
    """The optimizer's problem for every step at once, facility by facility (they share nothing
    once each contracted workload is pinned to a pool), as a knapsack on power.

    The contracted workloads are commitments, placed first (`_fixed_gangs`): the same at every
    step, so they leave each facility a fixed power budget and each pool fixed free GPUs, and
    the knapsack is over what is left. Its optimum plus the contracts' fixed value is the
    optimum of the committed problem, so the bounds below prove that problem.

    Items: each increment along an ASIC class's hull (curtailed -> first point -> second ...;
    value per watt falls along it, so a unit takes increment k+1 only after k) and spot on a pool
    (per GPU). Greedy on value per watt,
    each item taken as many times as power, GPUs and the previous increment allow: the LP
    relaxation rounded down at the one partly filled ("critical") item, with the power left
    over offered to every later item. Rounding down can strand up to one unit's worth of power,
    so `variants` repairs are tried too: one more unit of the critical item (or of one of the
    next few), power freed by shedding the least valuable units per watt, then refilled; each
    step keeps the best.

    Each facility's plan comes with an upper bound on its optimum (see `_fill_up`). Where the
    bounds leave more than `tolerance` of the objective unproven, a branch and bound over the
    same items (LP relaxations solved by the same greedy, vectorised over steps and nodes)
    closes the gap or finds a better plan, within a node budget.

    Returns the decision, its objective (USD/h, as the optimizer's) and how far below the
    optimum it may be at most (the facilities' gaps, summed).
    """
    steps = len(market.usd_per_th_hour)
    placed, left, free = _fixed_gangs(model)
    plans = [_greedy(model, market, f, _Items.of(model, f), variants, float(left[f]), free)
             for f in range(len(model.facility_ids))]
    plans = [p for p in plans if p.items.m]
    fixed_usd = _gangs_usd_per_hour(model, market, placed) - market.usd_per_wh @ model.idle_floor_w

    def totals() -> tuple[FloatArray, FloatArray]:
        value = sum((p.value for p in plans), np.zeros(steps))
        gap = sum((np.maximum(p.bound - p.value, 0.0) for p in plans), np.zeros(steps))
        return value + fixed_usd, gap

    objective, gap = totals()
    # Where the greedy cannot prove itself, branch and bound on each facility whose gap is over
    # its share of the tolerance.
    allowed = tolerance * _smallest(objective, gap)
    for p in plans:
        share = allowed / len(plans)
        rows = np.flatnonzero((gap > allowed + 1e-9) & (p.bound - p.value > share + 1e-9))
        for lo in range(0, len(rows), BNB_ROWS):
            _branch_and_bound(p, rows[lo:lo + BNB_ROWS], share[rows[lo:lo + BNB_ROWS]])
    objective, gap = totals()
    decision = Decision.empty(model, steps)
    for p in plans:
        p.write(model, decision)
    decision.placed[:] = placed
    return decision, objective, gap


def _gangs_usd_per_hour(model: FleetModel, market: _Market, placed: BoolArray) -> FloatArray:
    """What the placed contracts earn per step, less the power they draw above idle (USD/h)."""
    value = np.zeros(len(market.usd_per_th_hour))
    for j in np.flatnonzero(placed).tolist():
        g = model.gangs[j]
        q = model.pools[g.pool]
        value += g.gpu_count * (g.price_usd_per_gpu_hour - q.extra_w * market.usd_per_wh[:, q.facility])
    return value


def fast_path(model: FleetModel, prices: PriceHistory) -> tuple[Decision, FloatArray, FloatArray]:
    """hybrid's fast path alone over the whole history: the decision, its objective per step
    (USD/h, as `optimize` reports it) and the most the optimum can exceed it by."""
    return _hybrid_fast(model, _Market.of(model, prices))


def _smallest(objective: FloatArray, gap: FloatArray) -> FloatArray:
    """The smallest magnitude the optimum can have, knowing it lies in [objective, objective + gap]."""
    lo, hi = objective, objective + gap
    result: FloatArray = np.where((lo < 0) & (hi > 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    return result


@dataclass
class _Items:
    """A facility's knapsack items, one column each (the contracts are not items: they are fixed)."""

    kind: IntArray  # 0 ASIC hull increment, 1 spot on a pool
    owner: IntArray  # class or pool index
    dp: FloatArray  # watts one unit of the item adds
    dh: FloatArray  # TH/s one unit adds (ASIC increments)
    size: IntArray  # most units of the item
    pred: IntArray  # the increment before this one on its hull (-1: none)
    succ: IntArray  # the increment after it (-1: none)
    gpus: IntArray  # GPUs one unit takes (0 for ASICs)
    pool: IntArray  # local pool column (ASICs: a spare column no GPU item uses)
    pools: list[int]  # the facility's pools, by local column

    @property
    def m(self) -> int:
        return len(self.dp)

    @classmethod
    def of(cls, model: FleetModel, f: int) -> _Items:
        rows: list[tuple[int, int, float, float, int, int, int, int]] = []
        pools = [qi for qi, q in enumerate(model.pools) if q.facility == f]
        local = {qi: k for k, qi in enumerate(pools)}
        for ci, c in enumerate(model.classes):
            if c.facility != f:
                continue
            prev_p = prev_h = 0.0
            for s, (p, h) in enumerate(c.hull.tolist()):
                rows.append((0, ci, p - prev_p, h - prev_h, c.n, len(rows) - 1 if s else -1, 0, len(pools)))
                prev_p, prev_h = p, h
        for qi in pools:
            q = model.pools[qi]
            rows.append((1, qi, q.extra_w, 0.0, q.n, -1, 1, local[qi]))
        cols = list(zip(*rows, strict=True)) if rows else [()] * 8
        pred = np.array(cols[5], dtype=np.int64)
        succ = np.full(len(pred), -1, dtype=np.int64)
        succ[pred[pred >= 0]] = np.flatnonzero(pred >= 0)
        return cls(kind=np.array(cols[0], dtype=np.int64), owner=np.array(cols[1], dtype=np.int64),
                   dp=np.array(cols[2], dtype=np.float64), dh=np.array(cols[3], dtype=np.float64),
                   size=np.array(cols[4], dtype=np.int64), pred=pred, succ=succ,
                   gpus=np.array(cols[6], dtype=np.int64), pool=np.array(cols[7], dtype=np.int64), pools=pools)


@dataclass
class _Fill:
    """One candidate solution per step: units taken per item, power and GPUs left."""

    taken: IntArray  # [T, m]
    left: FloatArray  # [T] watts
    free: IntArray  # [T, pools + 1]

    def copy(self) -> _Fill:
        return _Fill(self.taken.copy(), self.left.copy(), self.free.copy())


def _room(items: _Items, fill: _Fill, rows: IntArray, it: IntArray) -> IntArray:
    """How many more units of item `it` (per step) the hull order and the GPUs allow."""
    pred = items.pred[it]
    before = np.where(pred >= 0, fill.taken[rows, np.maximum(pred, 0)], items.size[it])
    per = items.gpus[it]
    gpu_room = fill.free[rows, items.pool[it]] // np.maximum(per, 1)
    cur = fill.taken[rows, it]
    room: IntArray = np.where(per > 0, np.minimum(gpu_room, items.size[it] - cur), before - cur)
    return room


def _add(items: _Items, fill: _Fill, rows: IntArray, it: IntArray, k: IntArray) -> None:
    if not k.any():
        return
    fill.taken[rows, it] += k
    fill.left -= k * items.dp[it]
    fill.free[rows, items.pool[it]] -= k * items.gpus[it]


def _fill_up(items: _Items, fill: _Fill, order: IntArray, gain: FloatArray,
             ratio: FloatArray | None = None) -> tuple[IntArray, FloatArray]:
    """Greedy pass in `order`: each item takes what fits. Returns, per step, the position of the
    first item that power cut short (m where none was) and, given `ratio`, an upper bound on the
    best integer value (NaN without `ratio`).

    The bound branches on the critical item, as Martello and Toth's does. An optimum takes either
    at most its rounded-down count, and then earns at most the LP relaxation of the items after
    it on the power left (computed exactly, with the GPU pools relaxed), or at least one more,
    and then must give up power worth at least the previous item's value per watt. Hull
    increments keep their order, so the chains do not weaken either branch.
    """
    steps, m = order.shape
    rows = np.arange(steps)
    critical = np.full(steps, m, dtype=np.int64)
    before = np.zeros(steps)  # value of the items ahead of the critical one
    at_floor = np.zeros(steps)  # ... and of the critical one rounded down
    left_at_floor = np.zeros(steps)
    at_least = np.full(steps, -np.inf)
    for pos in range(m):
        it = order[:, pos]
        dp = items.dp[it]
        g = gain[rows, it]
        room = _room(items, fill, rows, it)
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = np.where(dp > 0, np.floor((fill.left + 1e-7) / np.where(dp > 0, dp, 1.0)), np.inf)
        wanted = g > 0
        k = np.where(wanted, np.clip(np.minimum(room, fit), 0, None), 0).astype(np.int64)
        # A model without a spot market has gain -inf and never a unit taken: no 0 x -inf.
        earned = np.where(k > 0, k * np.where(wanted, g, 0.0), 0.0)
        cut = (critical == m) & wanted & (fit < room)
        if ratio is not None and cut.any():
            at_floor = np.where(cut, before + earned, at_floor)
            left_at_floor = np.where(cut, fill.left - k * dp, left_at_floor)
            prev_ratio = ratio[rows, order[:, pos - 1]] if pos else np.full(steps, np.inf)
            with np.errstate(invalid="ignore"):
                ceiling = before + earned + g - ((k + 1) * dp - fill.left) * prev_ratio
            at_least = np.where(cut, ceiling, at_least)
        before += np.where((critical == m) & ~cut, earned, 0.0)
        critical = np.where(cut, pos, critical)
        _add(items, fill, rows, it, k)
    if ratio is None:
        return critical, np.full(steps, np.nan)
    at_most = _lp_after(items, fill, order, gain, critical, at_floor, left_at_floor)
    return critical, np.where(critical == m, before, np.fmax(at_most, at_least))


def _lp_after(items: _Items, fill: _Fill, order: IntArray, gain: FloatArray, critical: IntArray,
              value: FloatArray, left: FloatArray) -> FloatArray:
    """The LP relaxation's value when the items up to the critical one are as `fill` holds them
    and the later ones share the power left fractionally (GPU pools relaxed: a valid bound)."""
    steps, m = order.shape
    rows = np.arange(steps)
    position = np.empty_like(order)
    position[rows[:, None], order] = np.arange(m)
    taken = np.where(position > critical[:, None], 0, fill.taken).astype(np.float64)
    value, left = value.copy(), left.copy()
    for pos in range(int(critical.min()) + 1 if steps else m, m):
        it = order[:, pos]
        g = gain[rows, it]
        dp = items.dp[it]
        pred = items.pred[it]
        room = np.where(pred >= 0, taken[rows, np.maximum(pred, 0)], items.size[it]) - taken[rows, it]
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = np.where(dp > 0, np.maximum(left, 0.0) / np.where(dp > 0, dp, 1.0), np.inf)
        amount = np.where((pos > critical) & (g > 0), np.clip(np.minimum(room, fit), 0.0, None), 0.0)
        taken[rows, it] += amount
        left -= amount * dp
        value += np.where(amount > 0, amount * np.where(g > 0, g, 0.0), 0.0)
    return value


def _shed(items: _Items, fill: _Fill, order: IntArray, keep: IntArray) -> None:
    """Remove units, least valuable per watt first (never item `keep`), until the power fits."""
    steps, m = order.shape
    rows = np.arange(steps)
    for pos in range(m - 1, -1, -1):
        over = -fill.left
        if not (over > 1e-7).any():
            return
        it = order[:, pos]
        succ = items.succ[it]
        above = np.where(succ >= 0, fill.taken[rows, np.maximum(succ, 0)], 0)
        removable = np.where(items.gpus[it] > 0, fill.taken[rows, it], fill.taken[rows, it] - above)
        removable = np.where(it == keep, 0, removable)
        dp = items.dp[it]
        with np.errstate(divide="ignore", invalid="ignore"):
            need = np.where(dp > 0, np.ceil((over - 1e-7) / np.where(dp > 0, dp, 1.0)), 0)
        k = np.where(over > 1e-7, np.clip(np.minimum(need, removable), 0, None), 0).astype(np.int64)
        _add(items, fill, rows, it, -k)


def _value(fill: _Fill, gain: FloatArray) -> FloatArray:
    result: FloatArray = np.where(fill.taken > 0, fill.taken * np.where(np.isfinite(gain), gain, 0.0), 0.0).sum(1)
    return result


BNB_ROWS: Final = 1_024  # steps branched at once (bounds the memory of the node tables)
BNB_MAX_NODES: Final = 512  # LP nodes per step before a step is left to the exact optimizer
BNB_MAX_DEPTH: Final = 40


@dataclass
class _Plan:
    """One facility's knapsack over the steps: its items and their gains, the best plan found
    (units per item) with its value, and an upper bound on the optimum's value."""

    items: _Items
    gain: FloatArray  # [T, m] USD/h per unit of each item
    order: IntArray  # [T, m] items by value per watt, best first
    budget: float  # watts above the idle floor
    pool_n: IntArray  # GPUs per local pool (and a spare column of 0)
    taken: IntArray  # [T, m]
    value: FloatArray
    bound: FloatArray

    def write(self, model: FleetModel, out: Decision) -> None:
        items, taken = self.items, self.taken
        for k in range(items.m):
            o = int(items.owner[k])
            if items.kind[k] == 0:
                if items.pred[k] < 0:
                    out.mining_units[:, o] = taken[:, k]
                out.mining_w[:, o] += taken[:, k] * items.dp[k]
                out.mining_ths[:, o] += taken[:, k] * items.dh[k]
            else:
                out.spot_gpus[:, o] = taken[:, k]


def _lp(plan: _Plan, rows: IntArray, lo: IntArray, hi: IntArray) -> tuple[FloatArray, FloatArray, IntArray]:
    """LP relaxations of the nodes (one per row of lo/hi, for steps `rows`): the greedy on value
    per watt from the lower bounds up, fractional at the end. Returns the values (-inf where
    infeasible), the solutions and the first fractional item in value order (-1: integral)."""
    items = plan.items
    n, m = lo.shape
    r = np.arange(n)
    order, gain = plan.order[rows], plan.gain[rows]
    x = lo.astype(np.float64)
    used = np.zeros((n, len(plan.pool_n)))
    for k in np.flatnonzero(items.gpus > 0):
        used[:, items.pool[k]] += lo[:, k] * items.gpus[k]
    free = plan.pool_n - used
    left = plan.budget - lo @ items.dp
    feasible = (left >= -1e-7) & (free >= -1e-9).all(axis=1) & (lo <= hi).all(axis=1)
    for pos in range(m):
        it = order[:, pos]
        g = gain[r, it]
        dp, per, pred = items.dp[it], items.gpus[it], items.pred[it]
        room = np.minimum(hi[r, it] - x[r, it],
                          np.where(pred >= 0, x[r, np.maximum(pred, 0)] - x[r, it], np.inf))
        room = np.minimum(room, np.where(per > 0, free[r, items.pool[it]] / np.maximum(per, 1), np.inf))
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.minimum(room, np.where(dp > 0, np.maximum(left, 0.0) / np.where(dp > 0, dp, 1.0), np.inf))
        a = np.where(g > 0, np.clip(room, 0.0, None), 0.0)
        x[r, it] += a
        left -= a * dp
        free[r, items.pool[it]] -= a * per
    value = np.where(feasible, (x * np.where(np.isfinite(gain), gain, 0.0)).sum(axis=1), -np.inf)
    in_order = x[r[:, None], order]
    fractional = np.abs(in_order - np.round(in_order)) > 1e-9
    first = np.argmax(fractional, axis=1)
    return value, x, np.where(fractional.any(axis=1), order[r, first], -1)


def _branch_and_bound(plan: _Plan, rows: IntArray, target: FloatArray) -> None:
    """Prove each step's plan within `target` of the facility's optimum, or find a better one.

    Nodes bound item counts ([lo, hi]); a node closes when its LP relaxation is integral (a
    plan: the incumbent if better), infeasible, or within `target` of the incumbent. A step
    whose nodes run past the budget keeps its old bound (the exact optimizer takes it).
    """
    if not len(rows):
        return
    items = plan.items
    m = items.m
    chained = np.flatnonzero(items.pred >= 0)
    incumbent = plan.value[rows].copy()
    best = plan.taken[rows].copy()
    proven = incumbent.copy()  # the largest bound of any closed node
    n_rows = len(rows)
    failed = np.zeros(n_rows, dtype=bool)
    spent = np.zeros(n_rows, dtype=np.int64)
    node = np.arange(n_rows)
    lo = np.zeros((n_rows, m), dtype=np.int64)
    hi = np.tile(items.size, (n_rows, 1))
    for depth in range(BNB_MAX_DEPTH + 1):
        if not len(node):
            break
        value, x, frac = _lp(plan, rows[node], lo, hi)
        integral = np.isfinite(value) & (frac < 0)
        leaves = np.flatnonzero(integral)
        if len(leaves):
            ranked = leaves[np.argsort(value[leaves], kind="stable")]  # the best of a step written last
            gains = ranked[value[ranked] > incumbent[node[ranked]] + 1e-12]
            incumbent[node[gains]] = value[gains]
            best[node[gains]] = np.round(x[gains]).astype(np.int64)
            np.maximum.at(proven, node[leaves], value[leaves])
        live = np.isfinite(value) & ~integral
        open_ = live & (value > incumbent[node] + target[node] + 1e-12)
        closed = np.flatnonzero(live & ~open_)
        np.maximum.at(proven, node[closed], value[closed])
        spent += np.bincount(node, minlength=n_rows)
        failed |= np.bincount(node[open_], minlength=n_rows).astype(bool) & (
            (spent > BNB_MAX_NODES) | (depth == BNB_MAX_DEPTH))
        branch = np.flatnonzero(open_ & ~failed[node])
        if not len(branch):
            break
        k = frac[branch]
        r = np.arange(len(branch))
        cut = np.floor(x[branch, k]).astype(np.int64)
        lo_down, hi_down = lo[branch], hi[branch].copy()
        hi_down[r, k] = cut
        for c in chained:  # a step of a hull needs the one before it: caps flow up the chain
            hi_down[:, c] = np.minimum(hi_down[:, c], hi_down[:, items.pred[c]])
        lo_up, hi_up = lo[branch].copy(), hi[branch]
        lo_up[r, k] = cut + 1
        for c in chained[::-1]:  # ... and floors flow down it
            lo_up[:, items.pred[c]] = np.maximum(lo_up[:, items.pred[c]], lo_up[:, c])
        node = np.concatenate([node[branch], node[branch]])
        lo, hi = np.vstack([lo_down, lo_up]), np.vstack([hi_down, hi_up])
    plan.taken[rows] = best
    plan.value[rows] = incumbent
    plan.bound[rows] = np.where(failed, np.maximum(plan.bound[rows], incumbent), np.maximum(proven, incumbent))


def _greedy(model: FleetModel, market: _Market, f: int, items: _Items, variants: int, budget: float,
            pool_free: IntArray) -> _Plan:
    """Facility f's plan by the greedy and its repairs, with an upper bound on its optimum, on
    `budget` watts above the idle floor and `pool_free` GPUs per pool (what the contracts leave)."""
    steps, m = len(market.usd_per_th_hour), items.m
    e = market.usd_per_wh[:, f]
    gain = np.empty((steps, m))
    for k in range(m):
        o = int(items.owner[k])
        if items.kind[k] == 0:
            gain[:, k] = items.dh[k] * market.usd_per_th_hour - items.dp[k] * e
        else:
            spot = market.spot_usd_per_hour[:, o]
            gain[:, k] = np.where(np.isnan(spot), -np.inf, spot - items.dp[k] * e)
    dp = items.dp
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(dp > 0, gain / np.where(dp > 0, dp, 1.0), np.where(gain > 0, np.inf, -np.inf))
    order = np.argsort(-ratio, axis=1, kind="stable")

    pool_n = np.array([int(pool_free[qi]) for qi in items.pools] + [0], dtype=np.int64)
    best = _Fill(np.zeros((steps, m), dtype=np.int64), np.full(steps, budget), np.tile(pool_n, (steps, 1)))
    critical, bound = _fill_up(items, best, order, gain, ratio)
    best_value = _value(best, gain)
    # Repairs, only where power cut an item short (elsewhere the greedy is optimal).
    sub = np.flatnonzero(critical < m)
    if len(sub) and variants:
        sub_rows, order_s, gain_s = np.arange(len(sub)), order[sub], gain[sub]
        base = _Fill(best.taken[sub], best.left[sub], best.free[sub])
        kept, kept_value = base.copy(), best_value[sub]
        for j in range(variants):
            pos = critical[sub] + j
            tried = pos < m
            if not tried.any():
                break
            it = order_s[sub_rows, np.minimum(pos, m - 1)]
            tried &= (gain_s[sub_rows, it] > 0) & (_room(items, base, sub_rows, it) > 0)
            if not tried.any():
                continue
            trial = base.copy()
            _add(items, trial, sub_rows, it, tried.astype(np.int64))
            _shed(items, trial, order_s, np.where(tried, it, -1))
            _fill_up(items, trial, order_s, gain_s)
            trial_value = _value(trial, gain_s)
            better = tried & (trial.left >= -1e-7) & (trial_value > kept_value + 1e-9)
            kept.taken[better], kept.left[better], kept.free[better] = \
                trial.taken[better], trial.left[better], trial.free[better]
            kept_value = np.where(better, trial_value, kept_value)
        best.taken[sub], best.left[sub], best.free[sub] = kept.taken, kept.left, kept.free
        best_value[sub] = kept_value

    return _Plan(items=items, gain=gain, order=order, budget=budget, pool_n=pool_n, taken=best.taken,
                 value=best_value, bound=np.fmax(bound, best_value))
