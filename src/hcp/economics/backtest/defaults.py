"""The backtest's shared vocabulary: the array types, the strategies' names, the shipped sample,
and the defaults and limits of what a switch costs and how much one run may hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Strategy = Literal["hybrid", "mine-always", "ai-first", "price-threshold"]
STRATEGIES: Final[tuple[Strategy, ...]] = ("hybrid", "mine-always", "ai-first", "price-threshold")

DATA_DIR: Final = Path(__file__).parent.with_name("data")
SAMPLE_PRICES: Final = DATA_DIR / "sample-prices-SYNTHETIC-2026-5min.csv.gz"
SAMPLE_FLEET: Final = DATA_DIR / "sample-fleet.yaml"
SAMPLE_SEED: Final = 2026
SAMPLE_START: Final = datetime(2026, 1, 1, tzinfo=UTC)
SAMPLE_FACILITIES: Final = (("tx-north", "HB_NORTH"), ("tx-south", "HB_WEST"), ("nd-ellendale", "MISO_MINN_HUB"))

CHUNK_STEPS: Final = 16_384  # steps decided at once: bounds memory and paces the progress bar
CAP_TOLERANCE_W: Final = 1e-6
TOLERANCE: Final = 1e-3  # hybrid's fast path proves each step within 0.1% of the optimum, or defers
MAX_UNITS: Final = 1_000_000
# What a switch costs, by default: an ASIC's start-up ramp (as `ResourcesSettings.mining_ramp_s`),
# a GPU's change of role (save, clear, load, init), and how far ahead hybrid weighs a change
# against the switches it adds (the live planner's `EconomicsSettings.min_dwell_s`).
ASIC_RAMP_S: Final = 600.0
GPU_SWITCH_S: Final = 0.5
MIN_DWELL_S: Final = 900.0
MAX_ASIC_RAMP_S: Final = 86_400.0
MAX_GPU_SWITCH_S: Final = 3_600.0
MAX_MIN_DWELL_S: Final = 86_400.0

Progress = Callable[[str, int, int], None]  # (strategy, steps done, steps of this strategy)
