"""The alerts table: one row per alert, open -> acked -> resolved.

De-duplication is the database's job: `open_cause` holds the alert's cause while it is open or
acked and NULL once resolved, under a unique index, so two rule evaluations (or two replicas)
racing on one cause can never open two alerts for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hcp.core.db import Base, UTCDateTime, new_id, utcnow
from hcp.kernel.enums import AlertStatus, Severity, values

STATUSES = values(AlertStatus)
SEVERITIES = values(Severity)  # mildest first
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # What is wrong, and with what: "temperature:asic-a1b2", "budget:<tenant>:2026-11".
    cause: Mapped[str] = mapped_column(String(200), index=True)
    # The cause again while the alert is open or acked, NULL once resolved (unique: see above).
    open_cause: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    rule: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8), index=True)
    # The thing the alert is about: a unit, a market node, a tenant's budget...
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    # Set for alerts that belong to one tenant (budgets): customers see those of their own only.
    tenant_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    message: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # A user's email, or "auto" when the cause cleared.
    resolved_by: Mapped[str | None] = mapped_column(String(320), nullable=True)

    __table_args__ = (
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        CheckConstraint(_one_of("severity", SEVERITIES), name="severity"),
        Index("ix_alerts_raised_at", "raised_at"),
        Index("ix_alerts_subject", "subject_kind", "subject_id"),
    )
