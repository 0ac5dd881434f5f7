"""Simulated GPUs of the in-process digital twin, as a driver.

Addresses are `sim://<unit id>` (`sim://gpu-001`). Switches go through `HybridSimulator.switch`,
so the twin keeps one record of every switch (its history, latency histogram and `switch.done`
events) whoever asked for it. Simulated ASICs are not served here: they speak the CGMiner API on
their own addresses and are reached with the `cgminer` driver, exactly like real miners.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from hcp.drivers.base import (
    Capability,
    CommandFailed,
    Driver,
    Reading,
    UnitIdentity,
    UnitRef,
    UnitUnreachable,
    Unsupported,
)
from hcp.kernel.gpus import GPU_MODELS
from hcp.sim.gpu import GpuError
from hcp.sim.hybrid import HybridSimulator, UnknownUnit

SCHEME = "sim://"
GPU_CAPABILITIES = Capability.TELEMETRY | Capability.IDENTIFY | Capability.WORKLOADS | Capability.POWER_TARGET

# DCGM exporter field -> the platform's metric name.
DCGM_METRICS: dict[str, str] = {
    "DCGM_FI_DEV_GPU_UTIL": "util_pct",
    "DCGM_FI_DEV_MEM_COPY_UTIL": "mem_copy_util_pct",
    "DCGM_FI_DEV_POWER_USAGE": "power_w",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": "energy_mj",
    "DCGM_FI_DEV_GPU_TEMP": "temp_c",
    "DCGM_FI_DEV_MEMORY_TEMP": "mem_temp_c",
    "DCGM_FI_DEV_FB_USED": "mem_used_mib",
    "DCGM_FI_DEV_FB_FREE": "mem_free_mib",
    "DCGM_FI_DEV_SM_CLOCK": "sm_clock_mhz",
    "DCGM_FI_DEV_MEM_CLOCK": "mem_clock_mhz",
    "DCGM_FI_DEV_XID_ERRORS": "xid",
    "DCGM_FI_DEV_POWER_MGMT_LIMIT": "power_limit_w",
}


def address_of(unit_id: str) -> str:
    return f"{SCHEME}{unit_id}"


def dcgm_metrics(fields: Mapping[str, float | int]) -> dict[str, float]:
    """DCGM-named readings as the platform's metrics (NaN, a unit off the bus, dropped)."""
    out: dict[str, float] = {}
    for dcgm, name in DCGM_METRICS.items():
        value = fields.get(dcgm)
        if value is not None and not math.isnan(float(value)):
            out[name] = float(value)
    return out


class SimDriver(Driver):
    name = "sim"

    def __init__(self, simulator: Callable[[], HybridSimulator | None]) -> None:
        # A callable, because the simulator of a process starts after the resource manager.
        self._simulator = simulator
        self._phases: dict[str, dict[str, float]] = {}

    def _sim(self) -> HybridSimulator:
        sim = self._simulator()
        if sim is None:
            raise UnitUnreachable("the simulator is not running in this process")
        return sim

    def _unit_id(self, address: str) -> str:
        if not address.startswith(SCHEME):
            raise UnitUnreachable(f"{address!r} is not a simulator address (sim://<unit id>)")
        return address[len(SCHEME):]

    def _gpu(self, unit: UnitRef) -> tuple[HybridSimulator, str]:
        sim, uid = self._sim(), self._unit_id(unit.address)
        try:
            kind = sim.unit(uid).kind
        except UnknownUnit:
            raise UnitUnreachable(f"the simulator has no unit {uid}") from None
        if kind != "gpu":
            raise Unsupported(f"{uid} is a simulated ASIC: reach it over the CGMiner API (cgminer driver)")
        return sim, uid

    def capabilities(self, unit: UnitRef) -> Capability:
        return GPU_CAPABILITIES

    def gpu_addresses(self) -> list[str]:
        sim = self._simulator()
        if sim is None:
            return []
        return [address_of(uid) for uid, u in sim.units.items() if u.kind == "gpu"]

    async def identify(self, address: str, *, options: Mapping[str, Any] | None = None) -> UnitIdentity | None:
        try:
            sim, uid = self._gpu(UnitRef(id=address, address=address))
        except (UnitUnreachable, Unsupported):
            return None
        model = sim.unit(uid).model
        spec = GPU_MODELS[model]
        return UnitIdentity(
            kind="gpu", model=model, address=address, driver=self.name, serial=f"SIM-{uid}",
            hostname=uid, firmware="sim", memory_mib=spec.fb_total_mib, power_w=spec.tdp_w,
            capabilities=GPU_CAPABILITIES,
        )

    async def read_telemetry(self, unit: UnitRef) -> Reading:
        sim, uid = self._gpu(unit)
        state = sim.describe(uid)
        if state["telemetry"] is None:
            raise UnitUnreachable(f"{uid} has fallen off the bus")
        return Reading(
            metrics=dcgm_metrics(state["telemetry"]),
            mode="workload" if state["workload"] else "idle",
            switching=state["status"] == "switching",
            errors=tuple(state["faults"]),
            workload_id=state["workload"],
        )

    async def load_workload(self, unit: UnitRef, workload_id: str, *, workload_type: str | None = None) -> float:
        sim, uid = self._gpu(unit)
        try:
            record = await sim.switch(uid, workload_id, workload_type=workload_type)
        except GpuError as exc:
            raise CommandFailed(str(exc)) from None
        self._phases[unit.id] = dict(record.phases)
        return record.latency_ms

    async def unload_workload(self, unit: UnitRef) -> float:
        sim, uid = self._gpu(unit)
        try:
            record = await sim.switch(uid, None)
        except GpuError as exc:
            raise CommandFailed(str(exc)) from None
        self._phases[unit.id] = dict(record.phases)
        return record.latency_ms

    def switch_phases(self, unit: UnitRef) -> dict[str, float] | None:
        return self._phases.get(unit.id)

    async def set_power_target(self, unit: UnitRef, watts: float) -> float:
        sim, uid = self._gpu(unit)
        assert sim.gpu is not None
        index = sim.unit(uid).index
        try:
            sim.gpu.set_power_limit(index, float(watts))
        except ValueError as exc:
            raise CommandFailed(str(exc)) from None
        return float(sim.gpu.power_limit_w[index])
