"""Request and response bodies of the simulator API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FaultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(min_length=1, max_length=40, description="e.g. offline, overheat, board_failure, "
                      "fan_failure, pool_down (ASIC); xid_error, thermal_throttle, fallen_off_bus (GPU)")


class SwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_id: str = Field(min_length=1, max_length=64)
    workload: str | None = Field(None, max_length=128, description="workload to load; null unloads")
    workload_type: str | None = Field(None, pattern="^(ai_inference|ai_training|batch)$")


class ClockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    speed: float = Field(gt=0, le=100_000, allow_inf_nan=False)


class UnitList(BaseModel):
    items: list[dict[str, Any]]
    total: int


class SwitchingStats(BaseModel):
    count: int
    min_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
