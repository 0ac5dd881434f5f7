"""The backtest's Pydantic models: the fleet as a file or a request gives it, and the request and
response of `POST /economics/backtest` (every 2xx answer has its schema in /openapi.json)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from hcp.economics.backtest.defaults import (
    ASIC_RAMP_S,
    GPU_SWITCH_S,
    MAX_ASIC_RAMP_S,
    MAX_GPU_SWITCH_S,
    MAX_MIN_DWELL_S,
    MAX_UNITS,
    MIN_DWELL_S,
    STRATEGIES,
    Strategy,
)
from hcp.economics.schemas import UnitIn, WorkloadIn

# --------------------------------------------------------------------------------------------------
# The fleet, as the YAML file (or the API's JSON) gives it


_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class FleetFacility(BaseModel):
    model_config = _STRICT
    id: str = Field(min_length=1, max_length=128)
    power_cap_kw: float = Field(ge=0, le=10_000_000)
    market_node: str = Field(min_length=1, max_length=64, description="electricity column of the price history")


class FleetUnit(UnitIn):
    """A unit as `POST /economics/optimize` takes it; `count` > 1 stands for that many identical
    units, named `<id>-1`, `<id>-2`, ... (zero-padded)."""

    count: int = Field(1, ge=1, le=MAX_UNITS)


class FleetWorkload(WorkloadIn):
    """Contracted AI demand: holds its GPUs for the whole backtest at its price, in one facility
    (`facility_id`, or else chosen once before the run: see `build_model`). Contracts together
    must fit the GPUs: a pool is never sold twice.

    A contract is admitted work with an SLO, so in a backtest it is always `committed`: run at
    every step the fleet can, never traded for mining or spot. `committed: false` is refused
    rather than ignored, so that nobody reads a result as if it had been honoured.
    """

    facility_id: str | None = Field(None, min_length=1, max_length=128)
    committed: bool = Field(True, description="always true: a contracted workload is admitted work with an SLO")

    @field_validator("committed")
    @classmethod
    def _always_committed(cls, value: bool) -> bool:
        if not value:
            raise ValueError("a contracted workload in a backtest is a commitment: leave it out or set it true")
        return value


class Fleet(BaseModel):
    model_config = _STRICT
    facilities: list[FleetFacility] = Field(min_length=1, max_length=1_000)
    units: list[FleetUnit] = Field(default_factory=list, max_length=100_000)
    workloads: list[FleetWorkload] = Field(default_factory=list, max_length=10_000)



# --------------------------------------------------------------------------------------------------
# POST /economics/backtest


class RevenueBySource(BaseModel):
    mining: float
    ai_contracted: float
    spot: float
    total: float


class StrategySummary(BaseModel):
    strategy: str
    profit_usd: float = Field(description="revenue less energy, before switching costs")
    profit_after_switching_usd: float = Field(description="profit_usd less switching_cost_usd")
    switching_cost_usd: float = Field(
        description="revenue lost while units switch: each ASIC start's ramp at the hashprice of its step and "
                    "point, each GPU's switch at the price of the role it enters")
    revenue_usd: RevenueBySource
    energy_cost_usd: float
    energy_mwh: float
    mean_power_kw: float
    peak_power_kw: float
    curtailed_asic_hours: float = Field(description="ASIC-hours spent curtailed (by choice or for the cap)")
    hours_with_curtailment: float = Field(description="hours during which at least one ASIC was curtailed")
    switches: int = Field(description="unit mode changes between steps (mining/curtailed, workload/spot/idle)")
    asic_starts: int = Field(description="ASICs that went from curtailed to mining")
    asic_stops: int = Field(description="ASICs that went from mining to curtailed")
    gpu_switches: int = Field(description="GPUs that changed role (a workload, spot, idle)")
    slo_shortfall_gpu_hours: float = Field(description="contracted GPU-hours not delivered (a contract not running "
                                                       "at a step misses that step's hours)")
    slo_shortfall_usd: float = Field(description="those GPU-hours at their contract price")


class PriceRowIn(BaseModel):
    model_config = _STRICT
    ts: AwareDatetime
    btc_usd: float = Field(gt=0, le=100_000_000)
    network_difficulty: float = Field(gt=0)
    fees_btc_per_block: float = Field(0.0, ge=0, le=1_000)
    electricity_usd_per_mwh: dict[str, float] = Field(min_length=1, max_length=100)
    gpu_spot_usd_per_hour: dict[str, float] = Field(default_factory=dict, max_length=100)

    @field_validator("gpu_spot_usd_per_hour")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for model, price in value.items():
            if price < 0:
                raise ValueError(f"{model}: a spot price is >= 0")
        return value


class PricesIn(BaseModel):
    """Either the shipped synthetic year (`"sample"`, or `{"sample": true}`) or rows given inline."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": ["sample", {"rows": []}]})
    sample: bool = False
    rows: list[PriceRowIn] | None = Field(None, min_length=2, max_length=20_000)

    @model_validator(mode="before")
    @classmethod
    def _sample_by_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value != "sample":
                raise ValueError('expected "sample" or {"rows": [...]}')
            return {"sample": True}
        return value

    @model_validator(mode="after")
    def _one_source(self) -> PricesIn:
        if self.sample == (self.rows is not None):
            raise ValueError('give either "sample" or rows, not both or neither')
        return self


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)
    strategies: list[Strategy] = Field(default_factory=lambda: list(STRATEGIES), min_length=1, max_length=4)
    fleet: Fleet
    prices: PricesIn = Field(default_factory=lambda: PricesIn(sample=True),
                             description='"sample" (the shipped synthetic year) or {"rows": [...]}, each a market tick')
    from_: AwareDatetime | None = Field(None, alias="from")
    to: AwareDatetime | None = None
    threshold_usd_per_mwh: float | None = Field(
        None, ge=-1_000, le=20_000, description="price-threshold's strike price; default: the fleet's break-even")
    series_points: int = Field(0, ge=0, le=2_000, description="downsampled per-step series to return (0: none)")
    asic_ramp_s: float = Field(ASIC_RAMP_S, ge=0, le=MAX_ASIC_RAMP_S,
                               description="an ASIC start loses this many seconds of its revenue")
    gpu_switch_s: float = Field(GPU_SWITCH_S, ge=0, le=MAX_GPU_SWITCH_S,
                                description="a GPU's change of role loses this many seconds of its new role's price")
    min_dwell_s: float = Field(MIN_DWELL_S, ge=0, le=MAX_MIN_DWELL_S,
                               description="hybrid keeps a count unless changing it gains more over this many "
                                           "seconds than the switches it adds")


class Period(BaseModel):
    start: datetime
    end: datetime
    steps: int
    hours: float


class SeriesOut(BaseModel):
    ts: list[datetime]
    hashprice_usd_per_ph_day: list[float]
    electricity_usd_per_mwh: dict[str, list[float]]
    gpu_spot_usd_per_hour: dict[str, list[float]]
    power_kw: dict[str, dict[str, list[float]]] = Field(description="strategy -> mode -> mean kW per bucket")
    cumulative_profit_usd: dict[str, list[float]]


class BacktestResponse(BaseModel):
    period: Period
    prices_source: str
    synthetic_prices: bool
    threshold_usd_per_mwh: float | None
    strategies: list[StrategySummary]
    notes: list[str] = Field(default_factory=list, description="contracts the fleet cannot run; a single-mode "
                                                               "strategy that beat hybrid after switching costs")
    series: SeriesOut | None = None
    elapsed_ms: float
