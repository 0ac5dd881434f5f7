"""The run: each strategy decides over the history in chunks, hybrid's decision goes through the
switching pass, and every decision is priced (`run_backtest`); the result and its notes."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from hcp.core.errors import InvalidInput
from hcp.economics.backtest.decision import Decision, _fixed_gangs, _Market
from hcp.economics.backtest.defaults import (
    ASIC_RAMP_S,
    CHUNK_STEPS,
    GPU_SWITCH_S,
    MAX_ASIC_RAMP_S,
    MAX_GPU_SWITCH_S,
    MAX_MIN_DWELL_S,
    MIN_DWELL_S,
    STRATEGIES,
    Progress,
)
from hcp.economics.backtest.fleet import FleetModel
from hcp.economics.backtest.history import PriceHistory
from hcp.economics.backtest.hybrid import _decide_hybrid
from hcp.economics.backtest.outcome import Outcome, evaluate
from hcp.economics.backtest.schemas import StrategySummary
from hcp.economics.backtest.strategies import _decide_exact, _decide_fixed, _decide_threshold
from hcp.economics.backtest.switching import _hold


def break_even_usd_per_mwh(model: FleetModel, hashprice_usd_per_th_day: float) -> float | None:
    """The fleet's break-even power price at stock settings (None without ASICs)."""
    power = sum(c.n * c.stock[0] for c in model.classes)
    if power <= 0:
        return None
    hashrate = sum(c.n * c.stock[1] for c in model.classes)
    return hashrate * hashprice_usd_per_th_day / 24.0 * 1e6 / power


SINGLE_MODE: Final = ("mine-always", "ai-first", "price-threshold")


@dataclass
class BacktestResult:
    prices: PriceHistory
    model: FleetModel
    outcomes: list[Outcome]
    threshold_usd_per_mwh: float | None
    exact: bool
    elapsed_s: float
    asic_ramp_s: float = ASIC_RAMP_S
    gpu_switch_s: float = GPU_SWITCH_S
    min_dwell_s: float = MIN_DWELL_S

    def summaries(self) -> list[StrategySummary]:
        return [o.summary(self.prices.dt_h) for o in self.outcomes]

    def notes(self) -> list[str]:
        """What a reader of the table must know: contracts the fleet cannot run, and any
        single-mode strategy that beat hybrid after switching costs on this price path."""
        notes: list[str] = []
        summaries = {s.strategy: s for s in self.summaries()}
        placed = _fixed_gangs(self.model)[0]
        cannot = [g for g, ok in zip(self.model.gangs, placed, strict=True) if not ok]
        if cannot:
            hours = float(self.prices.dt_h.sum())
            names = ", ".join(g.workload_id for g in cannot)
            gpu_h = sum(g.gpu_count for g in cannot) * hours
            notes.append(f"Contracted workload(s) {names} cannot run: with every ASIC curtailed, their facility's "
                         f"power cap still cannot hold them beside the dearer contracts. Every strategy misses "
                         f"them: {gpu_h:,.0f} GPU-hours of SLO shortfall.")
        hybrid = summaries.get("hybrid")
        if hybrid is None:
            return notes
        explained = sum(g.gpu_count for g in cannot) * float(self.prices.dt_h.sum())
        if hybrid.slo_shortfall_gpu_hours > explained + 1e-6:
            notes.append(f"hybrid missed {hybrid.slo_shortfall_gpu_hours - explained:,.1f} GPU-hours of contracted "
                         "work the fleet could have run.")
        for name in SINGLE_MODE:
            other = summaries.get(name)
            if other is not None and other.profit_after_switching_usd > hybrid.profit_after_switching_usd:
                lead = other.profit_after_switching_usd - hybrid.profit_after_switching_usd
                notes.append(f"On this price path {name} beat hybrid by ${lead:,.2f} after switching costs "
                             f"(${other.profit_after_switching_usd:,.2f} against "
                             f"${hybrid.profit_after_switching_usd:,.2f}).")
        return notes


