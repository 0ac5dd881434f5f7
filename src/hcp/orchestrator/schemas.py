"""Request and response bodies of the workloads API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from hcp.kernel import events
from hcp.kernel.enums import GpuModelChoice, WorkloadStatus, WorkloadType

# A week of GPU time is the longest a single submission may ask for.
MAX_DURATION_S = 7 * 24 * 3600


class WorkloadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    type: WorkloadType
    priority: int = Field(ge=1, le=10)
    gpu_model: GpuModelChoice
    gpu_count: int = Field(ge=1, le=8)
    duration_s: float = Field(gt=0, le=MAX_DURATION_S, allow_inf_nan=False)
    max_price_usd_per_gpu_hour: Decimal | None = Field(
        None, gt=0, le=Decimal("1000"), max_digits=12, decimal_places=4, allow_inf_nan=False)
    # Left out: the default of the workload's class (training and batch yes, inference no).
    preemptible: bool | None = None
    # Staff submit on behalf of a tenant and must name it; a customer's is their own.
    tenant_id: str | None = Field(None, min_length=1, max_length=32)


class HistoryOut(BaseModel):
    from_: WorkloadStatus | None = Field(alias="from")
    to: WorkloadStatus
    at: datetime
    reason: str | None

    model_config = ConfigDict(populate_by_name=True)


# The answer is the body of `workload.state` events less what only a change has: one model in the
# shared kernel, so the REST answer and the live event cannot drift apart.
WorkloadOut = events.WorkloadOut


class WorkloadDetail(WorkloadOut):
    history: list[HistoryOut]


class WorkloadList(BaseModel):
    items: list[WorkloadOut]
    total: int


class SwitchOut(BaseModel):
    id: str
    unit_id: str
    workload_id: str | None
    from_: str | None = Field(alias="from")
    to: str | None
    phases: dict[str, float]
    latency_ms: float
    at: datetime

    model_config = ConfigDict(populate_by_name=True)


class SwitchList(BaseModel):
    items: list[SwitchOut]
    total: int


class FleetPoint(BaseModel):
    """The fleet over one step: averages of the `fleet.metrics` snapshots taken in it."""

    ts: datetime = Field(description="Start of the step")
    hashrate_ths: float | None
    power_w: dict[str, float] = Field(description="By mode (mining, ai, idle, curtailed) and total")
    power_w_by_facility: dict[str, float]
    gpu_utilization: float | None = Field(description="Mean utilisation (0..1) of the online GPUs")
    gpus_busy: float | None
    gpus_total: float | None


class FleetHistory(BaseModel):
    """Recent fleet metrics, oldest first, so a chart opens full and `fleet.metrics` events extend it."""

    window_s: int
    step_s: int
    source: str = Field(description='"raw" (snapshots still kept) or "rollup" (per-minute rollups)')
    points: list[FleetPoint]


class QueueClassOut(BaseModel):
    """One queue class (the router's classification of a workload type) as it stands now."""

    name: str = Field(description="the router's queue class: inference, training or batch")
    type: WorkloadType
    start_slo_s: float = Field(description="how long a workload of the class may wait before missing its start SLO")
    depth: int = Field(description="workloads waiting (submitted, queued or preempted)")
    gpus_waiting: int
    oldest_wait_s: float | None = Field(description="the longest wait so far, by the platform's clock")
    median_wait_s: float | None
    over_slo: int = Field(description="waiting workloads past the start SLO")
    placed: int = Field(description="workloads holding GPUs (scheduled, switching or running)")
    gpus_placed: int


class WorkloadQueues(BaseModel):
    at: datetime
    classes: list[QueueClassOut]


class PlacementOut(BaseModel):
    """A workload and the units it holds now."""

    workload_id: str
    name: str
    tenant_id: str
    type: WorkloadType
    status: WorkloadStatus
    gpu_model: GpuModelChoice
    gpu_count: int
    facility_id: str | None
    units: list[str]
    started_at: datetime | None


class PlacementList(BaseModel):
    items: list[PlacementOut]
    total: int


class SwitchSummary(BaseModel):
    """Latency of the switches passing the filters; the percentiles are None when there are none."""

    count: int
    min_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    mean_ms: float | None
    target_ms: float = Field(description="the switch time the platform aims under")
    over_target: int = Field(description="switches slower than target_ms")
