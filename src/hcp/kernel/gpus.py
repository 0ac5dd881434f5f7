"""The GPU catalogue: the static figures of each GPU model HCP knows (nvidia-smi / datasheet values).

Shared by the simulator (which models these GPUs) and the drivers (which identify real ones and
report their memory and power), so neither has to import the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["GPU_MODELS", "GpuModelSpec", "resolve_model"]


@dataclass(frozen=True, slots=True)
class GpuModelSpec:
    """Static figures of one GPU model (nvidia-smi / datasheet values)."""

    name: str
    product_name: str
    tdp_w: float
    min_power_limit_w: float
    idle_power_min_w: float
    idle_power_max_w: float
    fb_total_mib: int
    sm_clock_max_mhz: float
    sm_clock_idle_mhz: float
    mem_clock_max_mhz: float
    # HBM does not down-clock at idle on these parts: nvidia-smi shows the full memory clock.
    mem_clock_idle_mhz: float
    slowdown_temp_c: float
    # Steady-state rise above ambient per watt, and the time constants of the die and the HBM stacks.
    gpu_thermal_c_per_w: float
    mem_thermal_c_per_w: float
    gpu_thermal_tau_s: float
    mem_thermal_tau_s: float


GPU_MODELS: Final[dict[str, GpuModelSpec]] = {
    "H100": GpuModelSpec(
        name="H100",
        product_name="NVIDIA H100 80GB HBM3",
        tdp_w=700.0,
        min_power_limit_w=200.0,
        idle_power_min_w=70.0,
        idle_power_max_w=90.0,
        fb_total_mib=81559,
        sm_clock_max_mhz=1980.0,
        sm_clock_idle_mhz=345.0,
        mem_clock_max_mhz=2619.0,
        mem_clock_idle_mhz=2619.0,
        slowdown_temp_c=87.0,
        gpu_thermal_c_per_w=0.064,  # ~70 C at 700 W in 25 C inlet air
        mem_thermal_c_per_w=0.076,  # HBM runs ~8 C hotter than the die at full load
        gpu_thermal_tau_s=20.0,
        mem_thermal_tau_s=40.0,
    ),
    "A100": GpuModelSpec(
        name="A100",
        product_name="NVIDIA A100-SXM4-80GB",
        tdp_w=400.0,
        min_power_limit_w=100.0,
        idle_power_min_w=50.0,
        idle_power_max_w=60.0,
        fb_total_mib=81920,
        sm_clock_max_mhz=1410.0,
        sm_clock_idle_mhz=210.0,
        mem_clock_max_mhz=1593.0,
        mem_clock_idle_mhz=1593.0,
        slowdown_temp_c=87.0,
        gpu_thermal_c_per_w=0.100,  # ~65 C at 400 W
        mem_thermal_c_per_w=0.118,
        gpu_thermal_tau_s=20.0,
        mem_thermal_tau_s=40.0,
    ),
}


def resolve_model(name: str) -> str:
    """Map "H100", "h100-sxm-80gb", "NVIDIA H100 80GB HBM3", ... to a key of GPU_MODELS."""
    upper = str(name).upper()
    for key in GPU_MODELS:
        if key in upper:
            return key
    raise ValueError(f"unknown GPU model {name!r}; known models: {', '.join(GPU_MODELS)}")
