"""What a strategy decides at each step, by class and pool (`Decision`), the prices it decides on
(`_Market`), and the contracted work every strategy runs first (`_fixed_gangs`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from hcp.economics.backtest.defaults import BoolArray, FloatArray, IntArray
from hcp.economics.backtest.fleet import FleetModel
from hcp.economics.backtest.history import PriceHistory


@dataclass
class Decision:
    """A strategy's choices over the steps, by class: enough to price them and count switches."""

    mining_units: IntArray  # [T, classes] ASICs mining
    mining_w: FloatArray  # [T, classes]
    mining_ths: FloatArray  # [T, classes]
    spot_gpus: IntArray  # [T, pools]
    placed: BoolArray  # [T, gangs]

    _FIELDS: ClassVar[tuple[str, ...]] = ("mining_units", "mining_w", "mining_ths", "spot_gpus", "placed")

    @classmethod
    def empty(cls, model: FleetModel, steps: int) -> Decision:
        c, q, j = len(model.classes), len(model.pools), len(model.gangs)
        return cls(np.zeros((steps, c), dtype=np.int64), np.zeros((steps, c)), np.zeros((steps, c)),
                   np.zeros((steps, q), dtype=np.int64), np.zeros((steps, j), dtype=bool))

    def put(self, steps: IntArray, other: Decision) -> None:
        """Overwrite the given steps with `other`'s (one row per step, in that order)."""
        for name in self._FIELDS:
            getattr(self, name)[steps] = getattr(other, name)

    @classmethod
    def concat(cls, parts: Sequence[Decision]) -> Decision:
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in cls._FIELDS))


@dataclass
class _Market:
    """The prices one decision needs, per step: hashprice as USD per TH/s-hour, power per facility
    as USD per watt-hour, spot per pool (NaN where the model has no spot market)."""

    usd_per_th_hour: FloatArray  # [T]
    usd_per_wh: FloatArray  # [T, facilities]
    spot_usd_per_hour: FloatArray  # [T, pools]

    @classmethod
    def of(cls, model: FleetModel, prices: PriceHistory, rows: slice = slice(None)) -> _Market:
        steps = len(prices.ts_s[rows])
        spot = np.full((steps, len(model.pools)), np.nan)
        for qi, q in enumerate(model.pools):
            if q.model in prices.gpu_spot_usd_per_hour:
                spot[:, qi] = prices.gpu_spot_usd_per_hour[q.model][rows]
        power = np.column_stack([prices.electricity_usd_per_mwh[n][rows] for n in model.market_nodes]) / 1e6
        return cls(prices.hashprice_usd_per_th_day[rows] / 24.0, power.reshape(steps, -1), spot)



def _fixed_gangs(model: FleetModel) -> tuple[BoolArray, FloatArray, IntArray]:
    """Contracted work first, dearest first, as GPUs and power allow with every ASIC curtailed:
    which gangs run (at every step, in every strategy: they are commitments), the power left per
    facility above the idle floor, free GPUs per pool."""
    left = model.cap_w - model.idle_floor_w
    free = np.array([q.n for q in model.pools], dtype=np.int64)
    placed = np.zeros(len(model.gangs), dtype=bool)
    for j in sorted(range(len(model.gangs)), key=lambda j: -model.gangs[j].price_usd_per_gpu_hour):
        g = model.gangs[j]
        q = model.pools[g.pool]
        need = g.gpu_count * q.extra_w
        if free[g.pool] >= g.gpu_count and need <= left[q.facility] + 1e-7:
            placed[j] = True
            free[g.pool] -= g.gpu_count
            left[q.facility] -= need
    return placed, left, free
