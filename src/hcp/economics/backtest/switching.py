"""hybrid's switching pass: after the per-step optimum, keep a count where following it would gain
less over the next `min_dwell_s` than the switches it adds, so hybrid does not flap for a blip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hcp.economics.backtest.decision import Decision, _Market
from hcp.economics.backtest.defaults import CAP_TOLERANCE_W, FloatArray, IntArray
from hcp.economics.backtest.fleet import FleetModel
from hcp.economics.backtest.history import PriceHistory
from hcp.economics.backtest.outcome import _busy_gpus, _entering, _facility_power


@dataclass
class _Column:
    """One ASIC class or one pool's spot GPUs of a facility, as the switching pass reads them:
    the per-step optimum and prefix sums (USD) over it."""

    target: tuple[str, int]  # ("asic", class) or ("spot", pool)
    n: IntArray  # units on, as the per-step optimum has them
    a: FloatArray  # what earns: TH/s (ASICs) or GPUs (spot)
    w: FloatArray  # watts above the idle floor
    earn: FloatArray  # prefix sums of the price of one unit of `a` times the step's hours
    value: FloatArray  # prefix sums of the optimum's value (earnings less power) times hours
    switching: FloatArray  # prefix sums of what the optimum's starts cost
    rate: FloatArray  # what one unit started at the step costs
    room: IntArray | None  # the most units the step allows (spot: the pool's GPUs not busy)


def _prefix(x: FloatArray) -> FloatArray:
    result: FloatArray = np.concatenate([[0.0], np.cumsum(x)])
    return result


def _started(n: IntArray, rate: FloatArray) -> FloatArray:
    """What the starts between consecutive steps cost (none at the first step)."""
    result: FloatArray = _entering(n) * rate
    return result


def _hold(model: FleetModel, prices: PriceHistory, d: Decision, *, asic_ramp_s: float, gpu_switch_s: float,
          min_dwell_s: float) -> Decision:
    """Hybrid with switching priced: keep a class's previous count (ASICs mining, or a pool's
    GPUs on spot) where following the per-step optimum would gain less than the starts it adds.

    At step k, with the column at count s and the optimum at r[k] != s, compare over the window
    [k, e) that ends `min_dwell_s` later (at least one step): (A) follow the optimum from k, or
    (B) hold s until e, then follow. A gains the optimum's value over s's in the window, and
    pays the starts of s -> r[k] and the optimum's within the window; B pays s -> r[e]. Hold
    where A's gain is below the starts it adds, and only then: with nothing to save, the
    optimum stands. A one-step blip adds a whole round trip, so it is held unless it pays for
    the ramp; a lasting change adds none (its start comes either way) and goes through.

    Columns of a facility share its cap: a hold that would break it at that step is not taken
    (the optimum is followed there), nor one that needs more GPUs than the contracts leave.
    """
    steps = len(prices)
    if steps < 2 or (asic_ramp_s <= 0 and gpu_switch_s <= 0):
        return d
    market = _Market.of(model, prices)
    dt, ts = prices.dt_h, prices.ts_s
    end = np.maximum(np.searchsorted(ts, ts + min_dwell_s, side="left"), np.arange(1, steps + 1))
    hp = market.usd_per_th_hour
    hp_earn = _prefix(hp * dt)
    busy = _busy_gpus(model, d)
    fac_power = _facility_power(model, d, busy)

    def changes(n: IntArray) -> bool:
        return bool((n[1:] != n[:-1]).any())

    for f in range(len(model.facility_ids)):
        e_f = market.usd_per_wh[:, f]
        cols: list[_Column] = []  # only what the optimum changes: the rest has nothing to hold
        for c, cls in enumerate(model.classes):
            n = d.mining_units[:, c]
            if cls.facility != f or not changes(n):
                continue
            ths, w = d.mining_ths[:, c], d.mining_w[:, c]
            rate = np.where(n > 0, ths / np.maximum(n, 1), 0.0) * hp * (asic_ramp_s / 3600)
            cols.append(_Column(("asic", c), n, ths, w, hp_earn, _prefix((ths * hp - w * e_f) * dt),
                                _prefix(_started(n, rate)), rate, None))
        for qi, q in enumerate(model.pools):
            n = d.spot_gpus[:, qi]
            if q.facility != f or not changes(n):
                continue
            spot = market.spot_usd_per_hour[:, qi]
            price = np.nan_to_num(spot)
            rate = price * (gpu_switch_s / 3600)
            room = np.where(np.isnan(spot), 0, q.n - busy[:, qi])
            cols.append(_Column(("spot", qi), n, n.astype(np.float64), n * np.float64(q.extra_w), _prefix(price * dt),
                                _prefix(n * (price - q.extra_w * e_f) * dt), _prefix(_started(n, rate)), rate, room))
        if not cols:
            continue
        counts = np.column_stack([c.n for c in cols])
        events: list[int] = (np.flatnonzero((counts[1:] != counts[:-1]).any(axis=1)) + 1).tolist()
        power = fac_power[:, f]
        cap = float(model.cap_w[f]) + CAP_TOLERANCE_W
        energy = _prefix(e_f * dt)
        held: dict[int, tuple[int, float, float]] = {}
        kept: list[tuple[int, int, int, float, float]] = []
        i, k = 0, (events[0] if events else steps)
        while k < steps:
            added_w = 0.0  # what this step's holds so far add to the optimum's draw
            for ci, col in enumerate(cols):
                rn = int(col.n[k])
                was = held.get(ci)
                if was is None:
                    if col.n[k - 1] == rn:
                        continue
                    was = (int(col.n[k - 1]), float(col.a[k - 1]), float(col.w[k - 1]))
                if was[0] == rn:
                    held.pop(ci, None)
                    continue
                e = int(end[k])
                gain = float(col.value[e] - col.value[k] - was[1] * (col.earn[e] - col.earn[k])
                             + was[2] * (energy[e] - energy[k]))
                adds = float(max(rn - was[0], 0) * col.rate[k] + col.switching[min(e, steps - 1) + 1]
                             - col.switching[k + 1])
                if e < steps:
                    adds -= float(max(col.n[e] - was[0], 0) * col.rate[e])
                delta = was[2] - float(col.w[k])
                if (adds > 1e-12 and gain < adds and power[k] + added_w + delta <= cap
                        and (col.room is None or was[0] <= col.room[k])):
                    held[ci] = was
                    added_w += delta
                    kept.append((k, ci, *was))
                else:
                    held.pop(ci, None)
            if held:
                k += 1
            else:
                while i < len(events) and events[i] <= k:
                    i += 1
                k = events[i] if i < len(events) else steps
        for k, ci, n_on, earning, watts in kept:
            kind, o = cols[ci].target
            if kind == "asic":
                d.mining_units[k, o], d.mining_ths[k, o], d.mining_w[k, o] = n_on, earning, watts
            else:
                d.spot_gpus[k, o] = n_on
    return d
