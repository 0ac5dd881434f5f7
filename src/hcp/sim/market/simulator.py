"""The market simulator: seeded, deterministic price processes stepping on simulated time.

Every process draws from its own seeded PCG64 stream keyed by the seed and the process's name, so
adding a market node or a GPU model does not change the BTC path.
"""

from __future__ import annotations

import math
import zlib
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np

from hcp.kernel.hashprice import HASHES_PER_DIFFICULTY, TARGET_BLOCK_TIME_S
from hcp.sim.market.config import ElectricityNodeConfig, MarketConfig
from hcp.sim.market.tick import MarketTick

RETARGET_INTERVAL_BLOCKS: Final = 2016
MAX_RETARGET_FACTOR: Final = 4.0
_SECONDS_PER_YEAR: Final = 365.25 * 86400.0

_STREAM_BTC: Final = 1
_STREAM_FEES: Final = 2
_STREAM_NETWORK: Final = 3
_STREAM_NODE: Final = 10
_STREAM_GPU: Final = 20


def _stream(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _name_key(name: str) -> int:
    # Python's hash() is salted per process; CRC-32 gives the same stream in every run.
    return zlib.crc32(name.encode("utf-8"))


def _ou_step(x: float, mean: float, sd_stationary: float, half_life_s: float, dt_s: float, z: float) -> float:
    """Exact Ornstein-Uhlenbeck transition over dt_s, whatever its length."""
    decay = math.exp(-math.log(2.0) * dt_s / half_life_s)
    return mean + (x - mean) * decay + sd_stationary * math.sqrt(1.0 - decay * decay) * z


class _ElectricityNode:
    def __init__(self, name: str, config: ElectricityNodeConfig, rng: np.random.Generator) -> None:
        self.name = name
        self.config = config
        self.rng = rng
        self.deviation_usd_per_mwh = 0.0
        self.spike_usd_per_mwh = 0.0

    def _shape(self, utc_hours: float) -> float:
        local_hour = (utc_hours + self.config.utc_offset_hours) % 24.0
        return math.cos(2.0 * math.pi * (local_hour - self.config.peak_hour_local) / 24.0)

    def price(self, ts: datetime) -> float:
        c = self.config
        shape = self._shape(_utc_hours(ts))
        raw = (
            c.mean_usd_per_mwh
            + c.daily_amplitude_usd_per_mwh * shape
            + self.deviation_usd_per_mwh
            + self.spike_usd_per_mwh
        )
        return min(max(raw, c.floor_usd_per_mwh), c.cap_usd_per_mwh)

    def step(self, ts_mid: datetime, dt_s: float) -> None:
        c = self.config
        z = float(self.rng.standard_normal())
        self.deviation_usd_per_mwh = _ou_step(
            self.deviation_usd_per_mwh, 0.0, c.volatility_usd_per_mwh, c.half_life_hours * 3600.0, dt_s, z
        )
        self.spike_usd_per_mwh *= math.exp(-math.log(2.0) * dt_s / (c.spike_half_life_minutes * 60.0))
        # Hazard follows the daily shape (1 + cos): twice the average at the peak, none at the trough.
        hazard_per_s = c.spike_rate_per_day / 86400.0 * (1.0 + self._shape(_utc_hours(ts_mid)))
        n_spikes = int(self.rng.poisson(hazard_per_s * dt_s))
        if n_spikes:
            sizes = c.spike_median_usd_per_mwh * np.exp(c.spike_log_sd * self.rng.standard_normal(n_spikes))
            self.spike_usd_per_mwh += float(sizes.sum())


def _utc_hours(ts: datetime) -> float:
    return ts.hour + ts.minute / 60.0 + (ts.second + ts.microsecond / 1e6) / 3600.0


class MarketSimulator:
    """Seeded, deterministic market processes stepping on simulated time.

    `facilities` lists (facility_id, market_node) pairs or bare node names; electricity prices are
    reported per node. Same seed, facilities, config and sequence of `step` calls -> identical ticks.
    """

    def __init__(
        self,
        *,
        seed: int,
        facilities: Sequence[tuple[str, str] | str],
        start: datetime = datetime(2026, 1, 1, tzinfo=UTC),
        config: MarketConfig | None = None,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        self.seed: Final = seed
        self.config: Final = config or MarketConfig()
        self.facility_nodes: dict[str, str] = {}
        nodes: list[str] = []
        for entry in facilities:
            if isinstance(entry, str):
                node = entry
            else:
                facility_id, node = entry
                if facility_id in self.facility_nodes:
                    raise ValueError(f"facility {facility_id!r} listed twice")
                self.facility_nodes[facility_id] = node
            if not node:
                raise ValueError("market node names must be non-empty")
            if node not in nodes:
                nodes.append(node)
        self.nodes: tuple[str, ...] = tuple(nodes)
        self.gpu_models: tuple[str, ...] = tuple(self.config.gpu_spot)

        self._start = start.astimezone(UTC)
        self._elapsed_s = 0.0
        self._ts = self._start

        btc = self.config.btc
        self._btc_rng = _stream(seed, _STREAM_BTC)
        self._log_btc = math.log(btc.start_usd if btc.start_usd is not None else btc.mean_usd)
        fees = self.config.fees
        self._fees_rng = _stream(seed, _STREAM_FEES)
        self._log_fees = math.log(fees.median_btc)

        net = self.config.network
        self._net_rng = _stream(seed, _STREAM_NETWORK)
        self._difficulty = float(net.difficulty)
        if net.start_hashrate_ths is None:
            start_hashrate_hs = self._difficulty * HASHES_PER_DIFFICULTY / TARGET_BLOCK_TIME_S
        else:
            start_hashrate_hs = net.start_hashrate_ths * 1e12
        if not (self._difficulty > 0 and start_hashrate_hs > 0):
            raise ValueError("network difficulty and hashrate must be positive")
        self._log_hashrate_hs = math.log(start_hashrate_hs)
        self._block_height = int(net.start_block_height)
        # Blocks of the current epoch before the start are taken to have come at 600 s each.
        into_epoch = self._block_height % RETARGET_INTERVAL_BLOCKS
        self._epoch_start_s = -into_epoch * TARGET_BLOCK_TIME_S
        self._last_block_s = 0.0
        # Block discovery as exponential amounts of work: exact even when the rate changes.
        self._work_to_next_block = float(self._net_rng.exponential())
        self._retargets: deque[tuple[int, float, float]] = deque(maxlen=1000)
        self.blocks_found = 0
        # Recent inter-block times, for statistics; bounded so a long-running demo does not grow.
        self.block_intervals_s: deque[float] = deque(maxlen=10 * RETARGET_INTERVAL_BLOCKS)

        self._nodes = [
            _ElectricityNode(n, self.config.node(n), _stream(seed, _STREAM_NODE, _name_key(n)))
            for n in self.nodes
        ]
        self._gpu_rngs = {m: _stream(seed, _STREAM_GPU, _name_key(m)) for m in self.gpu_models}
        self._log_gpu = {m: math.log(c.mean_usd_per_hour) for m, c in self.config.gpu_spot.items()}

    # ---------------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self._ts

    @property
    def block_height(self) -> int:
        return self._block_height

    @property
    def true_network_hashrate_ths(self) -> float:
        """The hidden hashrate driving block discovery (the tick reports the difficulty-implied one)."""
        return math.exp(self._log_hashrate_hs) / 1e12

    @property
    def retargets(self) -> tuple[tuple[int, float, float], ...]:
        """(block height, seconds since start, new difficulty) of the last 1,000 retargets."""
        return tuple(self._retargets)

    def current(self) -> MarketTick:
        return MarketTick.from_prices(
            ts=self._ts,
            btc_usd=math.exp(self._log_btc),
            network_difficulty=self._difficulty,
            fees_btc_per_block=math.exp(self._log_fees),
            electricity_usd_per_mwh={node.name: node.price(self._ts) for node in self._nodes},
            gpu_spot_usd_per_hour={m: math.exp(v) for m, v in self._log_gpu.items()},
        )

    def step(self, dt_s: float) -> MarketTick:
        """Advance simulated time by dt_s seconds and return the market at the new instant."""
        if not (math.isfinite(dt_s) and dt_s > 0):
            raise ValueError(f"dt_s must be a positive finite number, got {dt_s!r}")
        ts_mid = self._start + timedelta(seconds=self._elapsed_s + dt_s / 2.0)
        self._step_btc(dt_s)
        self._step_fees(dt_s)
        self._step_network(dt_s)
        for node in self._nodes:
            node.step(ts_mid, dt_s)
        for model, cfg in self.config.gpu_spot.items():
            z = float(self._gpu_rngs[model].standard_normal())
            self._log_gpu[model] = _ou_step(
                self._log_gpu[model],
                math.log(cfg.mean_usd_per_hour),
                cfg.log_sd,
                cfg.half_life_hours * 3600.0,
                dt_s,
                z,
            )
        self._elapsed_s += dt_s
        self._ts = self._start + timedelta(seconds=self._elapsed_s)
        return self.current()

    def run_for(self, duration_s: float, dt_s: float) -> list[MarketTick]:
        """Ticks every dt_s for duration_s (the last step is shortened to land on the end)."""
        ticks: list[MarketTick] = []
        remaining = duration_s
        while remaining > 1e-9:
            step = min(dt_s, remaining)
            ticks.append(self.step(step))
            remaining -= step
        return ticks

    # ---------------------------------------------------------------------------------------------

    def _step_btc(self, dt_s: float) -> None:
        c = self.config.btc
        rng = self._btc_rng
        half_life_s = c.half_life_days * 86400.0
        kappa_per_year = math.log(2.0) / (c.half_life_days / 365.25)
        sd_stationary = c.volatility_annual / math.sqrt(2.0 * kappa_per_year)
        z, z_jump = rng.standard_normal(2)
        n_jumps = int(rng.poisson(c.jump_rate_per_year * dt_s / _SECONDS_PER_YEAR))
        jump = c.jump_log_sd * math.sqrt(n_jumps) * float(z_jump)
        self._log_btc = _ou_step(
            self._log_btc, math.log(c.mean_usd), sd_stationary, half_life_s, dt_s, float(z)
        )
        self._log_btc += jump

    def _step_fees(self, dt_s: float) -> None:
        c = self.config.fees
        z = float(self._fees_rng.standard_normal())
        self._log_fees = _ou_step(
            self._log_fees, math.log(c.median_btc), c.log_sd, c.half_life_hours * 3600.0, dt_s, z
        )

    def _step_network(self, dt_s: float) -> None:
        c = self.config.network
        rng = self._net_rng
        # Blocks over the step use the hashrate at its start; it drifts only a little within a step.
        rate_hs = math.exp(self._log_hashrate_hs)
        t = self._elapsed_s
        end = self._elapsed_s + dt_s
        while True:
            blocks_per_s = rate_hs / (self._difficulty * HASHES_PER_DIFFICULTY)
            time_to_block = self._work_to_next_block / blocks_per_s
            if t + time_to_block > end:
                self._work_to_next_block -= (end - t) * blocks_per_s
                break
            t += time_to_block
            self._found_block(t)
            self._work_to_next_block = float(rng.exponential())
        years = dt_s / _SECONDS_PER_YEAR
        drift = math.log1p(c.hashrate_growth_per_year) * years
        self._log_hashrate_hs += drift + c.hashrate_volatility_annual * math.sqrt(years) * float(
            rng.standard_normal()
        )

    def _found_block(self, t: float) -> None:
        self._block_height += 1
        self.blocks_found += 1
        self.block_intervals_s.append(t - self._last_block_s)
        self._last_block_s = t
        if self._block_height % RETARGET_INTERVAL_BLOCKS == 0:
            # Bitcoin measures 2015 intervals (an off-by-one kept for consensus); here the full
            # 2016, so that a steady network settles at exactly 600 s.
            actual_s = t - self._epoch_start_s
            expected_s = RETARGET_INTERVAL_BLOCKS * TARGET_BLOCK_TIME_S
            factor = min(max(expected_s / actual_s, 1.0 / MAX_RETARGET_FACTOR), MAX_RETARGET_FACTOR)
            self._difficulty *= factor
            self._epoch_start_s = t
            self._retargets.append((self._block_height, t, self._difficulty))

