"""Request and response bodies of the simulator API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from hcp.kernel.enums import UnitKind, UnitMode, UnitStatus, WorkloadType

# A time the simulator has already written as ISO 8601 text: passed on as is.
IsoTime = Field(json_schema_extra={"format": "date-time"})


class FaultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(min_length=1, max_length=40, description="e.g. offline, overheat, board_failure, "
                      "fan_failure, pool_down (ASIC); xid_error, thermal_throttle, fallen_off_bus (GPU)")


class SwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_id: str = Field(min_length=1, max_length=64)
    workload: str | None = Field(None, max_length=128, description="workload to load; null unloads")
    workload_type: WorkloadType | None = None


class ClockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    speed: float = Field(gt=0, le=100_000, allow_inf_nan=False)


class GpuTelemetry(BaseModel):
    """One GPU's readings, named and scaled as NVIDIA's DCGM exporter publishes them."""

    DCGM_FI_DEV_GPU_UTIL: int = Field(description="%")
    DCGM_FI_DEV_MEM_COPY_UTIL: int = Field(description="%")
    DCGM_FI_DEV_POWER_USAGE: float = Field(description="W")
    DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION: int = Field(description="mJ since boot")
    DCGM_FI_DEV_GPU_TEMP: int = Field(description="degrees C")
    DCGM_FI_DEV_MEMORY_TEMP: int = Field(description="degrees C")
    DCGM_FI_DEV_FB_USED: int = Field(description="MiB")
    DCGM_FI_DEV_FB_FREE: int = Field(description="MiB")
    DCGM_FI_DEV_SM_CLOCK: int = Field(description="MHz")
    DCGM_FI_DEV_MEM_CLOCK: int = Field(description="MHz")
    DCGM_FI_DEV_XID_ERRORS: int = Field(description="the last XID seen (0: none)")
    DCGM_FI_DEV_POWER_MGMT_LIMIT: float = Field(description="W")


class SimGpu(BaseModel):
    id: str
    kind: Literal[UnitKind.GPU]
    model: str
    facility_id: str
    status: UnitStatus
    mode: UnitMode
    workload: str | None
    workload_type: WorkloadType | None
    faults: list[str] = Field(description="e.g. xid_error, thermal_throttle, fallen_off_bus")
    throttled: bool
    telemetry: GpuTelemetry | None = Field(description="null while the GPU is off the bus")


class SimAsic(BaseModel):
    id: str
    kind: Literal[UnitKind.ASIC]
    model: str
    facility_id: str
    address: str = Field(description="the miner's loopback IP (its CGMiner API and web UI listen there)")
    firmware: str
    status: UnitStatus
    mode: Literal["mining", "sleeping", "low_power"] = Field(description="the miner's own work mode")
    faults: list[str] = Field(description="e.g. overheat, board_failure, fan_failure, pool_down")
    hashrate_ths: float
    power_w: float
    power_target_w: float
    board_temp_c: list[float]
    chip_temp_c: list[float]
    fan_rpm: list[int]
    mac: str
    hostname: str


SimUnit = Annotated[SimGpu | SimAsic, Field(discriminator="kind")]


class SimUnitOut(RootModel[SimUnit]):
    """A simulated GPU or ASIC, told apart by `kind`."""


class SimUnitList(BaseModel):
    items: list[SimUnit]
    total: int


class SimSwitchOut(BaseModel):
    """One completed switch of one GPU, each phase timed."""

    model_config = ConfigDict(populate_by_name=True)
    unit_id: str
    index: int = Field(description="the switch's number on this GPU")
    from_: str | None = Field(alias="from", description="the workload unloaded (null: none)")
    to: str | None = Field(description="the workload loaded (null: unloaded)")
    workload_type: WorkloadType | None
    phases: dict[str, float] = Field(description="milliseconds per phase: save_state_ms, clear_memory_ms, ...")
    latency_ms: float
    started_at: str = IsoTime
    finished_at: str = IsoTime


class SwitchingStats(BaseModel):
    count: int
    min_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


class SimMarketTick(BaseModel):
    """The market simulator's latest tick, as it publishes it on `market.tick`."""

    id: str
    ts: str = IsoTime
    btc_usd: float
    network_difficulty: float
    network_hashrate_ths: float
    fees_btc_per_block: float
    hashprice_usd_per_th_day: float
    hashprice_usd_per_ph_day: float
    electricity_usd_per_mwh: dict[str, float] = Field(description="by market node")
    gpu_spot_usd_per_hour: dict[str, float] = Field(description="by GPU model")


class ClockOut(BaseModel):
    now: str = IsoTime
    speed: float = Field(description="simulated seconds per wall-clock second")
