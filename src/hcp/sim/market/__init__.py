"""Market data for the digital twin: BTC, difficulty, fees, electricity and GPU spot prices.

Why a simulator: the optimiser decides between mining, AI work and curtailment from these prices,
so it must be exercised against markets that move the way real ones do (mean reversion, jumps,
afternoon peaks, rare $5,000/MWh spikes, difficulty epochs) and, for backtests, replayed exactly:
a CSV written from a run (`hcp.kernel.prices`) replays into identical ticks.
"""

from hcp.sim.market.config import (
    DEFAULT_GPU_SPOT,
    DEFAULT_NODES,
    BtcConfig,
    ElectricityNodeConfig,
    FeesConfig,
    GpuSpotConfig,
    MarketConfig,
    NetworkConfig,
)
from hcp.sim.market.replay import MarketReplay
from hcp.sim.market.simulator import RETARGET_INTERVAL_BLOCKS, MarketSimulator
from hcp.sim.market.tick import MarketSource, MarketTick, ReplayExhausted, run

__all__ = [
    "DEFAULT_GPU_SPOT",
    "DEFAULT_NODES",
    "RETARGET_INTERVAL_BLOCKS",
    "BtcConfig",
    "ElectricityNodeConfig",
    "FeesConfig",
    "GpuSpotConfig",
    "MarketConfig",
    "MarketReplay",
    "MarketSimulator",
    "MarketSource",
    "MarketTick",
    "NetworkConfig",
    "ReplayExhausted",
    "run",
]
