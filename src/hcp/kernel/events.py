"""The events on the bus, one class per subject: publishers build them, each consumer parses a body
once with `event.parse(Model)`. A body the model refuses is malformed: the bus dead-letters it once.

Fields a consumer does not know are ignored (`Payload`), so adding a field is a change here and in
the publisher only. Bodies are JSON: times ISO 8601 with an offset, money decimal strings.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Final

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

from hcp.core.bus import Payload
from hcp.core.money import PriceStr
from hcp.kernel.enums import (
    AlertStatus,
    GpuModelChoice,
    Health,
    InvoiceStatus,
    PlanMode,
    Severity,
    UnitKind,
    UnitMode,
    UnitStatus,
    WorkloadStatus,
    WorkloadType,
)

SOURCE_LENGTH: Final = 32
SIM_SOURCE: Final = "sim"

Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
SeriesKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
Source = Annotated[str, StringConstraints(pattern=rf"^[a-z0-9_.\-]{{1,{SOURCE_LENGTH}}}$")]
Series = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}(:[A-Za-z0-9_.\-]{1,64})?$")]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


# A number as JSON carries it: an int or a float, never a string or a boolean, always finite.
Number = Annotated[float, Field(strict=True), AfterValidator(_finite)]
Positive = Annotated[float, Field(strict=True, gt=0), AfterValidator(_finite)]
NonNegative = Annotated[float, Field(strict=True, ge=0), AfterValidator(_finite)]
# A decimal amount, carried as the string the publisher wrote ("2.50", "7260.500000"), never a float.
DecimalStr = Annotated[Decimal, Field(allow_inf_nan=False), PlainSerializer(str, return_type=str)]


class MarketTick(Payload):
    """Prices at one moment: from the market simulator (all series) or composed from the live feeds
    (whatever they observed; `sources` and `series_ts` say where and when each value came from)."""

    subject: ClassVar[str] = "market.tick"

    ts: AwareDatetime | None = None  # absent: the event's own time
    source: Source = SIM_SOURCE
    btc_usd: Positive | None = None
    network_difficulty: Positive | None = None
    fees_btc_per_block: NonNegative | None = None
    hashprice_usd_per_th_day: NonNegative | None = None
    hashprice_usd_per_ph_day: NonNegative | None = None
    network_hashrate_ths: NonNegative | None = None
    # Electricity may go negative (a node paying to take power); GPU spot may not.
    electricity_usd_per_mwh: dict[SeriesKey, Number] = Field(default_factory=dict)
    gpu_spot_usd_per_hour: dict[SeriesKey, NonNegative] = Field(default_factory=dict)
    sources: dict[Series, Source] = Field(default_factory=dict)
    series_ts: dict[Series, AwareDatetime] = Field(default_factory=dict)

    def at(self, fallback: str | datetime) -> datetime:
        """The tick's time, or the event's when the body names none."""
        if self.ts is not None:
            return self.ts
        return fallback if isinstance(fallback, datetime) else datetime.fromisoformat(fallback)


class UnitReading(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    unit_id: Id
    kind: UnitKind
    online: bool
    metrics: dict[str, Any] | None = None


class UnitTelemetry(Payload):
    """Current readings of many units (a batch), from the simulator or the resources poller."""

    subject: ClassVar[str] = "unit.telemetry"
    source: str | None = None
    units: list[UnitReading]


class UnitAllocationView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    id: str
    workload_id: str
    tenant_id: str | None = None
    allocated_at: datetime | None = None
    expected_end_at: datetime | None = None


class UnitState(Payload):
    """A unit's status, health or mode changed: the unit as `/resources/units` shows it, and what it was."""

    subject: ClassVar[str] = "unit.state"
    id: Id
    kind: UnitKind
    model: str | None = None
    driver: str | None = None
    address: str | None = None
    facility_id: str | None = None
    rack_id: str | None = None
    status: UnitStatus
    health: Health
    health_reasons: list[str] = Field(default_factory=list)
    mode: UnitMode
    workload_id: str | None = None
    nominal: dict[str, float | None] = Field(default_factory=dict)
    reading: dict[str, Any] = Field(default_factory=dict)
    reading_at: datetime | None = None
    last_seen_at: datetime | None = None
    missed_polls: int = 0
    mac: str | None = None
    serial: str | None = None
    hostname: str | None = None
    firmware: str | None = None
    capabilities: list[str] = Field(default_factory=list)
    registered_at: datetime | None = None
    allocation: UnitAllocationView | None = None
    previous: dict[str, Any] | None = None  # status, health and mode before the change


class WorkloadOut(BaseModel):
    """A workload as `/workloads` shows it (and as `workload.state` carries it)."""

    id: str
    name: str
    tenant_id: str
    type: WorkloadType
    priority: int
    gpu_model: GpuModelChoice
    gpu_count: int
    duration_s: float
    max_price_usd_per_gpu_hour: PriceStr | None
    preemptible: bool
    status: WorkloadStatus
    units: list[str]
    facility_id: str | None
    submitted_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    failure_reason: str | None
    wait_reason: str | None = Field(
        None, description="why a queued workload is not running yet: GPUs, power cap (or a demand-response "
                          "window), a reservation for work ahead of it, fair share, or its price limit")
    preemptions: int
    created_by: str | None


class WorkloadState(Payload, WorkloadOut):
    """A workload changed status: the workload as `/workloads` shows it, what it was before, and
    the model of the GPUs it holds while placed, so consumers (billing) need not ask resources."""

    subject: ClassVar[str] = "workload.state"
    previous_status: WorkloadStatus | None = None
    placed_gpu_model: str | None = Field(
        None, description="the model of the GPUs it was placed on (`gpu_model` may be \"any\"); None unless placed")


