"""Market input: a price history as columns, read from a market CSV, from market ticks or from a
request's rows, and the shipped synthetic sample (written by the market simulator)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

from hcp.core.errors import InvalidInput
from hcp.economics.backtest.defaults import (
    SAMPLE_FACILITIES,
    SAMPLE_PRICES,
    SAMPLE_SEED,
    SAMPLE_START,
    FloatArray,
)
from hcp.kernel.hashprice import BLOCK_SUBSIDY_BTC, BLOCKS_PER_DAY, HASHES_PER_DIFFICULTY, TARGET_BLOCK_TIME_S
from hcp.kernel.prices import MarketCsvError, PriceRow, read_csv, write_csv
from hcp.sim.market import MarketSimulator, MarketTick


@dataclass(frozen=True)
class PriceHistory:
    """A market history as columns: one row per step, timestamps in seconds since the epoch (UTC)."""

    ts_s: FloatArray
    dt_h: FloatArray  # how long each row's prices hold
    btc_usd: FloatArray
    network_difficulty: FloatArray
    fees_btc_per_block: FloatArray
    electricity_usd_per_mwh: dict[str, FloatArray]
    gpu_spot_usd_per_hour: dict[str, FloatArray]
    source: str = "inline"
    synthetic: bool = False

    def __len__(self) -> int:
        return len(self.ts_s)

    @property
    def hashprice_usd_per_th_day(self) -> FloatArray:
        # hcp.kernel.hashprice's formula, over every row at once.
        revenue_usd_per_day = (BLOCK_SUBSIDY_BTC + self.fees_btc_per_block) * BLOCKS_PER_DAY * self.btc_usd
        network_ths = self.network_difficulty * HASHES_PER_DIFFICULTY / TARGET_BLOCK_TIME_S / 1e12
        result: FloatArray = revenue_usd_per_day / network_ths
        return result

    def start(self) -> datetime:
        return datetime.fromtimestamp(float(self.ts_s[0]), tz=UTC)

    def end(self) -> datetime:
        return datetime.fromtimestamp(float(self.ts_s[-1] + self.dt_h[-1] * 3600.0), tz=UTC)

    def between(self, start: datetime | None, end: datetime | None) -> PriceHistory:
        """The rows with start <= ts < end (each keeps its own duration)."""
        keep = np.ones(len(self), dtype=bool)
        if start is not None:
            keep &= self.ts_s >= start.timestamp()
        if end is not None:
            keep &= self.ts_s < end.timestamp()
        rows = np.flatnonzero(keep)
        return PriceHistory(
            ts_s=self.ts_s[rows], dt_h=self.dt_h[rows], btc_usd=self.btc_usd[rows],
            network_difficulty=self.network_difficulty[rows], fees_btc_per_block=self.fees_btc_per_block[rows],
            electricity_usd_per_mwh={k: v[rows] for k, v in self.electricity_usd_per_mwh.items()},
            gpu_spot_usd_per_hour={k: v[rows] for k, v in self.gpu_spot_usd_per_hour.items()},
            source=self.source, synthetic=self.synthetic,
        )


def _durations_h(ts_s: FloatArray) -> FloatArray:
    steps = np.diff(ts_s)
    return np.append(steps, np.median(steps)) / 3600.0


def load_prices(path: str | Path) -> PriceHistory:
    """Read a market CSV through `hcp.kernel.prices.read_csv` (plain or gzipped, every row
    checked; a `MarketCsvError` names the file, the line and the column). A backtest needs at
    least two rows, so that each row's prices hold for a known time."""
    table = read_csv(path)
    if len(table) < 2:
        raise MarketCsvError(f"{table.source}: {len(table)} data row(s); a backtest needs at least two")
    return PriceHistory(
        ts_s=table.ts_s, dt_h=_durations_h(table.ts_s),
        btc_usd=table.btc_usd,
        network_difficulty=table.network_difficulty,
        fees_btc_per_block=table.fees_btc_per_block,
        electricity_usd_per_mwh=table.electricity_usd_per_mwh,
        gpu_spot_usd_per_hour=table.gpu_spot_usd_per_hour,
        source=str(table.source), synthetic="SYNTHETIC" in table.source.name.upper(),
    )


@lru_cache(maxsize=1)
def sample_prices() -> PriceHistory:
    """The shipped synthetic year (read once per process)."""
    history = load_prices(SAMPLE_PRICES)
    return PriceHistory(**{**history.__dict__, "source": f"sample {SAMPLE_PRICES.name}", "synthetic": True})


