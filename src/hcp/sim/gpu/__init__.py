"""Simulated NVIDIA data-center GPUs: the fleet (`fleet`), its workloads, faults and switching.

The GPU catalogue (each model's figures) is `hcp.kernel.gpus`, shared with the drivers.
"""

from hcp.sim.gpu.faults import (
    GpuError,
    GpuFault,
    GpuFaulted,
    GpuUnavailable,
    SwitchAborted,
    SwitchInProgress,
)
from hcp.sim.gpu.fleet import DCGM_FIELDS, GpuFleet
from hcp.sim.gpu.switching import PHASES, SWITCH_MAX_MS, SWITCH_MIN_MS, SwitchPhase, SwitchRecord
from hcp.sim.gpu.workloads import WORKLOAD_PROFILES, WorkloadProfile, WorkloadType

__all__ = [
    "DCGM_FIELDS",
    "PHASES",
    "SWITCH_MAX_MS",
    "SWITCH_MIN_MS",
    "WORKLOAD_PROFILES",
    "GpuError",
    "GpuFault",
    "GpuFaulted",
    "GpuFleet",
    "GpuUnavailable",
    "SwitchAborted",
    "SwitchInProgress",
    "SwitchPhase",
    "SwitchRecord",
    "WorkloadProfile",
    "WorkloadType",
]
