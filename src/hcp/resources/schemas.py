"""Request and response bodies of the fleet API (facilities, racks, units, telemetry,
discovery, agents, commands, allocations)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from hcp.core.errors import HCPError
from hcp.kernel.enums import Health, UnitKind, UnitMode, UnitStatus, WorkloadType

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
# The capacity report's times have always left as Python's isoformat ("+00:00"), not as
# pydantic's "Z" like the other answers' times.
IsoTimestamp = Annotated[
    datetime, PlainSerializer(lambda t: t.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


class FacilityOut(BaseModel):
    id: str
    name: str
    location: str
    power_cap_kw: float
    market_node: str


class FacilityList(BaseModel):
    items: list[FacilityOut]
    total: int


class RackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    position: int = Field(0, ge=0, le=100_000)
    power_cap_kw: float | None = Field(None, gt=0, le=1_000_000, allow_inf_nan=False)


class RackOut(BaseModel):
    id: str
    facility_id: str
    name: str
    position: int
    power_cap_kw: float | None


class RackList(BaseModel):
    items: list[RackOut]
    total: int


class Nominal(BaseModel):
    hashrate_ths: float | None
    power_w: float | None
    memory_mib: int | None


class UnitAllocation(BaseModel):
    id: str
    workload_id: str
    tenant_id: str | None
    allocated_at: datetime
    expected_end_at: datetime | None


class UnitOut(BaseModel):
    id: str
    kind: UnitKind
    model: str
    driver: str
    address: str | None
    facility_id: str | None
    rack_id: str | None
    status: UnitStatus
    health: Health
    health_reasons: list[str]
    mode: UnitMode
    workload_id: str | None
    nominal: Nominal
    reading: dict[str, float] = Field(description="latest value of each metric (hashrate_ths, power_w, temp_c, ...)")
    reading_at: datetime | None
    last_seen_at: datetime | None
    missed_polls: int
    mac: str | None
    serial: str | None
    hostname: str | None
    firmware: str | None
    capabilities: list[str]
    registered_at: datetime
    allocation: UnitAllocation | None


class UnitList(BaseModel):
    items: list[UnitOut]
    total: int


class UnitPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    facility_id: str | None = Field(None, max_length=64)
    rack_id: str | None = Field(None, max_length=64)
    maintenance: bool | None = Field(None, description="true takes the unit out of service; false brings it back")


class TopologyUnit(BaseModel):
    id: str
    kind: UnitKind
    model: str
    status: UnitStatus
    health: Health
    mode: UnitMode
    address: str | None
    power_w: float | None = Field(description="the latest power reading, if the unit reports one")


class TopologyRack(RackOut):
    units: list[TopologyUnit]
    power_kw: float = Field(description="what the rack's units report drawing now (to set against power_cap_kw)")


class Topology(BaseModel):
    facility: FacilityOut
    racks: list[TopologyRack]
    unracked: list[TopologyUnit]
    units_total: int


class DiscoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cidr: str = Field(min_length=1, max_length=64, description="IPv4 network to scan, /16 or smaller",
                      examples=["10.20.0.0/24"])
    facility_id: str | None = Field(None, max_length=64, description="where the miners found are placed")
    rack_id: str | None = Field(None, max_length=64)

    @field_validator("cidr")
    @classmethod
    def _network(cls, value: str) -> str:
        from hcp.resources.discovery import parse_cidr

        try:
            return str(parse_cidr(value))
        except HCPError as exc:
            raise ValueError(str(exc.details[0]["message"]) if exc.details else exc.message) from None


class DiscoveryFailure(BaseModel):
    address: str
    error: str = Field(description="why the host was not identified (the error, cut to 200 characters)")


class DiscoveryOut(BaseModel):
    cidr: str
    scanned: int
    responded: int
    found: int
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    failed: list[DiscoveryFailure]
    duration_ms: float


class AgentRegisterIn(BaseModel):
    """A GPU agent announcing its unit. With a driver this process runs (`sim`, `nvml` on this
    host) the platform identifies the unit itself; an agent that pushes its readings on the bus
    (`push: true`) describes it."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(None, pattern=ID_PATTERN, description="the unit's id; derived from its identity if left out")
    driver: str = Field(min_length=1, max_length=16, examples=["nvml"])
    address: str = Field(min_length=1, max_length=255, examples=["nvml://GPU-5f1d...", "sim://gpu-001"])
    facility_id: str | None = Field(None, max_length=64)
    rack_id: str | None = Field(None, max_length=64)
    push: bool = False
    kind: UnitKind = UnitKind.GPU
    model: str | None = Field(None, min_length=1, max_length=100)
    serial: str | None = Field(None, min_length=1, max_length=100, description="GPU UUID or board serial")
    hostname: str | None = Field(None, max_length=255)
    memory_mib: int | None = Field(None, ge=0, le=10_000_000)
    power_w: float | None = Field(None, gt=0, le=100_000, allow_inf_nan=False)

    @model_validator(mode="after")
    def _described_when_pushing(self) -> AgentRegisterIn:
        if self.push and (self.model is None or self.serial is None):
            missing = "model" if self.model is None else "serial"
            raise ValueError(f"an agent that pushes its readings describes its unit: {missing} is required")
        return self


