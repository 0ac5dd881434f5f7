"""The platform's closed vocabularies, one `StrEnum` each, shared by tables (CHECK constraints),
schemas (OpenAPI enums), query filters and events. A value added here is added everywhere.

A `StrEnum` member is a `str`: it compares equal to its value, so rows and JSON stay plain text.
"""

from __future__ import annotations

from enum import StrEnum


class UnitKind(StrEnum):
    GPU = "gpu"
    ASIC = "asic"


class UnitStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    MAINTENANCE = "maintenance"
    SWITCHING = "switching"


class Health(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


class UnitMode(StrEnum):
    """What a unit does: its one role at a time (`unknown` until a driver has read it)."""

    MINING = "mining"
    CURTAILED = "curtailed"
    WORKLOAD = "workload"
    SPOT = "spot"
    IDLE = "idle"
    UNKNOWN = "unknown"


class PlanMode(StrEnum):
    """The roles the planner assigns (every `UnitMode` but `unknown`)."""

    MINING = "mining"
    CURTAILED = "curtailed"
    WORKLOAD = "workload"
    SPOT = "spot"
    IDLE = "idle"


class WorkloadType(StrEnum):
    AI_INFERENCE = "ai_inference"
    AI_TRAINING = "ai_training"
    BATCH = "batch"


class GpuModelChoice(StrEnum):
    """The GPU model a workload asks for (`any`: whichever is free)."""

    H100 = "H100"
    A100 = "A100"
    ANY = "any"


class WorkloadStatus(StrEnum):
    SUBMITTED = "submitted"
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    SWITCHING = "switching"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PREEMPTED = "preempted"


WAITING_STATUSES = frozenset({WorkloadStatus.SUBMITTED, WorkloadStatus.QUEUED, WorkloadStatus.PREEMPTED})
FINAL_STATUSES = frozenset({WorkloadStatus.COMPLETED, WorkloadStatus.FAILED, WorkloadStatus.CANCELLED})


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKED = "acked"
    RESOLVED = "resolved"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PAID = "paid"
    VOID = "void"


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    CUSTOMER = "customer"


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    """The values, in declaration order, for a CHECK constraint or a CSV column."""
    return tuple(member.value for member in enum)