class UnitDecision(BaseModel):
    """One unit's role in a plan."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    unit_id: str
    mode: PlanMode
    power_w: float
    hashrate_ths: float | None = None
    workload_id: str | None = None
    tenant_id: str | None = None
    facility_id: str | None = None
    held: bool = Field(False, description="a workload holds the unit (running work)")
    spot_ends_at: str | None = Field(None, json_schema_extra={"format": "date-time"},
                                     description="a spot rental given notice stays rented until then")


class WaitingWorkload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    workload_id: str
    reason: str


class PlanDecided(Payload):
    """The planner decided the fleet's roles: the plan's summary and, for fleets of demo size, the
    decisions that changed."""

    subject: ClassVar[str] = "plan.decided"
    id: Id
    ts: datetime
    objective_usd_per_hour: float
    optimum_usd_per_hour: float
    hashprice_usd_per_th_day: float
    switching_usd_per_hour: float = 0.0
    units_by_mode: dict[PlanMode, int]
    changed: int
    reason: str
    facilities: list[dict[str, Any]] = Field(default_factory=list)
    unplaced_workloads: list[str] = Field(default_factory=list)
    waiting: list[WaitingWorkload] = Field(default_factory=list)
    recommendations: list[dict[str, Any]] = Field(default_factory=list)
    changes: list[UnitDecision] | None = None


class SwitchDone(Payload):
    """A simulated GPU finished switching from one workload to another (phases in ms)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)
    subject: ClassVar[str] = "switch.done"
    unit_id: str
    index: int | None = None
    from_workload: str | None = Field(None, alias="from")
    to_workload: str | None = Field(None, alias="to")
    workload_type: str | None = None
    phases: dict[str, float] = Field(default_factory=dict)
    latency_ms: float
    started_at: datetime | None = None
    finished_at: datetime | None = None


class AlertView(Payload):
    """An alert: what `/alerts` answers, and the body of the `alert.*` events (the subject says what
    happened to it). One model, so the REST answer and the live event cannot drift apart."""

    id: Id
    cause: str
    rule: str
    severity: Severity
    status: AlertStatus
    subject_kind: str
    subject_id: str
    tenant_id: str | None
    message: str
    details: dict[str, Any]
    raised_at: datetime
    updated_at: datetime
    acked_at: datetime | None
    acked_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None


class AlertRaised(AlertView):
    subject: ClassVar[str] = "alert.raised"


class AlertAcked(AlertView):
    subject: ClassVar[str] = "alert.acked"


class AlertResolved(AlertView):
    subject: ClassVar[str] = "alert.resolved"


class BillingUsage(Payload):
    """A stretch of a workload's GPU time was metered."""

    subject: ClassVar[str] = "billing.usage"
    id: Id
    tenant_id: str
    workload_id: str
    workload_name: str | None = None
    gpu_model: str
    gpu_count: int
    priority: int
    started_at: datetime
    ended_at: datetime
    gpu_seconds: DecimalStr
    rate_usd_per_gpu_hour: DecimalStr
    cost_usd: DecimalStr


class BudgetThreshold(Payload):
    """A tenant's month-to-date spend crossed a threshold of its budget (sent once per threshold)."""

    subject: ClassVar[str] = "billing.budget"
    tenant_id: str
    month: str
    threshold_pct: int
    spent_usd: DecimalStr
    limit_usd: DecimalStr


class InvoiceIssued(Payload):
    """An invoice was issued: the invoice as `/billing/invoices/{id}` shows it, with its lines."""

    subject: ClassVar[str] = "invoice.issued"
    id: Id
    number: str | None = None
    tenant_id: str
    period: str
    kind: str
    status: InvoiceStatus
    currency: str
    subtotal_usd: DecimalStr
    tax_rate: DecimalStr
    tax_usd: DecimalStr
    total_usd: DecimalStr
    corrects_id: str | None = None
    created_at: datetime | None = None
    issued_at: datetime | None = None
    paid_at: datetime | None = None
    voided_at: datetime | None = None
    lines: list[dict[str, Any]] = Field(default_factory=list)


class FleetMetricsSnapshot(Payload):
    """The fleet at a glance, every few seconds: hashrate, power by mode and facility, GPUs busy,
    profit and the queue."""

    subject: ClassVar[str] = "fleet.metrics"
    ts: datetime
    hashrate_ths: float
    power_w: dict[str, float]
    power_w_by_facility: dict[str, float]
    gpu_utilization: float | None = None
    gpus_busy: int
    gpus_total: int
    asics_mining: int
    profit_usd_per_hour: float | None = None
    queue_depth: dict[str, int] | None = None  # per queue class; None where no workload loop runs


EVENTS: Final[tuple[type[Payload], ...]] = (
    MarketTick, UnitTelemetry, UnitState, WorkloadState, PlanDecided, SwitchDone, AlertRaised, AlertAcked,
    AlertResolved, BillingUsage, BudgetThreshold, InvoiceIssued, FleetMetricsSnapshot,
)
BY_SUBJECT: Final[dict[str, type[Payload]]] = {model.subject: model for model in EVENTS}

_SUBJECT_NAME = re.compile(r"^[a-z]+(\.[a-z]+)+$")
assert all(_SUBJECT_NAME.match(s) for s in BY_SUBJECT), "subjects are dotted lowercase words"
