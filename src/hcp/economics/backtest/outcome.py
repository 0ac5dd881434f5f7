"""Pricing a decision: revenue by source, energy, curtailment, switches and what they cost, and the
contracted work not delivered, per step (`evaluate`), and its summary as the report shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hcp.economics.backtest.decision import Decision, _Market
from hcp.economics.backtest.defaults import ASIC_RAMP_S, CAP_TOLERANCE_W, GPU_SWITCH_S, FloatArray, IntArray
from hcp.economics.backtest.fleet import FleetModel
from hcp.economics.backtest.history import PriceHistory
from hcp.economics.backtest.schemas import RevenueBySource, StrategySummary


@dataclass
class Outcome:
    """One strategy over the steps: per-step arrays (USD and MWh of the step, W and counts at it)."""

    strategy: str
    mining_usd: FloatArray
    ai_usd: FloatArray  # contracted workloads
    spot_usd: FloatArray
    energy_usd: FloatArray
    energy_mwh: FloatArray
    power_w: dict[str, FloatArray]  # by mode: mining, workload, spot, idle
    facility_power_w: FloatArray  # [T, facilities]
    curtailed_asics: IntArray
    switches: IntArray  # units that changed mode since the previous step
    decision: Decision
    asic_starts: IntArray  # ASICs that went from curtailed to mining at the step
    asic_stops: IntArray
    gpu_switches: IntArray  # GPUs that changed role (a workload, spot, idle)
    switching_usd: FloatArray  # revenue the step's switches lose while they happen
    shortfall_gpu_h: FloatArray  # contracted GPU-hours not delivered at the step
    shortfall_usd: FloatArray  # ... at their contract price
    exact_steps: int = 0  # steps the exact optimizer decided (hybrid)

    @property
    def profit_usd(self) -> FloatArray:
        result: FloatArray = self.mining_usd + self.ai_usd + self.spot_usd - self.energy_usd
        return result

    @property
    def profit_after_switching_usd(self) -> FloatArray:
        result: FloatArray = self.profit_usd - self.switching_usd
        return result

    def summary(self, dt_h: FloatArray) -> StrategySummary:
        revenue = RevenueBySource(
            mining=_usd(self.mining_usd.sum()), ai_contracted=_usd(self.ai_usd.sum()),
            spot=_usd(self.spot_usd.sum()),
            total=_usd(self.mining_usd.sum() + self.ai_usd.sum() + self.spot_usd.sum()))
        total_w = self.facility_power_w.sum(axis=1)
        return StrategySummary(
            strategy=self.strategy, profit_usd=_usd(self.profit_usd.sum()),
            profit_after_switching_usd=_usd(self.profit_after_switching_usd.sum()),
            switching_cost_usd=_usd(self.switching_usd.sum()), revenue_usd=revenue,
            energy_cost_usd=_usd(self.energy_usd.sum()), energy_mwh=round(float(self.energy_mwh.sum()), 4),
            mean_power_kw=round(float((total_w * dt_h).sum() / dt_h.sum()) / 1000, 4),
            peak_power_kw=round(float(total_w.max()) / 1000, 4),
            curtailed_asic_hours=round(float((self.curtailed_asics * dt_h).sum()), 3),
            hours_with_curtailment=round(float(dt_h[self.curtailed_asics > 0].sum()), 3),
            switches=int(self.switches.sum()), asic_starts=int(self.asic_starts.sum()),
            asic_stops=int(self.asic_stops.sum()), gpu_switches=int(self.gpu_switches.sum()),
            slo_shortfall_gpu_hours=round(float(self.shortfall_gpu_h.sum()), 3),
            slo_shortfall_usd=_usd(self.shortfall_usd.sum()),
        )


def _usd(x: float | np.floating[Any]) -> float:
    return round(float(x), 2)


def _state_changes(counts: IntArray) -> IntArray:
    """Fewest units that must change state between consecutive steps, given how many of a group of
    interchangeable units are in each state ([T, states]): a dispatcher keeps a unit where it is
    when it can, so only the net inflow into each state moves."""
    moved = np.maximum(np.diff(counts, axis=0), 0).sum(axis=1)
    return np.concatenate([[0], moved]).astype(np.int64)


def _entering(counts: IntArray) -> IntArray:
    """Units entering a state at each step, from how many are in it ([T]; none at the first step):
    `_state_changes` by the state they go to, which is what prices a switch."""
    moved: IntArray = np.zeros(len(counts), dtype=np.int64)
    np.maximum(np.diff(counts), 0, out=moved[1:])
    return moved


def _busy_gpus(model: FleetModel, decision: Decision) -> IntArray:
    """GPUs running contracted work, per step and pool."""
    busy = np.zeros(decision.spot_gpus.shape, dtype=np.int64)
    for j, g in enumerate(model.gangs):
        busy[:, g.pool] += decision.placed[:, j] * g.gpu_count
    return busy


def _facility_power(model: FleetModel, decision: Decision, busy: IntArray) -> FloatArray:
    """Watts each facility draws at each step ([T, facilities]): mining, GPUs at work, GPUs idle."""
    steps = len(decision.mining_w)
    pool_fac = np.array([q.facility for q in model.pools], dtype=np.int64)
    pool_power = np.array([q.power_w for q in model.pools])
    pool_idle = np.array([q.idle_power_w for q in model.pools])
    idle = np.array([q.n for q in model.pools], dtype=np.int64) - busy - decision.spot_gpus
    class_fac = np.array([c.facility for c in model.classes], dtype=np.int64)
    fac_power = np.zeros((steps, len(model.facility_ids)))
    for f in range(len(model.facility_ids)):
        fac_power[:, f] = (decision.mining_w[:, class_fac == f].sum(axis=1)
                           + (busy + decision.spot_gpus)[:, pool_fac == f] @ pool_power[pool_fac == f]
                           + idle[:, pool_fac == f] @ pool_idle[pool_fac == f])
    return fac_power


def evaluate(model: FleetModel, prices: PriceHistory, decision: Decision, strategy: str,
             rows: slice = slice(None), *, asic_ramp_s: float = ASIC_RAMP_S,
             gpu_switch_s: float = GPU_SWITCH_S) -> Outcome:
    """Price a decision: revenue by source, energy, curtailment, switches and what they cost, and
    the contracted work it does not deliver, per step.

    An ASIC start loses `asic_ramp_s` of the revenue of the point it starts at, at the step's
    hashprice; a GPU entering a role (a workload, spot) loses `gpu_switch_s` of that role's price
    (idle earns nothing, so entering it costs nothing). Stops are free: their cost is the start
    that ends them.
    """
    market = _Market.of(model, prices, rows)
    dt = prices.dt_h[rows]
    steps = len(dt)
    n_pool = len(model.pools)
    pool_power = np.array([q.power_w for q in model.pools])
    pool_idle = np.array([q.idle_power_w for q in model.pools])
    pool_size = np.array([q.n for q in model.pools], dtype=np.int64)
    gang_pool = np.array([g.pool for g in model.gangs], dtype=np.int64)
    gang_gpus = np.array([g.gpu_count for g in model.gangs], dtype=np.int64)
    gang_price = np.array([g.price_usd_per_gpu_hour for g in model.gangs])

    busy = _busy_gpus(model, decision)
    if ((busy + decision.spot_gpus) > pool_size).any():
        raise RuntimeError(f"{strategy}: a pool was given more GPUs than it has")
    idle = pool_size - busy - decision.spot_gpus

    mining_w = decision.mining_w.sum(axis=1)
    workload_w = busy @ pool_power if n_pool else np.zeros(steps)
    spot_w = decision.spot_gpus @ pool_power if n_pool else np.zeros(steps)
    idle_w = idle @ pool_idle if n_pool else np.zeros(steps)

    fac_power = _facility_power(model, decision, busy)
    over = fac_power > model.cap_w + CAP_TOLERANCE_W
    if over.any():
        k, f = np.argwhere(over)[0]
        raise RuntimeError(f"{strategy}: {model.facility_ids[f]} draws {fac_power[k, f]:.1f} W over its cap "
                           f"{model.cap_w[f]:.1f} W at step {k}")

    spot_price = np.nan_to_num(market.spot_usd_per_hour)
    spot_usd = (decision.spot_gpus * spot_price).sum(axis=1) * dt
    gang_usd_h = gang_gpus * gang_price
    ai_usd = (decision.placed @ gang_usd_h if len(model.gangs) else np.zeros(steps)) * dt
    mining_usd = decision.mining_ths.sum(axis=1) * market.usd_per_th_hour * dt
    energy_usd = (fac_power * market.usd_per_wh).sum(axis=1) * dt
    energy_mwh = fac_power.sum(axis=1) * dt / 1e6
    missing = ~decision.placed
    shortfall_gpu_h = (missing @ gang_gpus if len(model.gangs) else np.zeros(steps)) * dt
    shortfall_usd = (missing @ gang_usd_h if len(model.gangs) else np.zeros(steps)) * dt

    class_size = np.array([c.n for c in model.classes], dtype=np.int64)
    curtailed = (class_size - decision.mining_units).sum(axis=1)
    asic_starts, asic_stops = np.zeros(steps, dtype=np.int64), np.zeros(steps, dtype=np.int64)
    started_ths = np.zeros(steps)  # TH/s that start, at the point each starts at
    for c in range(len(model.classes)):
        running = decision.mining_units[:, c]
        starts = _entering(running)
        asic_starts += starts
        asic_stops += _entering(class_size[c] - running)
        started_ths += starts * decision.mining_ths[:, c] / np.maximum(running, 1)
    switching_usd = started_ths * market.usd_per_th_hour * (asic_ramp_s / 3600)
    gpu_switches = np.zeros(steps, dtype=np.int64)
    entered_usd_h = np.zeros(steps)  # what the GPUs entering a role earn there per hour
    for qi in range(n_pool):
        spot_in = _entering(decision.spot_gpus[:, qi])
        gpu_switches += spot_in + _entering(idle[:, qi])  # entering idle costs nothing: it earns nothing
        entered_usd_h += spot_in * spot_price[:, qi]
        for j in np.flatnonzero(gang_pool == qi).tolist():
            gang_in = _entering(decision.placed[:, j].astype(np.int64) * gang_gpus[j])
            gpu_switches += gang_in
            entered_usd_h += gang_in * gang_price[j]
    switching_usd += entered_usd_h * (gpu_switch_s / 3600)
    return Outcome(strategy=strategy, mining_usd=mining_usd, ai_usd=ai_usd, spot_usd=spot_usd,
                   energy_usd=energy_usd, energy_mwh=energy_mwh,
                   power_w={"mining": mining_w, "workload": workload_w, "spot": spot_w, "idle": idle_w},
                   facility_power_w=fac_power, curtailed_asics=curtailed.astype(np.int64),
                   # a class's units only start or stop, a pool's GPUs move between roles: the
                   # same count as `_state_changes` over each group's states
                   switches=asic_starts + asic_stops + gpu_switches, decision=decision,
                   asic_starts=asic_starts, asic_stops=asic_stops, gpu_switches=gpu_switches,
                   switching_usd=switching_usd, shortfall_gpu_h=shortfall_gpu_h, shortfall_usd=shortfall_usd)