class AgentRegisterOut(BaseModel):
    outcome: Literal["added", "updated", "unchanged"]
    unit: UnitOut


UnitAction = Literal["start_mining", "stop_mining", "set_power_target", "load_workload", "unload_workload"]


class CommandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: UnitAction
    power_target_w: float | None = Field(None, gt=0, le=100_000, allow_inf_nan=False)
    workload_id: str | None = Field(None, min_length=1, max_length=64)
    workload_type: WorkloadType | None = None


class CommandResult(BaseModel):
    """What the driver did; a key is there only where the action has it."""

    action: UnitAction
    power_target_w: float | None = Field(None, description="set_power_target: the target the unit took")
    latency_ms: float | None = Field(None, description="load or unload: how long the switch took")
    phases: dict[str, float] | None = Field(
        None, description="load or unload: the switch's phases (ms), where the driver can tell them")


class CommandOut(BaseModel):
    unit: UnitOut
    result: CommandResult


class AllocateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_ids: list[str] = Field(min_length=1, max_length=256)
    workload_id: str = Field(min_length=1, max_length=64)
    tenant_id: str | None = Field(None, max_length=32)
    expected_end_at: AwareDatetime | None = None


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workload_id: str | None = Field(None, min_length=1, max_length=64)
    unit_ids: list[str] | None = Field(None, min_length=1, max_length=256)
    reason: str = Field("released", min_length=1, max_length=200)


class AllocationOut(BaseModel):
    id: str
    unit_id: str
    workload_id: str
    tenant_id: str | None
    allocated_at: datetime
    expected_end_at: datetime | None
    released_at: datetime | None
    release_reason: str | None


class AllocationList(BaseModel):
    items: list[AllocationOut]
    total: int


class TelemetryPoint(BaseModel):
    ts: datetime
    value: float | None
    min: float | None = None
    max: float | None = None
    count: int | None = None


class TelemetrySeries(BaseModel):
    metric: str
    points: list[TelemetryPoint]


class TelemetryOut(BaseModel):
    unit_id: str
    since: datetime
    until: datetime
    step_s: int | None
    source: Literal["raw", "rollup"]
    series: list[TelemetrySeries]


class AsicCapacity(BaseModel):
    units: int
    online: int
    mining: int
    hashrate_ths: float
    nominal_hashrate_ths: float


class GpuCapacity(BaseModel):
    model: str
    total: int
    online: int
    free: int
    busy: int


class FacilityPower(BaseModel):
    cap_kw: float | None
    used_kw: float
    headroom_kw: float | None
    estimated_units: int = Field(description="units online whose power is estimated (they report none)")


class FreeGpuForecast(BaseModel):
    at: IsoTimestamp
    hours: int
    free_gpus: dict[str, int] = Field(description="GPUs free by then, per model (from allocations' expected ends)")


class FacilityCapacity(BaseModel):
    facility_id: str
    name: str
    asic: AsicCapacity
    gpus: list[GpuCapacity]
    power: FacilityPower
    forecast: list[FreeGpuForecast]


class TotalPower(BaseModel):
    cap_kw: float
    used_kw: float
    headroom_kw: float


class CapacityTotal(BaseModel):
    asic_online: int
    hashrate_ths: float
    gpus: list[GpuCapacity]
    power: TotalPower


class CapacityOut(BaseModel):
    at: IsoTimestamp
    facilities: list[FacilityCapacity]
    total: CapacityTotal