def simulated_ticks(
    *, seed: int, start: datetime, steps: int, step_s: float,
    facilities: Sequence[tuple[str, str]] = SAMPLE_FACILITIES,
) -> list[MarketTick]:
    """`steps` ticks of the market simulator, `step_s` apart, the first at `start`."""
    sim = MarketSimulator(seed=seed, facilities=list(facilities), start=start)
    return [sim.current(), *(sim.step(step_s) for _ in range(steps - 1))]


def history_from_ticks(ticks: Sequence[PriceRow], *, source: str = "market simulator",
                       synthetic: bool = True) -> PriceHistory:
    """Ticks as columns: the one place the backtest reads a market tick's fields (the nodes and
    GPU models are the first tick's)."""
    ts = np.array([t.ts.timestamp() for t in ticks])
    first = ticks[0]
    return PriceHistory(
        ts_s=ts, dt_h=_durations_h(ts),
        btc_usd=np.array([t.btc_usd for t in ticks]),
        network_difficulty=np.array([t.network_difficulty for t in ticks]),
        fees_btc_per_block=np.array([t.fees_btc_per_block for t in ticks]),
        electricity_usd_per_mwh={n: np.array([t.electricity_usd_per_mwh[n] for t in ticks])
                                 for n in first.electricity_usd_per_mwh},
        gpu_spot_usd_per_hour={m: np.array([t.gpu_spot_usd_per_hour[m] for t in ticks])
                               for m in first.gpu_spot_usd_per_hour},
        source=source, synthetic=synthetic,
    )


def rounded_tick(tick: MarketTick) -> MarketTick:
    """A tick with each price rounded to what it means (cents, satoshis), as `market.tick` shows it."""
    return MarketTick.from_prices(
        ts=tick.ts, btc_usd=round(tick.btc_usd, 2),
        network_difficulty=float(f"{tick.network_difficulty:.6e}"),
        fees_btc_per_block=round(tick.fees_btc_per_block, 8),
        electricity_usd_per_mwh={k: round(v, 2) for k, v in tick.electricity_usd_per_mwh.items()},
        gpu_spot_usd_per_hour={k: round(v, 4) for k, v in tick.gpu_spot_usd_per_hour.items()},
    )


def write_prices(ticks: Iterable[PriceRow], path: str | Path) -> int:
    """Ticks as a market CSV: `hcp.kernel.prices.write_csv`, gzipped (reproducibly) when the
    name ends in `.gz`."""
    return write_csv(ticks, path)


def write_sample_prices(path: str | Path = SAMPLE_PRICES, *, days: int = 365, step_s: float = 300.0) -> int:
    """Regenerate the shipped sample: the market simulator, seed 2026, from 2026-01-01 UTC."""
    ticks = simulated_ticks(seed=SAMPLE_SEED, start=SAMPLE_START, steps=int(days * 86400 / step_s), step_s=step_s)
    return write_prices((rounded_tick(t) for t in ticks), path)


def prices_from_rows(rows: Sequence[PriceRow], *, field_prefix: str = "prices.rows") -> PriceHistory:
    """A request's inline rows (`PriceRowIn`), checked to name the same nodes and models throughout
    and to go forward in time."""
    nodes, models = list(rows[0].electricity_usd_per_mwh), list(rows[0].gpu_spot_usd_per_hour)
    ts = np.array([r.ts.timestamp() for r in rows])
    for k, r in enumerate(rows):
        if set(r.electricity_usd_per_mwh) != set(nodes):
            raise InvalidInput(f"{field_prefix}[{k}].electricity_usd_per_mwh", "names other nodes than row 0")
        if set(r.gpu_spot_usd_per_hour) != set(models):
            raise InvalidInput(f"{field_prefix}[{k}].gpu_spot_usd_per_hour", "names other GPU models than row 0")
        if k and ts[k] <= ts[k - 1]:
            raise InvalidInput(f"{field_prefix}[{k}].ts", "is not after the previous row's")
    return history_from_ticks(rows, source="inline", synthetic=False)


def select_period(prices: PriceHistory, start: datetime | None, end: datetime | None, *,
                  start_field: str = "from", end_field: str = "to") -> PriceHistory:
    if start is not None and end is not None and end <= start:
        raise InvalidInput(end_field, "must be after the start of the period")
    chosen = prices.between(start, end)
    if len(chosen) == 0:
        raise InvalidInput(start_field if start is not None else end_field,
                           f"no price rows in the period (the history runs {prices.start():%Y-%m-%d %H:%M} "
                           f"to {prices.end():%Y-%m-%d %H:%M} UTC)")
    return chosen
