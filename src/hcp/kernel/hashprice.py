"""Hashprice and the economics of one unit: what a TH/s earns, what a watt costs, break-even.

Hashprice ($/TH/day) = (block subsidy + fees per block) x 144 blocks x BTC price / network
hashrate in TH/s, with network hashrate = difficulty x 2^32 / 600 s (REFERENCE.md).
"""

from __future__ import annotations

from typing import Final

BLOCK_SUBSIDY_BTC: Final = 3.125  # since the April 2024 halving
BLOCKS_PER_DAY: Final = 144
TARGET_BLOCK_TIME_S: Final = 600.0
HASHES_PER_DIFFICULTY: Final = 2.0**32


def network_hashrate_ths(difficulty: float) -> float:
    """Network hashrate implied by a difficulty, in TH/s: difficulty x 2^32 / 600 s / 1e12."""
    return difficulty * HASHES_PER_DIFFICULTY / TARGET_BLOCK_TIME_S / 1e12


def hashprice_usd_per_th_day(
    btc_usd: float, difficulty: float, fees_btc_per_block: float, subsidy_btc: float = BLOCK_SUBSIDY_BTC
) -> float:
    """Expected USD earned per TH/s per day (Luxor's Hashrate Index definition)."""
    if not difficulty > 0:
        raise ValueError(f"difficulty must be positive, got {difficulty!r}")
    return (subsidy_btc + fees_btc_per_block) * BLOCKS_PER_DAY * btc_usd / network_hashrate_ths(difficulty)


def mining_revenue_usd_per_hour(hashrate_ths: float, hashprice: float) -> float:
    return hashrate_ths * hashprice / 24.0


def energy_cost_usd_per_hour(power_w: float, electricity_usd_per_mwh: float) -> float:
    return power_w * electricity_usd_per_mwh / 1e6


def break_even_usd_per_mwh(*, hashrate_ths: float, power_w: float, hashprice: float) -> float:
    """Electricity price at which mining revenue equals energy cost.

    An S21 (17.5 J/TH) at $38/PH/day: 38 x 1000 / (17.5 x 24) = ~$90/MWh.
    """
    if power_w <= 0:
        raise ValueError("power_w must be positive")
    return mining_revenue_usd_per_hour(hashrate_ths, hashprice) * 1e6 / power_w
