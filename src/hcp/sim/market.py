"""Market data for the digital twin: BTC, difficulty, fees, electricity and GPU spot prices.

Why a simulator: the optimiser decides between mining, AI work and curtailment from these prices,
so it must be exercised against markets that move the way real ones do (mean reversion, jumps,
afternoon peaks, rare $5,000/MWh spikes, difficulty epochs) and, for backtests, replayed exactly.
Every process draws from its own seeded PCG64 stream keyed by the seed and the process's name, so
adding a market node or a GPU model does not change the BTC path, and a CSV written from a run
replays into identical ticks.
"""

from __future__ import annotations

import csv
import math
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np

from hcp.core.clock import Clock
from hcp.kernel.hashprice import (
    BLOCK_SUBSIDY_BTC,
    BLOCKS_PER_DAY,
    HASHES_PER_DIFFICULTY,
    TARGET_BLOCK_TIME_S,
    hashprice_usd_per_th_day,
    network_hashrate_ths,
)

__all__ = [
    "BLOCKS_PER_DAY",
    "BLOCK_SUBSIDY_BTC",
    "DEFAULT_GPU_SPOT",
    "DEFAULT_NODES",
    "RETARGET_INTERVAL_BLOCKS",
    "TARGET_BLOCK_TIME_S",
    "BtcConfig",
    "ElectricityNodeConfig",
    "FeesConfig",
    "GpuSpotConfig",
    "MarketConfig",
    "MarketCsvError",
    "MarketReplay",
    "MarketSimulator",
    "MarketSource",
    "MarketTick",
    "NetworkConfig",
    "ReplayExhausted",
    "hashprice_usd_per_th_day",
    "network_hashrate_ths",
    "run",
    "write_csv",
]

RETARGET_INTERVAL_BLOCKS: Final = 2016
MAX_RETARGET_FACTOR: Final = 4.0
_SECONDS_PER_YEAR: Final = 365.25 * 86400.0


# --------------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True, slots=True)
class BtcConfig:
    """Log-price Ornstein-Uhlenbeck around ln(mean) plus Poisson jumps (which revert too)."""

    mean_usd: float = 65_000.0
    start_usd: float | None = None  # None: start at the mean
    volatility_annual: float = 0.50  # diffusion, about BTC's realised volatility
    half_life_days: float = 5.0  # stationary log s.d. = 0.50 / sqrt(2 x 50.6/yr) ~ 0.05
    jump_rate_per_year: float = 12.0
    jump_log_sd: float = 0.04


@dataclass(frozen=True, slots=True)
class FeesConfig:
    """Expected fees per block: log-OU, so lognormal around the median (~0.02-0.08 BTC at 2 s.d.)."""

    median_btc: float = 0.04
    log_sd: float = 0.35  # stationary s.d. of ln(fees)
    half_life_hours: float = 12.0


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """Difficulty epochs and the hashrate of the whole network.

    The default difficulty is chosen so that, at $65k and 0.04 BTC fees, hashprice is ~$50/PH/day
    (mid-2024 levels): 8.3e13 -> 593 EH/s. Late-2025's 1.52e14 with ~$91k BTC gives ~$38/PH/day;
    1.52e14 with $65k would give ~$27/PH/day, below what a $60-70k market implies.
    """

    difficulty: float = 8.3e13
    start_block_height: int = 2016 * 459  # 925,344: an epoch boundary of late 2025
    # Growth of the network's hashrate; blocks then come a little faster than 600 s within an
    # epoch and each retarget raises the difficulty, as on the real network.
    hashrate_growth_per_year: float = 0.20
    hashrate_volatility_annual: float = 0.10
    # None: the network starts hashing exactly what the difficulty expects (600 s blocks).
    start_hashrate_ths: float | None = None


@dataclass(frozen=True, slots=True)
class ElectricityNodeConfig:
    """Real-time price at one market node, $/MWh.

    price = mean + daily shape + OU deviation + spikes, clipped to [floor, cap]. The daily shape is
    a cosine peaking at `peak_hour_local`; spikes arrive as a Poisson process whose rate follows the
    same daily shape (scarcity comes with the afternoon peak), with lognormal sizes and exponential
    decay.
    """

    mean_usd_per_mwh: float = 42.0
    daily_amplitude_usd_per_mwh: float = 12.0
    peak_hour_local: float = 17.0
    utc_offset_hours: float = -6.0  # US Central (standard time); nodes keep a fixed offset
    volatility_usd_per_mwh: float = 8.0  # stationary s.d. of the OU deviation
    half_life_hours: float = 3.0
    spike_rate_per_day: float = 0.1
    spike_median_usd_per_mwh: float = 300.0
    spike_log_sd: float = 1.0
    spike_half_life_minutes: float = 20.0
    floor_usd_per_mwh: float = -20.0
    cap_usd_per_mwh: float = 5000.0  # ERCOT's offer cap since 2022


