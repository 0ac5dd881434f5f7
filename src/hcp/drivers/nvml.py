"""NVIDIA GPUs of this host through NVML (nvidia-ml-py, imported as `pynvml`).

Addresses are `nvml://<GPU UUID>`: the UUID survives reboots and re-enumeration, an index does
not. Where no NVIDIA driver is installed (most development machines, CI) the driver says so
once, cleanly: `available()` is False with the reason, `identify`/`local_gpus` find nothing and
reads raise `UnitUnreachable`. NVML calls block in C, so they run in a worker thread.
`scripts/device_check_nvml.py` exercises this driver on a machine with a real GPU.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, TypeVar

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
from hcp.kernel.gpus import resolve_model

SCHEME = "nvml://"
T = TypeVar("T")
GPU_CAPABILITIES = Capability.TELEMETRY | Capability.IDENTIFY | Capability.POWER_TARGET

# NVML return codes (nvml.h) this driver tells apart.
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_GPU_IS_LOST = 15


def address_of(uuid: str) -> str:
    return f"{SCHEME}{uuid}"


def _text(value: str | bytes) -> str:
    # nvidia-ml-py returns str since 11.5; older bindings returned bytes.
    return value.decode() if isinstance(value, bytes) else str(value)


class NvmlDriver(Driver):
    name = "nvml"

    def __init__(self, nvml: ModuleType | None = None) -> None:
        # `nvml` is the pynvml module; tests pass a stand-in that follows NVML's documented
        # return shapes, because no GPU is present where they run.
        self._nvml = nvml
        self._ready = False
        self._unavailable: str | None = None
        self._lock = threading.Lock()

    # --- the library ------------------------------------------------------------------------
    def _init(self) -> ModuleType:
        with self._lock:
            if self._ready and self._nvml is not None:
                return self._nvml
            if self._unavailable is not None:
                raise UnitUnreachable(self._unavailable)
            try:
                if self._nvml is None:
                    import pynvml

                    self._nvml = pynvml
                self._nvml.nvmlInit()
            except ImportError:
                self._unavailable = "nvidia-ml-py (pynvml) is not installed"
                raise UnitUnreachable(self._unavailable) from None
            except Exception as exc:  # NVMLError_LibraryNotFound, _DriverNotLoaded, ...
                self._unavailable = f"NVML unavailable: {exc}"
                raise UnitUnreachable(self._unavailable) from None
            self._ready = True
            return self._nvml

    def available(self) -> tuple[bool, str | None]:
        """Whether NVML works on this host, and why not."""
        try:
            self._init()
        except UnitUnreachable as exc:
            return False, str(exc)
        return True, None

    async def _call(self, fn: Callable[[ModuleType], T]) -> T:
        def run() -> T:
            nvml = self._init()
            return fn(nvml)

        return await asyncio.to_thread(run)

    def _error_code(self, exc: BaseException) -> int | None:
        nvml = self._nvml
        if nvml is not None and isinstance(exc, nvml.NVMLError):
            return int(getattr(exc, "value", -1))
        return None

    def _handle(self, nvml: ModuleType, address: str) -> Any:
        if not address.startswith(SCHEME):
            raise UnitUnreachable(f"{address!r} is not an NVML address (nvml://<GPU UUID>)")
        uuid = address[len(SCHEME):]
        try:
            return nvml.nvmlDeviceGetHandleByUUID(uuid)
        except nvml.NVMLError as exc:
            raise UnitUnreachable(f"{uuid}: {exc}") from None

    # --- identify ---------------------------------------------------------------------------
    def _identity(self, nvml: ModuleType, handle: Any) -> UnitIdentity:
        uuid = _text(nvml.nvmlDeviceGetUUID(handle))
        name = _text(nvml.nvmlDeviceGetName(handle))
        try:
            model = resolve_model(name)
        except ValueError:
            model = name
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        try:
            power_w = nvml.nvmlDeviceGetPowerManagementDefaultLimit(handle) / 1000.0
        except nvml.NVMLError:
            power_w = None
        return UnitIdentity(
            kind="gpu", model=model, address=address_of(uuid), driver=self.name, serial=uuid,
            hostname=name, firmware=_text(nvml.nvmlSystemGetDriverVersion()),
            memory_mib=int(memory.total // (1024 * 1024)), power_w=power_w, capabilities=GPU_CAPABILITIES,
        )

    async def identify(self, address: str, *, options: Mapping[str, Any] | None = None) -> UnitIdentity | None:
        try:
            return await self._call(lambda nvml: self._identity(nvml, self._handle(nvml, address)))
        except UnitUnreachable:
            return None

    async def local_gpus(self) -> list[UnitIdentity]:
        """Every GPU of this host (none where NVML is unavailable)."""

        def scan(nvml: ModuleType) -> list[UnitIdentity]:
            count = nvml.nvmlDeviceGetCount()
            return [self._identity(nvml, nvml.nvmlDeviceGetHandleByIndex(i)) for i in range(count)]

        try:
            return await self._call(scan)
        except UnitUnreachable:
            return []

    def capabilities(self, unit: UnitRef) -> Capability:
        return GPU_CAPABILITIES

    # --- read -------------------------------------------------------------------------------
    def _read(self, nvml: ModuleType, address: str) -> Reading:
        handle = self._handle(nvml, address)
        metrics: dict[str, float] = {}

        def take(name: str, fn: Callable[[], float]) -> None:
            # A field this GPU does not support (NOT_SUPPORTED) is left out; a lost GPU is not.
            try:
                metrics[name] = float(fn())
            except nvml.NVMLError as exc:
                if self._error_code(exc) == NVML_ERROR_GPU_IS_LOST:
                    raise UnitUnreachable(f"{address}: GPU is lost ({exc})") from None

        util = None
        try:
            util = nvml.nvmlDeviceGetUtilizationRates(handle)
        except nvml.NVMLError as exc:
            if self._error_code(exc) == NVML_ERROR_GPU_IS_LOST:
                raise UnitUnreachable(f"{address}: GPU is lost ({exc})") from None
        if util is not None:
            metrics["util_pct"] = float(util.gpu)
            metrics["mem_copy_util_pct"] = float(util.memory)
        take("power_w", lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0)  # mW
        take("energy_mj", lambda: nvml.nvmlDeviceGetTotalEnergyConsumption(handle))  # mJ
        take("temp_c", lambda: nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
        take("sm_clock_mhz", lambda: nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM))
        take("mem_clock_mhz", lambda: nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_MEM))
        take("power_limit_w", lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0)
        try:
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)  # bytes
            metrics["mem_used_mib"] = float(memory.used // (1024 * 1024))
            metrics["mem_free_mib"] = float(memory.free // (1024 * 1024))
        except nvml.NVMLError:
            pass
        mode: str | None = None
        try:
            processes = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
            mode = "workload" if processes else "idle"
        except nvml.NVMLError:
            pass
        return Reading(metrics=metrics, mode=mode)

    async def read_telemetry(self, unit: UnitRef) -> Reading:
        return await self._call(lambda nvml: self._read(nvml, unit.address))

    # --- commands ---------------------------------------------------------------------------
    async def set_power_target(self, unit: UnitRef, watts: float) -> float:
        def apply(nvml: ModuleType) -> float:
            handle = self._handle(nvml, unit.address)
            low, high = nvml.nvmlDeviceGetPowerManagementLimitConstraints(handle)  # mW
            milliwatts = round(watts * 1000)
            if not low <= milliwatts <= high:
                raise CommandFailed(f"{unit.id}: power target must be within {low / 1000:g}-{high / 1000:g} W")
            try:
                nvml.nvmlDeviceSetPowerManagementLimit(handle, milliwatts)
            except nvml.NVMLError as exc:
                code = self._error_code(exc)
                if code == NVML_ERROR_NO_PERMISSION:
                    raise CommandFailed(f"{unit.id}: setting a power limit needs root on the GPU host") from None
                if code == NVML_ERROR_NOT_SUPPORTED:
                    raise Unsupported(f"{unit.id}: this GPU takes no power limit") from None
                raise CommandFailed(f"{unit.id}: {exc}") from None
            return float(nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0)

        return await self._call(apply)

    async def close(self) -> None:
        with self._lock:
            if self._ready and self._nvml is not None:
                try:
                    self._nvml.nvmlShutdown()
                finally:
                    self._ready = False
