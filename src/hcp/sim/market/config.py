"""How the simulated markets behave: one frozen configuration per process, and the defaults.

BTC and fees are log-OU processes, the network's difficulty follows its epochs, each electricity
node has a daily shape with spikes, and GPU spot prices revert to a mean per model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final


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
