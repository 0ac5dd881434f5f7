"""Switching a GPU between workloads: its four phases, how long each takes, and the record of a switch.

A switch saves the old workload's state, clears memory, loads and initializes the new one; the
total is drawn within 350-480 ms, because the orchestrator's latency budget (< 500 ms) is what the
platform promises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, Final

import numpy as np


class SwitchPhase(IntEnum):
    NONE = 0
    SAVE_STATE = 1
    CLEAR_MEMORY = 2
    LOAD = 3
    INITIALIZE = 4


PHASES: Final[tuple[str, ...]] = ("save_state", "clear_memory", "load", "initialize")
SWITCH_PHASES: Final = (
    SwitchPhase.SAVE_STATE,
    SwitchPhase.CLEAR_MEMORY,
    SwitchPhase.LOAD,
    SwitchPhase.INITIALIZE,
)
PHASE_NOMINAL_MS: Final[tuple[float, ...]] = (50.0, 80.0, 120.0, 150.0)
SWITCH_MIN_MS: Final = 350.0
SWITCH_MAX_MS: Final = 480.0
# Per-phase lognormal spread; with it the 400 ms total has a ~26 ms standard deviation.
_PHASE_LOG_SD: Final = 0.12
# Totals are accepted inside a margin so that quantisation (at most 4 x 1/16 ms) stays in range.
_ACCEPT_MIN_MS: Final = SWITCH_MIN_MS + 1.0
_ACCEPT_MAX_MS: Final = SWITCH_MAX_MS - 1.0
_MAX_REDRAWS: Final = 16
# Phases are quantised to 1/8 ms: binary-exact, so the four phases sum to latency_ms exactly,
# in any order and in any language that reads the JSON.
_QUANTUM_PER_MS: Final = 8.0

# What the GPU does during each phase (index = SwitchPhase): utilisation %, memory-copy %, and the
# share of the dynamic power range drawn.
PHASE_UTIL_PCT: Final = np.array([0.0, 15.0, 5.0, 10.0, 55.0])
PHASE_MEM_COPY_PCT: Final = np.array([0.0, 70.0, 40.0, 90.0, 30.0])
PHASE_POWER_FACTOR: Final = np.array([0.0, 0.35, 0.15, 0.30, 0.60])


@dataclass(frozen=True, slots=True)
class SwitchRecord:
    """One completed switch of one GPU, as the orchestrator reports it."""

    unit_id: str
    index: int
    from_workload: str | None
    to_workload: str | None
    workload_type: str | None
    phases: dict[str, float]
    latency_ms: float
    started_at: float  # clock seconds since the epoch
    finished_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit_id": self.unit_id,
            "index": self.index,
            "from": self.from_workload,
            "to": self.to_workload,
            "workload_type": self.workload_type,
            "phases": dict(self.phases),
            "latency_ms": self.latency_ms,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
        }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def draw_phases_ms(rng: np.random.Generator) -> tuple[float, float, float, float]:
    """The four phase durations of one switch, in ms: their total lies within 350-480 ms."""
    nominal = np.array(PHASE_NOMINAL_MS)
    # Lognormal per phase with mean at the nominal value; totals outside the band are redrawn
    # (a truncated distribution, no pile-up at the bounds), with clip-and-rescale as a backstop.
    for _ in range(_MAX_REDRAWS):
        draws = nominal * np.exp(
            _PHASE_LOG_SD * rng.standard_normal(4) - _PHASE_LOG_SD**2 / 2
        )
        total = float(draws.sum())
        if _ACCEPT_MIN_MS <= total <= _ACCEPT_MAX_MS:
            break
    else:
        draws = draws * (min(max(total, _ACCEPT_MIN_MS), _ACCEPT_MAX_MS) / total)
    quantised = np.round(draws * _QUANTUM_PER_MS) / _QUANTUM_PER_MS
    a, b, c, d = (float(x) for x in quantised)
    return a, b, c, d


def latency_stats(records: Sequence[SwitchRecord]) -> dict[str, float | int | None]:
    """count, min, p50, p95, p99 and max of latency_ms over `records`."""
    if not records:
        return {"count": 0, "min_ms": None, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    latency = np.fromiter((r.latency_ms for r in records), dtype=np.float64, count=len(records))
    p50, p95, p99 = np.percentile(latency, [50.0, 95.0, 99.0])
    return {
        "count": int(latency.size),
        "min_ms": round(float(latency.min()), 3),
        "p50_ms": round(float(p50), 3),
        "p95_ms": round(float(p95), 3),
        "p99_ms": round(float(p99), 3),
        "max_ms": round(float(latency.max()), 3),
    }
