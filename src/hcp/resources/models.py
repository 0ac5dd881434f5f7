"""Tables of the resource manager: facilities, racks and units (the fleet's topology), their
telemetry (raw samples and one-minute rollups) and allocations of units to workloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hcp.core.db import Base, UTCDateTime, new_id, utcnow
from hcp.kernel.enums import Health, UnitKind, UnitMode, UnitStatus, values

# The CHECK constraints' values, in the order migrations wrote them.
KINDS = values(UnitKind)
STATUSES = values(UnitStatus)
HEALTHS = values(Health)
MODES = values(UnitMode)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Facility(Base):
    __tablename__ = "facilities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(200))
    # The grid connection's limit: the sum of every unit's power in the facility stays under it.
    power_cap_kw: Mapped[float] = mapped_column(Float)
    # Where the facility buys power (an ERCOT hub, a MISO node): the price series it follows.
    market_node: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Rack(Base):
    __tablename__ = "racks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    facility_id: Mapped[str] = mapped_column(ForeignKey("facilities.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Order of racks in the facility's floor plan.
    position: Mapped[int] = mapped_column(Integer, default=0)
    # A rack's own feed limit (PDU), when it has one below the facility's.
    power_cap_kw: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Unit(Base):
    """One ASIC or GPU. `identity` is what a rescan finds again (the MAC, else the serial, else
    driver and address), so discovery updates a unit instead of adding it twice."""

    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    identity: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(8), index=True)
    model: Mapped[str] = mapped_column(String(100), index=True)
    driver: Mapped[str] = mapped_column(String(16))
    # Where the driver reaches the unit (an IP, sim://gpu-001, nvml://GPU-...); None once another
    # unit was found there, until this one is found again.
    address: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    driver_options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    facility_id: Mapped[str | None] = mapped_column(
        ForeignKey("facilities.id", ondelete="SET NULL"), nullable=True, index=True
    )
    rack_id: Mapped[str | None] = mapped_column(ForeignKey("racks.id", ondelete="SET NULL"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default=UnitStatus.ONLINE.value, index=True)
    health: Mapped[str] = mapped_column(String(16), default=Health.OK.value)
    health_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    mode: Mapped[str] = mapped_column(String(16), default=UnitMode.UNKNOWN.value)
    # Nameplate figures; what the unit does now is in `reading`.
    hashrate_ths: Mapped[float | None] = mapped_column(Float, nullable=True)
    memory_mib: Mapped[int | None] = mapped_column(Integer, nullable=True)
    power_w: Mapped[float | None] = mapped_column(Float, nullable=True)
    mac: Mapped[str | None] = mapped_column(String(17), nullable=True)
    serial: Mapped[str | None] = mapped_column(String(100), nullable=True)
    hostname: Mapped[str | None] = mapped_column(String(255), nullable=True)
    firmware: Mapped[str | None] = mapped_column(String(100), nullable=True)
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The latest value of every metric, and when the unit last answered.
    reading: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reading_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    missed_polls: Mapped[int] = mapped_column(Integer, default=0)
    workload_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(_one_of("kind", KINDS), name="kind"),
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        CheckConstraint(_one_of("health", HEALTHS), name="health"),
        CheckConstraint(_one_of("mode", MODES), name="mode"),
    )


class TelemetrySample(Base):
    """One reading of one metric: narrow, so any driver's metrics fit, and batched inserts stay
    cheap. `ts_ms` is milliseconds since the epoch (platform clock): an integer both databases
    compare and bucket with plain arithmetic."""

    __tablename__ = "telemetry_samples"

    unit_id: Mapped[str] = mapped_column(String(64))
    metric: Mapped[str] = mapped_column(String(48))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float] = mapped_column(Float)

    # The key doubles as the dedup of a redelivered telemetry event and the range index; on SQLite
    # the table is stored in key order (WITHOUT ROWID), one B-tree fewer to write per sample.
    __table_args__ = (
        PrimaryKeyConstraint("unit_id", "metric", "ts_ms"),
        Index("ix_telemetry_samples_ts", "ts_ms"),
        {"sqlite_with_rowid": False},
    )


class TelemetryRollup(Base):
    """One minute of one metric of one unit, recomputed from the raw samples while they exist."""

    __tablename__ = "telemetry_rollups"

    unit_id: Mapped[str] = mapped_column(String(64))
    metric: Mapped[str] = mapped_column(String(48))
    minute_ms: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    sum: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        PrimaryKeyConstraint("unit_id", "metric", "minute_ms"),
        Index("ix_telemetry_rollups_minute", "minute_ms"),
    )


class Allocation(Base):
    """A unit held by a workload from `allocated_at` until `released_at`.

    The partial unique index is the guarantee that a unit has at most one active allocation:
    two allocators racing for one unit cannot both commit, on SQLite or PostgreSQL.
    """

    __tablename__ = "allocations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    # The workload's and tenant's ids as their domains issue them; no foreign keys across domains.
    workload_id: Mapped[str] = mapped_column(String(64), index=True)
    tenant_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    allocated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expected_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    release_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)

    __table_args__ = (
        Index(
            "uq_allocations_active_unit", "unit_id", unique=True,
            sqlite_where=text("released_at IS NULL"), postgresql_where=text("released_at IS NULL"),
        ),
        Index("ix_allocations_unit_id", "unit_id"),
    )
