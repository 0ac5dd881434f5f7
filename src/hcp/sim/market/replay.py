"""Replaying a market CSV as ticks: the same `MarketSource` as the simulator, from a file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from hcp.kernel import prices
from hcp.sim.market.tick import MarketTick, ReplayExhausted


class MarketReplay:
    """Ticks read from a market CSV (`hcp.kernel.prices`' format), for replaying a recorded run.

    The whole file is checked on load (`MarketCsvError` names the line and the column); a replay
    steps row by row and raises `ReplayExhausted` after the last.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._ticks = _ticks(prices.read_csv(self.path))
        self._cursor = 0

    @property
    def ticks(self) -> tuple[MarketTick, ...]:
        return self._ticks

    def __len__(self) -> int:
        return len(self._ticks)

    def __iter__(self) -> Iterator[MarketTick]:
        return iter(self._ticks)

    def __getitem__(self, k: int) -> MarketTick:
        return self._ticks[k]

    @property
    def exhausted(self) -> bool:
        return self._cursor >= len(self._ticks) - 1

    def current(self) -> MarketTick:
        return self._ticks[self._cursor]

    def step(self, dt_s: float) -> MarketTick:
        """The next row. The CSV's own timestamps set the pace, so dt_s is not used to pick it."""
        if self.exhausted:
            raise ReplayExhausted(f"{self.path}: all {len(self._ticks)} rows replayed")
        self._cursor += 1
        return self._ticks[self._cursor]

    def rewind(self) -> None:
        self._cursor = 0


def _ticks(table: prices.PriceTable) -> tuple[MarketTick, ...]:
    btc, fees = table.btc_usd.tolist(), table.fees_btc_per_block.tolist()
    difficulty = table.network_difficulty.tolist()
    electricity = {n: v.tolist() for n, v in table.electricity_usd_per_mwh.items()}
    gpu_spot = {m: v.tolist() for m, v in table.gpu_spot_usd_per_hour.items()}
    return tuple(
        MarketTick.from_prices(
            ts=ts,
            btc_usd=btc[k],
            network_difficulty=difficulty[k],
            fees_btc_per_block=fees[k],
            electricity_usd_per_mwh={n: v[k] for n, v in electricity.items()},
            gpu_spot_usd_per_hour={m: v[k] for m, v in gpu_spot.items()},
        )
        for k, ts in enumerate(table.ts)
    )