def check_seconds(field_name: str, value: float, most: float) -> None:
    """A duration parameter (a ramp, a switch, a dwell): finite, from 0 to `most` seconds."""
    if not (math.isfinite(value) and 0 <= value <= most):
        raise InvalidInput(field_name, f"{value!r} is not a number of seconds from 0 to {most:,.0f}")


def run_backtest(
    model: FleetModel, prices: PriceHistory, strategies: Sequence[str] = STRATEGIES, *,
    threshold_usd_per_mwh: float | None = None, exact: bool = False, progress: Progress | None = None,
    asic_ramp_s: float = ASIC_RAMP_S, gpu_switch_s: float = GPU_SWITCH_S, min_dwell_s: float = MIN_DWELL_S,
) -> BacktestResult:
    """Run each strategy over the whole history and price the outcome, switching included: an
    ASIC start loses `asic_ramp_s` of revenue, a GPU's change of role `gpu_switch_s`; hybrid
    weighs its changes against those over the next `min_dwell_s` (`_hold`)."""
    started = time.perf_counter()
    steps = len(prices)
    if steps == 0:
        raise InvalidInput("prices", "no price rows in the period")
    check_seconds("asic_ramp_s", asic_ramp_s, MAX_ASIC_RAMP_S)
    check_seconds("gpu_switch_s", gpu_switch_s, MAX_GPU_SWITCH_S)
    check_seconds("min_dwell_s", min_dwell_s, MAX_MIN_DWELL_S)
    threshold = threshold_usd_per_mwh
    if threshold is None:
        threshold = break_even_usd_per_mwh(model, float(prices.hashprice_usd_per_th_day[0]))
    outcomes = []
    for name in strategies:
        parts: list[Decision] = []
        exact_steps = 0
        for lo in range(0, steps, CHUNK_STEPS):
            rows = slice(lo, min(lo + CHUNK_STEPS, steps))
            if name == "hybrid" and exact:
                def tick(done: int, lo: int = lo, name: str = name) -> None:
                    if progress is not None:
                        progress(name, lo + done, steps)
                parts.append(_decide_exact(model, prices, range(rows.start, rows.stop), tick))
                exact_steps += rows.stop - rows.start
                continue
            market = _Market.of(model, prices, rows)
            if name == "hybrid":
                decision, unproven = _decide_hybrid(model, market)
                redo = np.flatnonzero(unproven)
                if len(redo):
                    decision.put(redo, _decide_exact(model, prices, (rows.start + redo).tolist()))
                exact_steps += len(redo)
                parts.append(decision)
            elif name == "mine-always":
                parts.append(_decide_fixed(model, market, spot=False))
            elif name == "ai-first":
                parts.append(_decide_fixed(model, market, spot=True))
            elif name == "price-threshold":
                parts.append(_decide_threshold(model, market, math.inf if threshold is None else threshold))
            else:
                raise ValueError(f"unknown strategy {name!r}; one of {', '.join(STRATEGIES)}")
            if progress is not None:
                progress(name, rows.stop, steps)
        decision = Decision.concat(parts)
        if name == "hybrid":
            decision = _hold(model, prices, decision, asic_ramp_s=asic_ramp_s, gpu_switch_s=gpu_switch_s,
                             min_dwell_s=min_dwell_s)
        outcome = evaluate(model, prices, decision, name, asic_ramp_s=asic_ramp_s, gpu_switch_s=gpu_switch_s)
        outcome.exact_steps = exact_steps
        outcomes.append(outcome)
    return BacktestResult(prices=prices, model=model, outcomes=outcomes, threshold_usd_per_mwh=threshold,
                          exact=exact, elapsed_s=time.perf_counter() - started, asic_ramp_s=asic_ramp_s,
                          gpu_switch_s=gpu_switch_s, min_dwell_s=min_dwell_s)
