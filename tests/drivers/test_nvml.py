"""The nvml driver against NVML's documented return shapes.

No GPU is present where this suite runs, so `FakeNvml` stands in for the device functions of
nvidia-ml-py: same names, same units (mW, mJ, bytes, MHz), same structs, and pynvml's own error
classes and codes. `scripts/device_check_nvml.py` runs the driver on a real GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pynvml
import pytest

from hcp.drivers.base import CommandFailed, UnitRef, UnitUnreachable, Unsupported
from hcp.drivers.nvml import NvmlDriver, address_of

UUID = "GPU-5f1d6c2e-8a0b-4c39-9d3e-0123456789ab"
MIB = 1024 * 1024


@dataclass
class FakeGpu:
    uuid: str
    name: str = "NVIDIA H100 80GB HBM3"
    total_bytes: int = 81559 * MIB
    used_bytes: int = 1024 * MIB
    power_mw: int = 312_456
    energy_mj: int = 987_654_321
    temp_c: int = 47
    sm_mhz: int = 1755
    mem_mhz: int = 2619
    limit_mw: int = 700_000
    constraints_mw: tuple[int, int] = (200_000, 700_000)
    util: tuple[int, int] = (83, 41)
    processes: list[Any] = field(default_factory=list)
    unsupported: set[str] = field(default_factory=set)
    lost: bool = False


class FakeNvml(SimpleNamespace):
    """The subset of pynvml the driver calls, with NVML's shapes and error codes."""

    NVMLError = pynvml.NVMLError
    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU
    NVML_CLOCK_SM = pynvml.NVML_CLOCK_SM
    NVML_CLOCK_MEM = pynvml.NVML_CLOCK_MEM

    def __init__(self, gpus: list[FakeGpu], *, init_error: int | None = None, can_set_limit: bool = True) -> None:
        super().__init__()
        self.gpus, self.init_error, self.can_set_limit = gpus, init_error, can_set_limit
        self.initialised = self.shut_down = False

    def _gpu(self, handle: FakeGpu, fn: str) -> FakeGpu:
        if handle.lost:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
        if fn in handle.unsupported:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return handle

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise pynvml.NVMLError(self.init_error)
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self.shut_down = True

    def nvmlSystemGetDriverVersion(self) -> str:
        return "550.54.15"

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        return self.gpus[index]

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> FakeGpu:
        for gpu in self.gpus:
            if gpu.uuid == uuid:
                return gpu
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_FOUND)

    def nvmlDeviceGetUUID(self, h: FakeGpu) -> str:
        return h.uuid

    def nvmlDeviceGetName(self, h: FakeGpu) -> bytes:
        return h.name.encode()  # older bindings return bytes: the driver takes both

    def nvmlDeviceGetMemoryInfo(self, h: FakeGpu) -> Any:
        g = self._gpu(h, "memory")
        return SimpleNamespace(total=g.total_bytes, used=g.used_bytes, free=g.total_bytes - g.used_bytes)

    def nvmlDeviceGetUtilizationRates(self, h: FakeGpu) -> Any:
        g = self._gpu(h, "util")
        return SimpleNamespace(gpu=g.util[0], memory=g.util[1])

    def nvmlDeviceGetPowerUsage(self, h: FakeGpu) -> int:
        return self._gpu(h, "power").power_mw

    def nvmlDeviceGetTotalEnergyConsumption(self, h: FakeGpu) -> int:
        return self._gpu(h, "energy").energy_mj

    def nvmlDeviceGetTemperature(self, h: FakeGpu, sensor: int) -> int:
        assert sensor == pynvml.NVML_TEMPERATURE_GPU
        return self._gpu(h, "temp").temp_c

    def nvmlDeviceGetClockInfo(self, h: FakeGpu, clock: int) -> int:
        g = self._gpu(h, "clock")
        return {pynvml.NVML_CLOCK_SM: g.sm_mhz, pynvml.NVML_CLOCK_MEM: g.mem_mhz}[clock]

    def nvmlDeviceGetEnforcedPowerLimit(self, h: FakeGpu) -> int:
        return self._gpu(h, "limit").limit_mw

    def nvmlDeviceGetPowerManagementDefaultLimit(self, h: FakeGpu) -> int:
        return self._gpu(h, "default_limit").constraints_mw[1]

    def nvmlDeviceGetPowerManagementLimitConstraints(self, h: FakeGpu) -> list[int]:
        return list(self._gpu(h, "constraints").constraints_mw)

    def nvmlDeviceSetPowerManagementLimit(self, h: FakeGpu, milliwatts: int) -> None:
        if not self.can_set_limit:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NO_PERMISSION)
        self._gpu(h, "set_limit").limit_mw = milliwatts

    def nvmlDeviceGetComputeRunningProcesses(self, h: FakeGpu) -> list[Any]:
        return self._gpu(h, "processes").processes


