"""Request and response bodies of the economics API (`POST /economics/optimize` and friends).

Some answers have keys that only some rows carry (an ASIC's hashrate, a GPU's spot price): their
routes answer with `response_model_exclude_unset`, so a key the service leaves out stays absent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hcp.kernel.enums import PlanMode, UnitKind
from hcp.kernel.events import UnitDecision

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
Id = Field(min_length=1, max_length=128)
Mode = PlanMode
# A time the service has already written as ISO 8601 text ("+00:00", not "Z"): passed on as is.
IsoTime = Field(json_schema_extra={"format": "date-time"})


class FacilityIn(BaseModel):
    model_config = _STRICT
    id: str = Id
    power_cap_kw: float = Field(ge=0, le=10_000_000)
    # Negative prices happen (ERCOT at night with wind); ERCOT's offer cap is $5,000/MWh.
    electricity_usd_per_mwh: float = Field(ge=-1_000, le=20_000)


class UnitIn(BaseModel):
    model_config = _STRICT
    id: str = Id
    kind: Literal["asic", "gpu"]  # UnitKind's values, in the order its 422 message has always named them
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


class DemandResponseList(BaseModel):
    items: list[DemandResponseOut]
    total: int


class Recommendation(BaseModel):
    """One thing the plan means, in words, with the numbers behind them."""

    kind: Literal["curtail", "mine", "spot", "capacity"]
    facility_id: str | None
    model: str | None
    units: int = Field(description="how many units (for `capacity`: how many workloads wait)")
    usd_per_hour: float = Field(description="what acting on it earns (or saves) an hour")
    message: str
    break_even_usd_per_mwh: float | None = Field(None, description="curtail and mine only")
    spot_usd_per_gpu_hour: float | None = Field(None, description="spot only")
    workloads: list[str] | None = Field(None, description="capacity only: the first 20 waiting")


class RecommendationsOut(BaseModel):
    items: list[Recommendation]
    total: int
    ts: str | None = Field(json_schema_extra={"format": "date-time"},
                           description="the plan's time; null before the first plan")


class DemandResponseInForce(BaseModel):
    id: str
    reason: str
    ends_at: str = IsoTime


class PlannedFacility(BaseModel):
    id: str
    name: str
    power_kw: float = Field(description="what the plan draws, running work included")
    power_cap_kw: float = Field(description="the cap in force (a demand-response window lowers it)")
    electricity_usd_per_mwh: float
    running_work_kw: float
    demand_response: DemandResponseInForce | None
    # Plans stored before it existed lack it.
    profit_usd_per_hour: float | None = Field(
        None, description="what the units the plan decides earn less their energy, USD/h (running work, "
                          "a commitment, is not counted: as the plan's objective)")


class WaitingWorkload(BaseModel):
    workload_id: str
    reason: str


class PlanSummary(BaseModel):
    ts: str = IsoTime
    objective_usd_per_hour: float
    optimum_usd_per_hour: float
    hashprice_usd_per_th_day: float
    units_by_mode: dict[PlanMode, int]
    changed: int = Field(description="units whose role the plan changed")
    reason: str
    facilities: list[PlannedFacility]
    unplaced_workloads: list[str]
    # Plans stored before these existed lack them.
    waiting: list[WaitingWorkload] = Field(default_factory=list)
    switching_usd_per_hour: float = 0.0


class PlanDecision(UnitDecision):
    """One unit's role: as the allocations table has it now (`mode`), and as planned (`planned_mode`);
    the rest as the `plan.decided` event carries it."""

    planned_mode: PlanMode


class PlanOut(BaseModel):
    id: str
    ts: datetime
    objective_usd_per_hour: float
    optimum_usd_per_hour: float
    hashprice_usd_per_th_day: float
    reason: str
    summary: PlanSummary
    decisions: list[PlanDecision] = Field(description="empty for fleets too large to store each unit")
    recommendations: list[Recommendation]


class ModelProfitability(BaseModel):
    """One unit model at one facility: ASIC rows carry hashrate, revenue and break-even; GPU rows
    their spot price."""

    kind: UnitKind
    model: str
    units: int
    power_w: float
    energy_usd_per_hour: float
    profit_usd_per_hour: float | None = Field(description="GPU: null without a spot price")
    hashrate_ths: float | None = None
    efficiency_j_per_th: float | None = None
    revenue_usd_per_hour: float | None = None
    break_even_usd_per_mwh: float | None = None
    spot_usd_per_hour: float | None = None


class FacilityProfitability(BaseModel):
    id: str
    name: str
    market_node: str
    electricity_usd_per_mwh: float
    models: list[ModelProfitability]


class ProfitabilityOut(BaseModel):
    ts: str = IsoTime
    btc_usd: float
    hashprice_usd_per_th_day: float
    hashprice_usd_per_ph_day: float
    facilities: list[FacilityProfitability]
    stale: bool = Field(description="a price is older than its threshold")
