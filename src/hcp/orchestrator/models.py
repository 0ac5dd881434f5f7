"""Tables of the orchestrator: workloads, the history of their states, and GPU switches."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hcp.core.db import Base, UTCDateTime, new_id, utcnow
from hcp.kernel.enums import GpuModelChoice, WorkloadStatus, WorkloadType, values

# The CHECK constraints' values, in the order migrations wrote them.
STATUSES = values(WorkloadStatus)
TYPES = values(WorkloadType)
GPU_MODELS = values(GpuModelChoice)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Workload(Base):
    __tablename__ = "workloads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # The tenant's id as the auth domain issues it; no foreign key across domains.
    tenant_id: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    gpu_model: Mapped[str] = mapped_column(String(8))
    gpu_count: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    max_price_usd_per_gpu_hour: Mapped[Decimal | None] = mapped_column(Numeric(12, 4), nullable=True)
    preemptible: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), index=True)
    # Ids of the units the workload holds now (empty unless scheduled, switching or running).
    units: Mapped[list[str]] = mapped_column(JSON, default=list)
    facility_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Kept across preemptions: the workload's place in the queue by age.
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Why it is not running yet, as the workload loop last saw it (None once placed).
    wait_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    preemptions: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # A client's `Idempotency-Key`: the same key from the same tenant submits once.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        CheckConstraint(_one_of("type", TYPES), name="type"),
        CheckConstraint(_one_of("gpu_model", GPU_MODELS), name="gpu_model"),
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_workloads_submitted_at", "submitted_at"),
    )


class WorkloadEvent(Base):
    """One transition of one workload: its history, written with the transition."""

    __tablename__ = "workload_events"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    workload_id: Mapped[str] = mapped_column(String(32), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Switch(Base):
    """One GPU switched from one workload to another (or to none), with its phases."""

    __tablename__ = "switches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    workload_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    from_workload: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_workload: Mapped[str | None] = mapped_column(String(32), nullable=True)
    phases: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    latency_ms: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
