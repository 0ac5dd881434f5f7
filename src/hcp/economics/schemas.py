"""Request and response bodies of the economics API (`POST /economics/optimize` and friends)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
Id = Field(min_length=1, max_length=128)
Mode = Literal["mining", "curtailed", "workload", "spot", "idle"]


class FacilityIn(BaseModel):
    model_config = _STRICT
    id: str = Id
    power_cap_kw: float = Field(ge=0, le=10_000_000)
    # Negative prices happen (ERCOT at night with wind); ERCOT's offer cap is $5,000/MWh.
    electricity_usd_per_mwh: float = Field(ge=-1_000, le=20_000)


class UnitIn(BaseModel):
    model_config = _STRICT
    id: str = Id
    kind: Literal["asic", "gpu"]
    facility_id: str = Id
    power_w: float = Field(gt=0, le=100_000, description="ASIC: stock power; GPU: power at full load")
    hashrate_ths: float | None = Field(None, ge=0, le=10_000, description="ASIC only")
    # ASIC power targets on offer: [[power_w, hashrate_ths], ...]; one is chosen, or curtail.
    curve: list[tuple[float, float]] | None = Field(None, min_length=1, max_length=64)
    model: str | None = Field(None, min_length=1, max_length=32, description="GPU only, e.g. H100")
    idle_power_w: float | None = Field(None, ge=0, le=100_000, description="GPU only")
    current_mode: Mode | None = Field(
        None, description="what the unit does now; with `switching`, leaving it costs the switch")


class WorkloadIn(BaseModel):
    model_config = _STRICT
    id: str = Id
    gpu_model: str = Field(min_length=1, max_length=32, description='a GPU model, or "any"')
    gpu_count: int = Field(ge=1, le=64)
    price_usd_per_gpu_hour: float = Field(ge=0, le=10_000)
    committed: bool = Field(
        False, description="admitted customer work (its SLO): placed before any GPU goes to spot or any "
                           "ASIC mines, whenever GPUs and power allow; its price still counts as revenue")


class SwitchingIn(BaseModel):
    """What changing a unit's role costs: the value it does not earn while it changes, spread over
    `horizon_h` (how long a decision holds: the planner's minimum dwell)."""

    model_config = _STRICT
    asic_ramp_s: float = Field(600.0, ge=0, le=86_400, description="an ASIC's start-up ramp (S21: minutes)")
    gpu_switch_s: float = Field(0.5, ge=0, le=3_600, description="a GPU's switch (save, clear, load, init)")
    horizon_h: float = Field(1.0, gt=0, le=8_760)


class OptimizeRequest(BaseModel):
    model_config = _STRICT
    btc_usd: float = Field(gt=0, le=100_000_000)
    network_difficulty: float = Field(gt=0)
    fees_btc_per_block: float = Field(0.0, ge=0, le=1_000)
    facilities: list[FacilityIn] = Field(min_length=1, max_length=1_000)
    units: list[UnitIn] = Field(default_factory=list, max_length=1_000_000)
    workloads: list[WorkloadIn] = Field(default_factory=list, max_length=100_000)
    gpu_spot_usd_per_hour: dict[str, float] = Field(default_factory=dict)
    switching: SwitchingIn | None = Field(
        None, description="price role changes against each unit's `current_mode` (none when absent)")


class Assignment(BaseModel):
    unit_id: str
    mode: Mode
    power_w: float
    hashrate_ths: float | None = None
    workload_id: str | None = None


class FacilityPower(BaseModel):
    id: str
    power_kw: float
    power_cap_kw: float


class OptimizeResponse(BaseModel):
    objective_usd_per_hour: float
    hashprice_usd_per_th_day: float
    assignments: list[Assignment]
    facilities: list[FacilityPower]
    unplaced_workloads: list[str]
    solve_ms: float = Field(description="time spent deciding, for the curious")


class DemandResponseIn(BaseModel):
    model_config = _STRICT
    facility_id: str = Id
    power_cap_kw: float = Field(ge=0, le=10_000_000)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=200, examples=["ERCOT 4CP"])


class DemandResponseOut(BaseModel):
    id: str
    facility_id: str
    power_cap_kw: float
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str | None


class PlanOut(BaseModel):
    id: str
    ts: datetime
    objective_usd_per_hour: float
    optimum_usd_per_hour: float
    hashprice_usd_per_th_day: float
    reason: str
    summary: dict[str, Any]
    decisions: list[dict[str, Any]]
    recommendations: list[dict[str, Any]]
