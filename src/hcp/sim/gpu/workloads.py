"""The workloads a simulated GPU runs, and how each type loads it (utilisation, power, memory)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class WorkloadType(StrEnum):
    AI_INFERENCE = "ai_inference"
    AI_TRAINING = "ai_training"
    BATCH = "batch"


@dataclass(frozen=True, slots=True)
class WorkloadProfile:
    """How a workload type loads a GPU: utilisation process, memory-copy share, power, memory."""

    util_mean_pct: float
    util_sd_pct: float
    util_min_pct: float
    util_max_pct: float
    # Smoothing time of utilisation: short = bursty (request-driven inference), long = steady.
    util_tau_s: float
    mem_copy_per_util: float
    # Share of the model's dynamic power range drawn at 100 % utilisation.
    power_factor: float
    fb_fraction_min: float
    fb_fraction_max: float


WORKLOAD_PROFILES: Final[dict[WorkloadType, WorkloadProfile]] = {
    # Request-driven: bursts between 40 and 90 %; memory-bound decode keeps HBM busy; weights plus a
    # pre-allocated KV cache take most of the memory (vLLM reserves 90 % by default).
    WorkloadType.AI_INFERENCE: WorkloadProfile(65.0, 25.0, 40.0, 90.0, 2.0, 0.55, 0.85, 0.55, 0.90),
    # Synchronous data-parallel steps: pinned near 95 %, memory nearly full (weights, grads, optimiser).
    WorkloadType.AI_TRAINING: WorkloadProfile(95.0, 2.0, 88.0, 100.0, 10.0, 0.40, 0.97, 0.85, 0.97),
    WorkloadType.BATCH: WorkloadProfile(85.0, 6.0, 70.0, 95.0, 5.0, 0.35, 0.90, 0.40, 0.80),
}
WORKLOAD_TYPES: Final[tuple[WorkloadType, ...]] = tuple(WORKLOAD_PROFILES)


def infer_workload_type(workload: str) -> WorkloadType:
    lowered = workload.lower()
    if "train" in lowered:
        return WorkloadType.AI_TRAINING
    if "batch" in lowered:
        return WorkloadType.BATCH
    # Serving is what most rented GPU-hours do; an unnamed workload is treated as inference.
    return WorkloadType.AI_INFERENCE