def unit(uuid: str = UUID) -> UnitRef:
    return UnitRef(id="gpu-1", address=address_of(uuid))


async def test_finds_the_hosts_gpus() -> None:
    a100 = FakeGpu("GPU-a100", name="NVIDIA A100-SXM4-80GB", constraints_mw=(100_000, 400_000))
    fake = FakeNvml([FakeGpu(UUID), a100])
    driver = NvmlDriver(fake)  # type: ignore[arg-type]
    assert driver.available() == (True, None)
    gpus = await driver.local_gpus()
    assert [(g.model, g.address, g.memory_mib, g.power_w) for g in gpus] == [
        ("H100", f"nvml://{UUID}", 81559, 700.0), ("A100", "nvml://GPU-a100", 81559, 400.0)]
    assert gpus[0].key == f"serial:nvml:{UUID}" and gpus[0].firmware == "550.54.15"
    assert (await driver.identify(f"nvml://{UUID}")) == gpus[0]
    assert await driver.identify("nvml://GPU-nope") is None
    await driver.close()
    assert fake.shut_down


async def test_readings_in_the_platforms_units() -> None:
    gpu = FakeGpu(UUID, processes=[SimpleNamespace(pid=4242, usedGpuMemory=1024 * MIB)])
    reading = await NvmlDriver(FakeNvml([gpu])).read_telemetry(unit())  # type: ignore[arg-type]
    assert reading.metrics == {
        "util_pct": 83.0, "mem_copy_util_pct": 41.0, "power_w": 312.456, "energy_mj": 987_654_321.0,
        "temp_c": 47.0, "sm_clock_mhz": 1755.0, "mem_clock_mhz": 2619.0, "power_limit_w": 700.0,
        "mem_used_mib": 1024.0, "mem_free_mib": 80535.0,
    }
    assert reading.mode == "workload"
    gpu.processes = []
    assert (await NvmlDriver(FakeNvml([gpu])).read_telemetry(unit())).mode == "idle"  # type: ignore[arg-type]


async def test_unsupported_fields_are_left_out_and_a_lost_gpu_is_unreachable() -> None:
    gpu = FakeGpu(UUID, unsupported={"energy", "clock"})
    driver = NvmlDriver(FakeNvml([gpu]))  # type: ignore[arg-type]
    reading = await driver.read_telemetry(unit())
    assert "energy_mj" not in reading.metrics and "sm_clock_mhz" not in reading.metrics
    assert reading.metrics["power_w"] == 312.456
    gpu.lost = True
    with pytest.raises(UnitUnreachable, match="lost"):
        await driver.read_telemetry(unit())
    with pytest.raises(UnitUnreachable):
        await driver.read_telemetry(unit("GPU-not-here"))


async def test_power_limits_within_the_constraints() -> None:
    gpu = FakeGpu(UUID)
    driver = NvmlDriver(FakeNvml([gpu]))  # type: ignore[arg-type]
    assert await driver.set_power_target(unit(), 450) == 450.0 and gpu.limit_mw == 450_000
    with pytest.raises(CommandFailed, match="200-700 W"):
        await driver.set_power_target(unit(), 150)
    denied = NvmlDriver(FakeNvml([gpu], can_set_limit=False))  # type: ignore[arg-type]
    with pytest.raises(CommandFailed, match="root"):
        await denied.set_power_target(unit(), 500)
    gpu.unsupported.add("set_limit")
    with pytest.raises(Unsupported):
        await driver.set_power_target(unit(), 500)


async def test_no_driver_on_the_host_is_reported_once_and_cleanly() -> None:
    fake = FakeNvml([], init_error=pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)
    driver = NvmlDriver(fake)  # type: ignore[arg-type]
    ok, reason = driver.available()
    assert not ok and reason is not None and "NVML Shared Library Not Found" in reason
    assert await driver.local_gpus() == [] and await driver.identify(f"nvml://{UUID}") is None
    with pytest.raises(UnitUnreachable, match="NVML unavailable"):
        await driver.read_telemetry(unit())
    await driver.close()
    assert not fake.shut_down


def test_the_real_library_on_this_machine_answers_without_raising() -> None:
    # With the real nvidia-ml-py: on a host without a GPU this says why; with one, it works.
    ok, reason = NvmlDriver().available()
    assert ok or (reason is not None and reason.startswith("NVML unavailable"))
