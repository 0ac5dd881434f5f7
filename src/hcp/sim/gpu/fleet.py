"""Simulated NVIDIA data-center GPUs, a whole fleet in numpy arrays.

Why a vectorised twin: the control plane must be exercised against fleets far larger than the demo
(tens of thousands of GPUs) without a Python loop per unit, and its telemetry must look exactly like
what NVIDIA's DCGM exporter publishes, so that the same readers work against real hardware.
Switching a GPU between workloads takes real (clock) time, phase by phase (`switching`).

Everything random comes from seeded PCG64 streams: the same seed and the same sequence of calls give
byte-identical arrays.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from hcp.core.clock import Clock
from hcp.kernel.gpus import GPU_MODELS, resolve_model
from hcp.sim.gpu.faults import (
    THERMAL_FAULT_RESISTANCE_FACTOR,
    THROTTLE_MEM_CLOCK_RATIO,
    THROTTLE_SM_CLOCK_RATIO,
    XID_DEFAULT,
    XID_FALLEN_OFF_BUS,
    FaultCode,
    GpuFault,
    GpuFaulted,
    GpuUnavailable,
    SwitchAborted,
    SwitchInProgress,
)
from hcp.sim.gpu.switching import (
    PHASE_MEM_COPY_PCT,
    PHASE_POWER_FACTOR,
    PHASE_UTIL_PCT,
    PHASES,
    SWITCH_PHASES,
    SwitchPhase,
    SwitchRecord,
    draw_phases_ms,
    latency_stats,
)
from hcp.sim.gpu.workloads import WORKLOAD_PROFILES, WORKLOAD_TYPES, WorkloadType, infer_workload_type

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# DCGM exporter field names, in the order telemetry() returns them. XID_ERRORS is, as in DCGM,
# the value of the last XID seen (0 = none), not a count; the count is `xid_count`.
DCGM_FIELDS: Final[tuple[str, ...]] = (
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_MEM_COPY_UTIL",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_MEMORY_TEMP",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_SM_CLOCK",
    "DCGM_FI_DEV_MEM_CLOCK",
    "DCGM_FI_DEV_XID_ERRORS",
    "DCGM_FI_DEV_POWER_MGMT_LIMIT",
)

_STREAM_INIT: Final = 0
_STREAM_TICK: Final = 1
_STREAM_SWITCH: Final = 2


def _generator(seed: int, stream: int) -> np.random.Generator:
    # Independent streams, so that switches drawn between ticks do not shift the tick noise.
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(stream,))))


# --------------------------------------------------------------------------------------------------
# The fleet


class GpuFleet:
    """A fleet of simulated GPUs; unit `i` is row `i` of every array.

    The arrays are public for fast reads (dashboards, the optimiser); change state only through the
    methods. Times are seconds, power watts, energy millijoules, memory MiB, clocks MHz.
    """

    def __init__(
        self,
        models: Sequence[str] | npt.NDArray[Any],
        *,
        seed: int,
        ambient_c: float | Sequence[float] | FloatArray = 25.0,
        unit_ids: Sequence[str] | None = None,
        history_size: int = 10_000,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        names = [resolve_model(m) for m in list(models)]
        n = len(names)
        if n == 0:
            raise ValueError("a fleet needs at least one GPU")
        self.n_units: Final = n
        self.seed: Final = int(seed)
        self.model_names: tuple[str, ...] = tuple(GPU_MODELS)
        if unit_ids is None:
            width = max(4, len(str(n - 1)))
            self.unit_ids: tuple[str, ...] = tuple(f"gpu-{i:0{width}d}" for i in range(n))
        else:
            self.unit_ids = tuple(str(u) for u in unit_ids)
            if len(self.unit_ids) != n:
                raise ValueError(f"{len(self.unit_ids)} unit ids for {n} GPUs")
            if len(set(self.unit_ids)) != n:
                raise ValueError("unit ids must be unique")
        self._index_by_id = {u: i for i, u in enumerate(self.unit_ids)}

        init_rng = _generator(self.seed, _STREAM_INIT)
        self._tick_rng = _generator(self.seed, _STREAM_TICK)
        self._switch_rng = _generator(self.seed, _STREAM_SWITCH)

        code_of = {name: k for k, name in enumerate(self.model_names)}
        self.model_code: npt.NDArray[np.int8] = np.array([code_of[m] for m in names], dtype=np.int8)
        specs = [GPU_MODELS[m] for m in self.model_names]

        def per_unit(attr: str) -> FloatArray:
            table = np.array([float(getattr(s, attr)) for s in specs])
            return table[self.model_code]

        self.tdp_w = per_unit("tdp_w")
        self.min_power_limit_w = per_unit("min_power_limit_w")
        self.fb_total_mib: IntArray = per_unit("fb_total_mib").astype(np.int64)
        self._sm_clock_max_mhz = per_unit("sm_clock_max_mhz")
        self._sm_clock_idle_mhz = per_unit("sm_clock_idle_mhz")
        self._mem_clock_max_mhz = per_unit("mem_clock_max_mhz")
        self._mem_clock_idle_mhz = per_unit("mem_clock_idle_mhz")
        self._slowdown_temp_c = per_unit("slowdown_temp_c")
        self._gpu_tau_s = per_unit("gpu_thermal_tau_s")
        self._mem_tau_s = per_unit("mem_thermal_tau_s")

        # Unit-to-unit spread, fixed at manufacture: idle draw and cooling quality.
        idle_lo, idle_hi = per_unit("idle_power_min_w"), per_unit("idle_power_max_w")
        self.idle_power_w: FloatArray = idle_lo + (idle_hi - idle_lo) * init_rng.random(n)
        cooling_spread = np.clip(1.0 + 0.05 * init_rng.standard_normal(n), 0.85, 1.15)
        self._gpu_c_per_w = per_unit("gpu_thermal_c_per_w") * cooling_spread
        self._mem_c_per_w = per_unit("mem_thermal_c_per_w") * cooling_spread

        ambient = np.broadcast_to(np.asarray(ambient_c, dtype=np.float64), (n,)).copy()
        if not np.all(np.isfinite(ambient)):
            raise ValueError("ambient_c must be finite")
        self.ambient_c: FloatArray = ambient

        # Dynamic state.
        self.workload_id: npt.NDArray[np.object_] = np.full(n, None, dtype=object)
        # Index into `workload_types`; -1 = no workload.
        self.workload_types: tuple[WorkloadType, ...] = WORKLOAD_TYPES
        self.workload_type_code: npt.NDArray[np.int8] = np.full(n, -1, dtype=np.int8)
        self.util_pct: FloatArray = np.zeros(n)
        self.mem_copy_util_pct: FloatArray = np.zeros(n)
        self.power_w: FloatArray = self.idle_power_w.copy()
        self.power_limit_w: FloatArray = self.tdp_w.copy()
        self.energy_mj: FloatArray = np.zeros(n)
        self.gpu_temp_c: FloatArray = self.ambient_c + self._gpu_c_per_w * self.power_w
        self.mem_temp_c: FloatArray = self.ambient_c + self._mem_c_per_w * self.power_w
        self.fb_used_mib: IntArray = np.zeros(n, dtype=np.int64)
        self.sm_clock_mhz: FloatArray = self._sm_clock_idle_mhz.copy()
        self.mem_clock_mhz: FloatArray = self._mem_clock_idle_mhz.copy()
        self.xid_count: IntArray = np.zeros(n, dtype=np.int64)
        self.last_xid: IntArray = np.zeros(n, dtype=np.int64)
        self.thermal_fault: BoolArray = np.zeros(n, dtype=bool)
        self.xid_fault: BoolArray = np.zeros(n, dtype=bool)
        self.off_bus: BoolArray = np.zeros(n, dtype=bool)
        self.workload_failed: BoolArray = np.zeros(n, dtype=bool)
        self.throttled: BoolArray = np.zeros(n, dtype=bool)
        self.switching: BoolArray = np.zeros(n, dtype=bool)
        self.switch_phase: npt.NDArray[np.int8] = np.zeros(n, dtype=np.int8)
        # Bumped by every fault injection so that a switch in flight notices a fault, even a cleared one.
        self._fault_epoch: IntArray = np.zeros(n, dtype=np.int64)
        self.sim_time_s = 0.0

        self._history: deque[SwitchRecord] = deque(maxlen=history_size)
        self.switch_count_total = 0

        profiles = [WORKLOAD_PROFILES[t] for t in WORKLOAD_TYPES]
        self._prof_util_mean = np.array([p.util_mean_pct for p in profiles])
        self._prof_util_sd = np.array([p.util_sd_pct for p in profiles])
        self._prof_util_min = np.array([p.util_min_pct for p in profiles])
        self._prof_util_max = np.array([p.util_max_pct for p in profiles])
        self._prof_util_tau = np.array([p.util_tau_s for p in profiles])
        self._prof_mem_copy = np.array([p.mem_copy_per_util for p in profiles])
        self._prof_power = np.array([p.power_factor for p in profiles])

    # ---------------------------------------------------------------------------------------------
    # Lookups

    def __len__(self) -> int:
        return self.n_units

    def index_of(self, unit_id: str) -> int:
        try:
            return self._index_by_id[unit_id]
        except KeyError:
            raise KeyError(f"no GPU with id {unit_id!r}") from None

    def model(self, i: int) -> str:
        return self.model_names[int(self.model_code[self._check_index(i)])]

    def _check_index(self, i: int) -> int:
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise TypeError(f"GPU index must be an int, got {type(i).__name__}")
        if not 0 <= i < self.n_units:
            raise IndexError(f"GPU index {i} out of range 0..{self.n_units - 1}")
        return int(i)

    @property
    def fb_free_mib(self) -> IntArray:
        return self.fb_total_mib - self.fb_used_mib

    @property
    def fault_code(self) -> npt.NDArray[np.int8]:
        """Most severe fault per unit: 0 none, 1 thermal throttle, 2 XID error, 3 off the bus."""
        code = np.zeros(self.n_units, dtype=np.int8)
        code[self.thermal_fault] = FaultCode.THERMAL_THROTTLE
        code[self.xid_fault] = FaultCode.XID_ERROR
        code[self.off_bus] = FaultCode.FALLEN_OFF_BUS
        return code

    def faults(self, i: int) -> frozenset[GpuFault]:
        i = self._check_index(i)
        present = set()
        if self.thermal_fault[i]:
            present.add(GpuFault.THERMAL_THROTTLE)
        if self.xid_fault[i]:
            present.add(GpuFault.XID_ERROR)
        if self.off_bus[i]:
            present.add(GpuFault.FALLEN_OFF_BUS)
        return frozenset(present)

    def available(self) -> BoolArray:
        """Units that answer telemetry (not off the bus)."""
        return ~self.off_bus

    # ---------------------------------------------------------------------------------------------
    # Time

    def tick(self, dt_s: float) -> None:
        """Advance every unit by `dt_s` seconds: utilisation, power, energy, temperatures, clocks."""
        if not (math.isfinite(dt_s) and dt_s > 0):
            raise ValueError(f"dt_s must be a positive finite number, got {dt_s!r}")
        n = self.n_units
        # Always the same draws, whatever the state, so the stream position depends on calls only.
        z = self._tick_rng.standard_normal((3, n))

        wt = self.workload_type_code
        k = np.where(wt >= 0, wt, 0)
        healthy = ~(self.xid_fault | self.off_bus)
        running = (wt >= 0) & ~self.switching & healthy
        in_switch = self.switching & healthy

        # Utilisation relaxes toward a noisy target clipped to the profile's band; as each step is a
        # convex combination of values inside the band, utilisation never leaves it.
        target = np.clip(
            self._prof_util_mean[k] + self._prof_util_sd[k] * z[0],
            self._prof_util_min[k],
            self._prof_util_max[k],
        )
        alpha = -np.expm1(-dt_s / self._prof_util_tau[k])
        util_running = self.util_pct + alpha * (target - self.util_pct)
        phase = self.switch_phase
        util_phase = np.clip(PHASE_UTIL_PCT[phase] + 2.0 * z[0], 0.0, 100.0)
        util = np.where(running, util_running, np.where(in_switch, util_phase, 0.0))

        mem_copy_running = np.clip(util * self._prof_mem_copy[k] + 3.0 * z[1], 0.0, 100.0)
        mem_copy_phase = np.clip(PHASE_MEM_COPY_PCT[phase] + 3.0 * z[1], 0.0, 100.0)
        mem_copy = np.where(running, mem_copy_running, np.where(in_switch, mem_copy_phase, 0.0))

        # Throttling is decided on the temperature reached so far, as the GPU's own controller does.
        throttled = self.thermal_fault | (self.gpu_temp_c >= self._slowdown_temp_c)
        thermal_ratio = np.where(throttled, THROTTLE_SM_CLOCK_RATIO, 1.0)
        power_factor = np.where(
            running, self._prof_power[k], np.where(in_switch, PHASE_POWER_FACTOR[phase], 0.0)
        )
        dyn_demand_w = (self.tdp_w - self.idle_power_w) * (util / 100.0) * power_factor * thermal_ratio
        dyn_allowed_w = np.maximum(self.power_limit_w - self.idle_power_w, 0.0)
        cap_ratio = np.minimum(1.0, dyn_allowed_w / np.maximum(dyn_demand_w, 1e-9))
        active = util > 0.5
        noise_w = np.where(active, 0.01 * self.tdp_w, 0.5) * z[2]
        power = np.clip(
            self.idle_power_w + dyn_demand_w * cap_ratio + noise_w,
            0.9 * self.idle_power_w,
            self.power_limit_w,
        )
        # Dynamic power goes roughly with f * V^2 and V with f, so a power cap costs the cube root
        # of its power ratio in clock.
        clock_ratio = thermal_ratio * np.cbrt(cap_ratio)
        self.sm_clock_mhz = np.where(active, self._sm_clock_max_mhz * clock_ratio, self._sm_clock_idle_mhz)
        mem_clock = np.where(active, self._mem_clock_max_mhz, self._mem_clock_idle_mhz)
        self.mem_clock_mhz = np.where(throttled, mem_clock * THROTTLE_MEM_CLOCK_RATIO, mem_clock)

        # First-order thermal lag toward ambient + R * P, integrated exactly over the step.
        resistance = np.where(self.thermal_fault, THERMAL_FAULT_RESISTANCE_FACTOR, 1.0)
        gpu_target = self.ambient_c + self._gpu_c_per_w * resistance * power
        mem_target = self.ambient_c + self._mem_c_per_w * resistance * power
        self.gpu_temp_c = self.gpu_temp_c + (-np.expm1(-dt_s / self._gpu_tau_s)) * (
            gpu_target - self.gpu_temp_c
        )
        self.mem_temp_c = self.mem_temp_c + (-np.expm1(-dt_s / self._mem_tau_s)) * (
            mem_target - self.mem_temp_c
        )

        self.util_pct = util
        self.mem_copy_util_pct = mem_copy
        self.power_w = power
        self.throttled = throttled
        # Power is never negative, so the counter only grows.
        self.energy_mj = self.energy_mj + power * (dt_s * 1000.0)
        self.sim_time_s += dt_s

    # ---------------------------------------------------------------------------------------------
    # Telemetry

    def telemetry(self, i: int) -> dict[str, float | int]:
        """One unit's readings, named and scaled as NVIDIA's DCGM exporter publishes them."""
        i = self._check_index(i)
        if self.off_bus[i]:
            raise GpuUnavailable(
                f"GPU {self.unit_ids[i]} has fallen off the bus (XID {XID_FALLEN_OFF_BUS}); "
                "it reports nothing until reset"
            )
        return {
            "DCGM_FI_DEV_GPU_UTIL": round(float(self.util_pct[i])),
            "DCGM_FI_DEV_MEM_COPY_UTIL": round(float(self.mem_copy_util_pct[i])),
            "DCGM_FI_DEV_POWER_USAGE": round(float(self.power_w[i]), 3),
            "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": int(self.energy_mj[i]),
            "DCGM_FI_DEV_GPU_TEMP": round(float(self.gpu_temp_c[i])),
            "DCGM_FI_DEV_MEMORY_TEMP": round(float(self.mem_temp_c[i])),
            "DCGM_FI_DEV_FB_USED": int(self.fb_used_mib[i]),
            "DCGM_FI_DEV_FB_FREE": int(self.fb_total_mib[i] - self.fb_used_mib[i]),
            "DCGM_FI_DEV_SM_CLOCK": round(float(self.sm_clock_mhz[i])),
            "DCGM_FI_DEV_MEM_CLOCK": round(float(self.mem_clock_mhz[i])),
            "DCGM_FI_DEV_XID_ERRORS": int(self.last_xid[i]),
            "DCGM_FI_DEV_POWER_MGMT_LIMIT": round(float(self.power_limit_w[i]), 3),
        }

    def telemetry_arrays(self) -> dict[str, FloatArray]:
        """The whole fleet's DCGM readings as float64 arrays; NaN where a unit is off the bus.

        Values are scaled and rounded as in `telemetry(i)`, so row i equals telemetry(i).
        """
        out = {
            "DCGM_FI_DEV_GPU_UTIL": np.rint(self.util_pct),
            "DCGM_FI_DEV_MEM_COPY_UTIL": np.rint(self.mem_copy_util_pct),
            "DCGM_FI_DEV_POWER_USAGE": np.round(self.power_w, 3),
            "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": np.floor(self.energy_mj),
            "DCGM_FI_DEV_GPU_TEMP": np.rint(self.gpu_temp_c),
            "DCGM_FI_DEV_MEMORY_TEMP": np.rint(self.mem_temp_c),
            "DCGM_FI_DEV_FB_USED": self.fb_used_mib.astype(np.float64),
            "DCGM_FI_DEV_FB_FREE": (self.fb_total_mib - self.fb_used_mib).astype(np.float64),
            "DCGM_FI_DEV_SM_CLOCK": np.rint(self.sm_clock_mhz),
            "DCGM_FI_DEV_MEM_CLOCK": np.rint(self.mem_clock_mhz),
            "DCGM_FI_DEV_XID_ERRORS": self.last_xid.astype(np.float64),
            "DCGM_FI_DEV_POWER_MGMT_LIMIT": np.round(self.power_limit_w, 3),
        }
        if self.off_bus.any():
            for values in out.values():
                values[self.off_bus] = np.nan
        return out

    def state(self, i: int) -> dict[str, Any]:
        """What the control plane knows about a unit besides DCGM readings (works off the bus too)."""
        i = self._check_index(i)
        code = int(self.workload_type_code[i])
        return {
            "unit_id": self.unit_ids[i],
            "index": i,
            "model": self.model(i),
            "workload": self.workload_id[i],
            "workload_type": None if code < 0 else WORKLOAD_TYPES[code].value,
            "workload_failed": bool(self.workload_failed[i]),
            "switching": bool(self.switching[i]),
            "switch_phase": None if not self.switching[i] else PHASES[int(self.switch_phase[i]) - 1],
            "faults": sorted(f.value for f in self.faults(i)),
            "throttled": bool(self.throttled[i]),
            "xid_count": int(self.xid_count[i]),
            "last_xid": int(self.last_xid[i]),
            "power_limit_w": float(self.power_limit_w[i]),
            "available": not bool(self.off_bus[i]),
        }

    def state_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Copies of every numeric state array (for snapshots and determinism checks)."""
        return {
            name: np.array(getattr(self, name), copy=True)
            for name in (
                "util_pct", "mem_copy_util_pct", "power_w", "power_limit_w", "energy_mj", "gpu_temp_c",
                "mem_temp_c", "fb_used_mib", "sm_clock_mhz", "mem_clock_mhz", "xid_count", "last_xid",
                "workload_type_code", "thermal_fault", "xid_fault", "off_bus", "workload_failed", "throttled",
                "switching", "switch_phase", "idle_power_w",
            )
        }

    # ---------------------------------------------------------------------------------------------
    # Control

    def set_power_limit(self, i: int, power_limit_w: float) -> None:
        """Set a unit's enforced power limit (nvidia-smi -pl); clocks drop when it binds."""
        i = self._check_index(i)
        lo, hi = float(self.min_power_limit_w[i]), float(self.tdp_w[i])
        if not (math.isfinite(power_limit_w) and lo <= power_limit_w <= hi):
            raise ValueError(
                f"power limit for {self.model(i)} must be within {lo:g}-{hi:g} W, got {power_limit_w!r}"
            )
        self.power_limit_w[i] = float(power_limit_w)

    def inject_fault(self, i: int, fault: GpuFault | str, *, xid: int | None = None) -> None:
        """Make unit `i` fail. An XID error or a fall off the bus kills the workload on it.

        `xid` picks the XID code of an XID_ERROR (default 48, double-bit ECC); XID 79 is a fall off
        the bus. A unit off the bus can take no further fault until it is reset.
        """
        i = self._check_index(i)
        fault = GpuFault(fault)
        if fault is GpuFault.XID_ERROR and xid == XID_FALLEN_OFF_BUS:
            fault = GpuFault.FALLEN_OFF_BUS
        if self.off_bus[i]:
            raise GpuUnavailable(f"GPU {self.unit_ids[i]} is off the bus; clear the fault (reset) first")
        self._fault_epoch[i] += 1
        if fault is GpuFault.THERMAL_THROTTLE:
            self.thermal_fault[i] = True
            return
        code = (
            XID_FALLEN_OFF_BUS
            if fault is GpuFault.FALLEN_OFF_BUS
            else (XID_DEFAULT if xid is None else int(xid))
        )
        if code <= 0:
            raise ValueError(f"XID codes are positive, got {code}")
        self.xid_count[i] += 1
        self.last_xid[i] = code
        if fault is GpuFault.FALLEN_OFF_BUS:
            self.off_bus[i] = True
        else:
            self.xid_fault[i] = True
        if self.workload_id[i] is not None:
            # The process died with the GPU; the workload id stays so readers can tell which failed.
            self.workload_failed[i] = True
        self.util_pct[i] = 0.0
        self.mem_copy_util_pct[i] = 0.0

    def clear_fault(self, i: int, fault: GpuFault | str | None = None) -> None:
        """Repair unit `i` (all faults, or just `fault`).

        Clearing an XID error or a fall off the bus is a GPU reset: the failed workload is gone and
        memory is freed. Clearing a thermal fault restores cooling and leaves the workload running.
        """
        i = self._check_index(i)
        which = None if fault is None else GpuFault(fault)
        if which in (None, GpuFault.THERMAL_THROTTLE):
            self.thermal_fault[i] = False
        if which is None or which in (GpuFault.XID_ERROR, GpuFault.FALLEN_OFF_BUS):
            was_reset_needed = bool(self.xid_fault[i] or self.off_bus[i])
            if which in (None, GpuFault.XID_ERROR):
                self.xid_fault[i] = False
            if which in (None, GpuFault.FALLEN_OFF_BUS):
                self.off_bus[i] = False
            if was_reset_needed and not (self.xid_fault[i] or self.off_bus[i]):
                self.workload_id[i] = None
                self.workload_type_code[i] = -1
                self.workload_failed[i] = False
                self.fb_used_mib[i] = 0
                self.util_pct[i] = 0.0
                self.mem_copy_util_pct[i] = 0.0

    # ---------------------------------------------------------------------------------------------
    # Switching

    async def switch(
        self,
        i: int,
        workload: str | None,
        *,
        clock: Clock,
        workload_type: WorkloadType | str | None = None,
        memory_mib: int | None = None,
    ) -> SwitchRecord:
        """Move unit `i` from its current workload to `workload` (None = unload).

        Runs save_state, clear_memory, load and initialize, each sleeping its drawn duration on
        `clock`. The total lies within 350-480 ms. `workload_type` defaults to what the name says
        ("train" -> training, "batch" -> batch, else inference); `memory_mib` overrides the drawn
        framebuffer footprint.
        """
        i = self._check_index(i)
        if self.switching[i]:
            raise SwitchInProgress(f"GPU {self.unit_ids[i]} is already switching")
        if self.off_bus[i]:
            raise GpuUnavailable(f"GPU {self.unit_ids[i]} is off the bus and cannot be switched")
        if self.xid_fault[i] or self.thermal_fault[i]:
            names = ", ".join(sorted(f.value for f in self.faults(i)))
            raise GpuFaulted(f"GPU {self.unit_ids[i]} has a fault ({names}) and cannot be switched")

        wtype: WorkloadType | None
        if workload is None:
            wtype = None
        elif workload_type is None:
            wtype = infer_workload_type(workload)
        else:
            wtype = WorkloadType(workload_type)
        fb_total = int(self.fb_total_mib[i])
        if memory_mib is not None and not 0 <= memory_mib <= fb_total:
            raise ValueError(f"memory_mib must be within 0-{fb_total} MiB, got {memory_mib}")
        # Draw everything before the first await (and after validation), so the draw order follows
        # the order of accepted calls.
        phases_ms = draw_phases_ms(self._switch_rng)
        fb_fraction = float(self._switch_rng.random())
        if wtype is None:
            fb_target = 0
        elif memory_mib is not None:
            fb_target = int(memory_mib)
        else:
            profile = WORKLOAD_PROFILES[wtype]
            share = (
                profile.fb_fraction_min + (profile.fb_fraction_max - profile.fb_fraction_min) * fb_fraction
            )
            fb_target = int(share * fb_total)

        from_workload = self.workload_id[i]
        epoch = int(self._fault_epoch[i])
        started_at = clock.time()
        self.switching[i] = True
        completed = False
        try:
            for phase, ms in zip(SWITCH_PHASES, phases_ms, strict=True):
                self.switch_phase[i] = phase
                await clock.sleep(ms / 1000.0)
                if self._fault_epoch[i] != epoch:
                    raise SwitchAborted(
                        f"GPU {self.unit_ids[i]} faulted during {PHASES[phase - 1]}; "
                        f"switch to {workload!r} aborted"
                    )
                if phase is SwitchPhase.CLEAR_MEMORY:
                    self.workload_id[i] = None
                    self.workload_type_code[i] = -1
                    self.fb_used_mib[i] = 0
                elif phase is SwitchPhase.LOAD:
                    self.fb_used_mib[i] = fb_target
            self.workload_id[i] = workload
            self.workload_type_code[i] = -1 if wtype is None else WORKLOAD_TYPES.index(wtype)
            # Start at the profile's mean so the first tick does not ramp from zero.
            self.util_pct[i] = 0.0 if wtype is None else WORKLOAD_PROFILES[wtype].util_mean_pct
            completed = True
        finally:
            self.switching[i] = False
            self.switch_phase[i] = SwitchPhase.NONE
            if not completed and not (self.xid_fault[i] or self.off_bus[i]):
                # Aborted or cancelled mid-way: whatever was loaded is not a usable workload.
                self.workload_id[i] = None
                self.workload_type_code[i] = -1

        record = SwitchRecord(
            unit_id=self.unit_ids[i],
            index=i,
            from_workload=from_workload,
            to_workload=workload,
            workload_type=None if wtype is None else wtype.value,
            phases=dict(zip((f"{p}_ms" for p in PHASES), phases_ms, strict=True)),
            latency_ms=sum(phases_ms),
            started_at=started_at,
            finished_at=clock.time(),
        )
        self._history.append(record)
        self.switch_count_total += 1
        return record

    @property
    def switch_history(self) -> tuple[SwitchRecord, ...]:
        """The most recent switches, oldest first (bounded by `history_size`)."""
        return tuple(self._history)

    def switching_stats(self) -> dict[str, float | int | None]:
        """count, min, p50, p95, p99 and max of latency_ms over the recorded switches."""
        return latency_stats(self._history)
