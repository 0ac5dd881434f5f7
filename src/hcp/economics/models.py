"""Tables of the economics domain: the plans it decided and the demand-response windows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hcp.core.db import Base, UTCDateTime, new_id, utcnow


class PlanRecord(Base):
    """One fleet plan: what each unit should do from `ts`, and why."""

    __tablename__ = "economics_plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    objective_usd_per_hour: Mapped[float] = mapped_column(Float)
    optimum_usd_per_hour: Mapped[float] = mapped_column(Float)
    hashprice_usd_per_th_day: Mapped[float] = mapped_column(Float)
    changed: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(300))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    decisions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    recommendations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # When each unit last changed mode, so the dwell time survives a restart.
    last_change: Mapped[dict[str, str]] = mapped_column(JSON)

    __table_args__ = (Index("ix_economics_plans_ts", "ts"),)


class DemandResponseEvent(Base):
    """A window in which a facility must hold a lower cap: ERCOT 4CP, a grid operator's call."""

    __tablename__ = "economics_demand_response"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    facility_id: Mapped[str] = mapped_column(String(64), index=True)
    power_cap_kw: Mapped[float] = mapped_column(Float)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
