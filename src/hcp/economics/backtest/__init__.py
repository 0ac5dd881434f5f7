"""Backtests: a strategy run over a price history on simulated time, every step at once.

The clock is the history's own timestamps: row k's prices hold until row k+1 (the last row for
the median step). A strategy decides, per step, how many units of each class mine (and at which
power), which contracted workloads run and how many GPUs rent on spot; the outcome (revenue by
source, energy, curtailment, switches and what they cost, contracted work not delivered) is
arrays over the steps, and the report sums them.

Strategies: `hybrid` (the optimizer's decision each step), `mine-always`, `ai-first` and
`price-threshold` (Foreman/Braiins-style strike-price curtailment). Contracted workloads are
admitted customer work with an SLO, not revenue to trade: every strategy runs each one the fleet
can hold (its GPUs and power fit with every ASIC curtailed, dearest first: `_fixed_gangs`) at
every step, and a step a contract misses counts as SLO shortfall. `hybrid` then optimizes ASICs
and spot on the power and GPUs left, with a vectorised fast path over all steps: per facility a
greedy on value per watt with rounding and repairs, an upper bound on the optimum, and a branch
and bound where the bound leaves more than 0.1% of the objective unproven (`fast_path`); a step
it still cannot prove goes to the exact optimizer, and `exact=True` sends every step there
(`hcp.economics.optimizer.optimize`, the contracts as committed workloads).

Switching is priced for every strategy: an ASIC start loses its ramp's revenue, a GPU's change of
role a moment of its new role's price. `hybrid` also decides with it: after the per-step optimum,
a pass over the steps (`_hold`) keeps a class's (or spot pool's) previous count where following
the optimum would gain less over the next `min_dwell_s` than the switches it adds, so it does not
flap for a five-minute blip. That pass sees `min_dwell_s` of the price path ahead, as a forecast
would live.
Figures are float estimates of what a strategy would have earned, not money owed.

Modules, by concern: `defaults` (names, sample, limits), `schemas` (the fleet file and the
route's request and response), `history` (market input), `fleet` (the fleet file and its
classes), `decision`, `hybrid` (the fast path), `switching` (`_hold`), `strategies` (the others
and the exact optimizer), `outcome` (pricing a decision), `engine` (`run_backtest`), `report`
(table, JSON, HTML) and `api` (the route).
"""

from hcp.economics.backtest.decision import Decision
from hcp.economics.backtest.defaults import (
    ASIC_RAMP_S,
    GPU_SWITCH_S,
    MAX_ASIC_RAMP_S,
    MAX_GPU_SWITCH_S,
    MAX_MIN_DWELL_S,
    MIN_DWELL_S,
    SAMPLE_FACILITIES,
    SAMPLE_FLEET,
    SAMPLE_PRICES,
    SAMPLE_SEED,
    SAMPLE_START,
    STRATEGIES,
    BoolArray,
    FloatArray,
    IntArray,
    Progress,
    Strategy,
)
from hcp.economics.backtest.engine import BacktestResult, break_even_usd_per_mwh, check_seconds, run_backtest
from hcp.economics.backtest.fleet import FleetFileError, FleetModel, build_model, load_fleet
from hcp.economics.backtest.history import (
    PriceHistory,
    history_from_ticks,
    load_prices,
    prices_from_rows,
    rounded_tick,
    sample_prices,
    select_period,
    simulated_ticks,
    write_prices,
    write_sample_prices,
)
from hcp.economics.backtest.hybrid import fast_path
from hcp.economics.backtest.outcome import Outcome, evaluate
from hcp.economics.backtest.schemas import BacktestRequest, BacktestResponse, Fleet, StrategySummary
from hcp.economics.backtest.strategies import exact_request

__all__ = [
    "ASIC_RAMP_S", "GPU_SWITCH_S", "MAX_ASIC_RAMP_S", "MAX_GPU_SWITCH_S", "MAX_MIN_DWELL_S", "MIN_DWELL_S",
    "SAMPLE_FACILITIES", "SAMPLE_FLEET", "SAMPLE_PRICES", "SAMPLE_SEED", "SAMPLE_START", "STRATEGIES",
    "BacktestRequest", "BacktestResponse", "BacktestResult", "BoolArray", "Decision", "Fleet", "FleetFileError",
    "FleetModel", "FloatArray", "IntArray", "Outcome", "PriceHistory", "Progress", "Strategy", "StrategySummary",
    "break_even_usd_per_mwh", "build_model", "check_seconds", "evaluate", "exact_request", "fast_path",
    "history_from_ticks", "load_fleet", "load_prices", "prices_from_rows", "rounded_tick", "run_backtest",
    "sample_prices", "select_period", "simulated_ticks", "write_prices", "write_sample_prices",
]