@dataclass(frozen=True, slots=True)
class GpuSpotConfig:
    """GPU rental spot price, $/GPU-hour: log-OU around the mean."""

    mean_usd_per_hour: float
    log_sd: float = 0.08
    half_life_hours: float = 24.0


# Hubs the demo facilities price against; any other node name gets ElectricityNodeConfig().
DEFAULT_NODES: Final[dict[str, ElectricityNodeConfig]] = {
    "HB_NORTH": ElectricityNodeConfig(mean_usd_per_mwh=40.0),
    "HB_SOUTH": ElectricityNodeConfig(mean_usd_per_mwh=38.0, volatility_usd_per_mwh=9.0),
    # West Texas: wind-heavy, cheaper on average, more volatile, more often negative at night.
    "HB_WEST": ElectricityNodeConfig(
        mean_usd_per_mwh=33.0, daily_amplitude_usd_per_mwh=14.0, volatility_usd_per_mwh=12.0
    ),
    "HB_HOUSTON": ElectricityNodeConfig(mean_usd_per_mwh=42.0),
    # MISO's Minnesota hub, the liquid reference for North Dakota sites.
    "MISO_MINN_HUB": ElectricityNodeConfig(
        mean_usd_per_mwh=32.0,
        daily_amplitude_usd_per_mwh=9.0,
        volatility_usd_per_mwh=9.0,
        spike_rate_per_day=0.05,
        spike_median_usd_per_mwh=200.0,
        cap_usd_per_mwh=3500.0,
    ),
}

DEFAULT_GPU_SPOT: Final[dict[str, GpuSpotConfig]] = {
    "H100": GpuSpotConfig(mean_usd_per_hour=2.50),  # ~$2.1-2.9 at 2 s.d.
    "A100": GpuSpotConfig(mean_usd_per_hour=1.60, log_sd=0.10),  # ~$1.3-1.95
}


