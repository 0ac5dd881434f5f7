"""The market at one instant (`MarketTick`), what produces ticks, and the loop that publishes them."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hcp.core.clock import Clock
from hcp.kernel.hashprice import hashprice_usd_per_th_day, network_hashrate_ths
from hcp.kernel.prices import format_ts


@dataclass(frozen=True, slots=True)
class MarketTick:
    """The market at one instant. Floats: this is market data, not money owed."""

    ts: datetime
    btc_usd: float
    network_difficulty: float
    network_hashrate_ths: float  # implied by the difficulty, as hashprice uses it
    fees_btc_per_block: float
    hashprice_usd_per_th_day: float
    electricity_usd_per_mwh: dict[str, float]
    gpu_spot_usd_per_hour: dict[str, float]

    @classmethod
    def from_prices(
        cls,
        *,
        ts: datetime,
        btc_usd: float,
        network_difficulty: float,
        fees_btc_per_block: float,
        electricity_usd_per_mwh: Mapping[str, float],
        gpu_spot_usd_per_hour: Mapping[str, float],
    ) -> MarketTick:
        """Build a tick from the observed prices; hashrate and hashprice are derived."""
        return cls(
            ts=ts,
            btc_usd=btc_usd,
            network_difficulty=network_difficulty,
            network_hashrate_ths=network_hashrate_ths(network_difficulty),
            fees_btc_per_block=fees_btc_per_block,
            hashprice_usd_per_th_day=hashprice_usd_per_th_day(
                btc_usd, network_difficulty, fees_btc_per_block
            ),
            electricity_usd_per_mwh=dict(electricity_usd_per_mwh),
            gpu_spot_usd_per_hour=dict(gpu_spot_usd_per_hour),
        )

    def to_event(self) -> dict[str, Any]:
        """The `market.tick` event body: JSON-able, rounded to what each quantity means."""
        ts = format_ts(self.ts)
        return {
            "id": f"market.tick:{ts}",
            "ts": ts,
            "btc_usd": round(self.btc_usd, 2),
            "network_difficulty": float(f"{self.network_difficulty:.6e}"),
            "network_hashrate_ths": round(self.network_hashrate_ths, 1),
            "fees_btc_per_block": round(self.fees_btc_per_block, 8),  # satoshi
            "hashprice_usd_per_th_day": round(self.hashprice_usd_per_th_day, 6),
            "hashprice_usd_per_ph_day": round(self.hashprice_usd_per_th_day * 1000.0, 3),
            "electricity_usd_per_mwh": {k: round(v, 2) for k, v in self.electricity_usd_per_mwh.items()},
            "gpu_spot_usd_per_hour": {k: round(v, 4) for k, v in self.gpu_spot_usd_per_hour.items()},
        }


class MarketSource(Protocol):
    """What `run` drives: the simulator or a CSV replay."""

    def current(self) -> MarketTick: ...

    def step(self, dt_s: float) -> MarketTick: ...


class ReplayExhausted(Exception):
    """The replay has no rows left."""


async def run(
    source: MarketSource,
    *,
    clock: Clock,
    interval_s: float,
    publish: Callable[[MarketTick], Awaitable[object]],
    max_ticks: int | None = None,
) -> int:
    """Publish the current tick, then step and publish every interval_s of clock time.

    Each step advances the source by the clock time that actually passed, so a simulator started at
    clock.now() keeps its timestamps on the clock's. Returns the number of ticks published when a
    replay runs out or `max_ticks` is reached; otherwise runs until cancelled.
    """
    if not (math.isfinite(interval_s) and interval_s > 0):
        raise ValueError(f"interval_s must be a positive finite number, got {interval_s!r}")
    if max_ticks is not None and max_ticks <= 0:
        return 0
    await publish(source.current())
    published = 1
    last = clock.time()
    next_at = last + interval_s
    while max_ticks is None or published < max_ticks:
        delay = next_at - clock.time()
        if delay > 0:
            await clock.sleep(delay)
        now = clock.time()
        try:
            tick = source.step(max(now - last, 1e-6))
        except ReplayExhausted:
            break
        last = now
        await publish(tick)
        published += 1
        # Keep to the grid, but after a stall skip the missed slots rather than publishing a burst.
        next_at += interval_s
        if next_at <= clock.time():
            next_at = clock.time() + interval_s
    return published