@dataclass(frozen=True, slots=True)
class MarketConfig:
    btc: BtcConfig = field(default_factory=BtcConfig)
    fees: FeesConfig = field(default_factory=FeesConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    # Per-node overrides; nodes not named here use DEFAULT_NODES, then ElectricityNodeConfig().
    nodes: Mapping[str, ElectricityNodeConfig] = field(default_factory=dict)
    gpu_spot: Mapping[str, GpuSpotConfig] = field(default_factory=lambda: dict(DEFAULT_GPU_SPOT))

    def node(self, name: str) -> ElectricityNodeConfig:
        if name in self.nodes:
            return self.nodes[name]
        return DEFAULT_NODES.get(name, ElectricityNodeConfig())


# --------------------------------------------------------------------------------------------------
# Ticks


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
        ts = _format_ts(self.ts)
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


def _format_ts(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


class MarketSource(Protocol):
    """What `run` drives: the simulator or a CSV replay."""

    def current(self) -> MarketTick: ...

    def step(self, dt_s: float) -> MarketTick: ...


# --------------------------------------------------------------------------------------------------
# Simulator

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


# --------------------------------------------------------------------------------------------------
# CSV


class MarketCsvError(ValueError):
    """A market CSV that cannot be replayed; the message names the file, line and column."""


class ReplayExhausted(Exception):
    """The replay has no rows left."""


_CORE_COLUMNS: Final = ("ts", "btc_usd", "network_difficulty", "fees_btc_per_block")
_ELECTRICITY_PREFIX: Final = "electricity_usd_per_mwh:"
_GPU_PREFIX: Final = "gpu_spot_usd_per_hour:"


def write_csv(ticks: Iterable[MarketTick], path: str | Path) -> int:
    """Write ticks as a replayable CSV (floats in shortest round-trip form); returns rows written."""
    rows = list(ticks)
    if not rows:
        raise ValueError("no ticks to write")
    nodes = list(rows[0].electricity_usd_per_mwh)
    models = list(rows[0].gpu_spot_usd_per_hour)
    header = [
        *_CORE_COLUMNS,
        *(_ELECTRICITY_PREFIX + n for n in nodes),
        *(_GPU_PREFIX + m for m in models),
    ]
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for k, tick in enumerate(rows):
            if list(tick.electricity_usd_per_mwh) != nodes or list(tick.gpu_spot_usd_per_hour) != models:
                raise ValueError(
                    f"tick {k} ({_format_ts(tick.ts)}) has other nodes or GPU models than tick 0"
                )
            writer.writerow(
                [
                    _format_ts(tick.ts),
                    repr(tick.btc_usd),
                    repr(tick.network_difficulty),
                    repr(tick.fees_btc_per_block),
                    *(repr(tick.electricity_usd_per_mwh[n]) for n in nodes),
                    *(repr(tick.gpu_spot_usd_per_hour[m]) for m in models),
                ]
            )
    return len(rows)


class MarketReplay:
    """Ticks read from a market CSV, for backtests and for replaying a recorded run.

    Columns: ts (ISO 8601 with a UTC offset or Z), btc_usd, network_difficulty, fees_btc_per_block,
    then any number of `electricity_usd_per_mwh:<node>` and `gpu_spot_usd_per_hour:<model>`.
    The whole file is checked on load; errors name the line and the column.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._ticks = tuple(self._load())
        self._cursor = 0

    def _error(self, line: int, message: str) -> MarketCsvError:
        return MarketCsvError(f"{self.path}: line {line}: {message}")

    def _load(self) -> list[MarketTick]:
        try:
            fh = self.path.open(newline="", encoding="utf-8")
        except OSError as exc:
            raise MarketCsvError(f"{self.path}: cannot open: {exc.strerror or exc}") from exc
        with fh:
            reader = csv.reader(fh)
            try:
                header = next(reader, None)
                if header is None:
                    raise MarketCsvError(f"{self.path}: empty file (expected a header line)")
                nodes, models = self._parse_header(header)
                ticks: list[MarketTick] = []
                for row in reader:
                    line = reader.line_num
                    if not row or all(not cell.strip() for cell in row):
                        continue
                    ticks.append(self._parse_row(row, header, nodes, models, line, ticks))
            except csv.Error as exc:
                raise self._error(reader.line_num, f"unreadable CSV: {exc}") from exc
            except UnicodeDecodeError as exc:
                raise MarketCsvError(f"{self.path}: not UTF-8 text: {exc}") from exc
        if not ticks:
            raise MarketCsvError(f"{self.path}: no data rows after the header")
        return ticks

    def _parse_header(self, header: list[str]) -> tuple[list[str], list[str]]:
        names = [h.strip() for h in header]
        seen: set[str] = set()
        for col, name in enumerate(names, start=1):
            if name in seen:
                raise self._error(1, f"column {col} {name!r} appears twice")
            seen.add(name)
        missing = [c for c in _CORE_COLUMNS if c not in seen]
        if missing:
            raise self._error(1, f"missing column(s): {', '.join(missing)}")
        nodes: list[str] = []
        models: list[str] = []
        for col, name in enumerate(names, start=1):
            if name in _CORE_COLUMNS:
                continue
            if name.startswith(_ELECTRICITY_PREFIX) and name[len(_ELECTRICITY_PREFIX) :]:
                nodes.append(name[len(_ELECTRICITY_PREFIX) :])
            elif name.startswith(_GPU_PREFIX) and name[len(_GPU_PREFIX) :]:
                models.append(name[len(_GPU_PREFIX) :])
            else:
                raise self._error(
                    1,
                    f"column {col} {name!r} is not a market column (expected {', '.join(_CORE_COLUMNS)}, "
                    f"{_ELECTRICITY_PREFIX}<node> or {_GPU_PREFIX}<model>)",
                )
        return nodes, models

    def _parse_row(
        self,
        row: list[str],
        header: list[str],
        nodes: list[str],
        models: list[str],
        line: int,
        previous: list[MarketTick],
    ) -> MarketTick:
        if len(row) != len(header):
            raise self._error(line, f"{len(row)} fields, the header has {len(header)}")
        cells = {h.strip(): v.strip() for h, v in zip(header, row, strict=True)}

        raw_ts = cells["ts"]
        try:
            ts = datetime.fromisoformat(raw_ts)
        except ValueError:
            raise self._error(line, f"column 'ts': {raw_ts!r} is not an ISO 8601 timestamp") from None
        if ts.tzinfo is None:
            raise self._error(line, f"column 'ts': {raw_ts!r} has no UTC offset (append 'Z' for UTC)")
        ts = ts.astimezone(UTC)
        if previous and ts <= previous[-1].ts:
            raise self._error(line, f"column 'ts': {raw_ts!r} is not after the previous row's timestamp")

        def number(column: str, *, minimum: float | None = None, strict: bool = False) -> float:
            raw = cells[column]
            try:
                value = float(raw)
            except ValueError:
                raise self._error(line, f"column {column!r}: {raw!r} is not a number") from None
            if not math.isfinite(value):
                raise self._error(line, f"column {column!r}: {raw!r} is not a finite number")
            if minimum is not None and (value <= minimum if strict else value < minimum):
                bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
                raise self._error(line, f"column {column!r}: {raw!r} must be {bound}")
            return value

        return MarketTick.from_prices(
            ts=ts,
            btc_usd=number("btc_usd", minimum=0.0, strict=True),
            network_difficulty=number("network_difficulty", minimum=0.0, strict=True),
            fees_btc_per_block=number("fees_btc_per_block", minimum=0.0),
            electricity_usd_per_mwh={n: number(_ELECTRICITY_PREFIX + n) for n in nodes},
            gpu_spot_usd_per_hour={m: number(_GPU_PREFIX + m, minimum=0.0) for m in models},
        )

    # ---------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------
# Driver


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
