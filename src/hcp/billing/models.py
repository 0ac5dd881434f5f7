"""Tables of billing: budgets, metering marks and usage, invoices and their lines, payments,
budget alerts sent, and mining earnings per facility and hour.

Money columns are NUMERIC (`MoneyColumn`); GPU time is NUMERIC seconds with microseconds,
so that rate x time is exact until the one rounding at an invoice line.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hcp.core.db import Base, UTCDateTime, new_id, utcnow
from hcp.core.money import MoneyColumn
from hcp.kernel.enums import InvoiceStatus, values

GpuSeconds = Numeric(24, 6, asdecimal=True)
BtcColumn = Numeric(24, 12, asdecimal=True)


class InvoiceKind(StrEnum):
    MONTHLY = "monthly"
    ON_DEMAND = "on_demand"
    CORRECTION = "correction"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    TIMED_OUT = "timed_out"


def _one_of(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values(enum))})"


class Budget(Base):
    __tablename__ = "billing_budgets"

    # The tenant's id as the auth domain issues it; no foreign key across domains.
    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    monthly_limit_usd: Mapped[Decimal] = mapped_column(MoneyColumn)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class UsageMark(Base):
    """A start (switching->running) or end (running->anything) of a workload's billable time,
    one per `workload.state` event: marks are paired into usage in time order, so events
    arriving out of order (several replicas) or twice pair the same way."""

    __tablename__ = "billing_usage_marks"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workload_id: Mapped[str] = mapped_column(String(32), index=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Which run of the workload the mark belongs to (its preemptions and queued_at at the start),
    # so that an end pairs with its own start even when a mark in between has not arrived yet.
    segment: Mapped[str | None] = mapped_column(String(80), nullable=True)
    workload_name: Mapped[str] = mapped_column(String(200))
    gpu_model: Mapped[str] = mapped_column(String(16))
    gpu_count: Mapped[int] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer)
    rate_usd_per_gpu_hour: Mapped[Decimal] = mapped_column(MoneyColumn)

    __table_args__ = (CheckConstraint("kind IN ('start', 'end')", name="kind"),)


class Usage(Base):
    """Metered GPU time of one workload within one UTC day (segments are split at midnight)."""

    __tablename__ = "billing_usage"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    start_event_id: Mapped[str] = mapped_column(String(64))
    part: Mapped[int] = mapped_column(Integer)
    end_event_id: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[str] = mapped_column(String(32), index=True)
    workload_id: Mapped[str] = mapped_column(String(32), index=True)
    workload_name: Mapped[str] = mapped_column(String(200))
    gpu_model: Mapped[str] = mapped_column(String(16))
    gpu_count: Mapped[int] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    gpu_seconds: Mapped[Decimal] = mapped_column(GpuSeconds)
    rate_usd_per_gpu_hour: Mapped[Decimal] = mapped_column(MoneyColumn)
    invoice_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)

    __table_args__ = (
        UniqueConstraint("start_event_id", "part"),
        Index("ix_billing_usage_tenant_ended", "tenant_id", "ended_at"),
    )


class Invoice(Base):
    __tablename__ = "billing_invoices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    tenant_id: Mapped[str] = mapped_column(String(32), index=True)
    # "YYYY-MM" of a monthly invoice; an on-demand one names the month it was drawn in.
    period: Mapped[str] = mapped_column(String(7))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_usd: Mapped[Decimal] = mapped_column(MoneyColumn)
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(8, 6, asdecimal=True))
    tax_usd: Mapped[Decimal] = mapped_column(MoneyColumn)
    total_usd: Mapped[Decimal] = mapped_column(MoneyColumn)
    # The invoice this one corrects (voided in its favour), if any.
    corrects_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        CheckConstraint(_one_of("status", InvoiceStatus), name="status"),
        CheckConstraint(_one_of("kind", InvoiceKind), name="kind"),
    )


class InvoiceLine(Base):
    __tablename__ = "billing_invoice_lines"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    invoice_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("billing_invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    workload_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    gpu_model: Mapped[str] = mapped_column(String(16))
    gpu_seconds: Mapped[Decimal] = mapped_column(GpuSeconds)
    quantity_hours: Mapped[Decimal] = mapped_column(MoneyColumn)
    rate_usd: Mapped[Decimal] = mapped_column(MoneyColumn)
    amount_usd: Mapped[Decimal] = mapped_column(MoneyColumn)


class Closing(Base):
    """A tenant's month closed into its monthly invoice: at most once, whichever replica runs it."""

    __tablename__ = "billing_closings"

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    invoice_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Payment(Base):
    __tablename__ = "billing_payments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    invoice_id: Mapped[str] = mapped_column(String(32), index=True)
    amount_usd: Mapped[Decimal] = mapped_column(MoneyColumn)
    status: Mapped[str] = mapped_column(String(12))
    provider: Mapped[str] = mapped_column(String(32))
    provider_reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    message: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        CheckConstraint(_one_of("status", PaymentStatus), name="status"),
    )


class BudgetAlert(Base):
    """A `billing.budget` event sent: once per tenant, month and threshold."""

    __tablename__ = "billing_budget_alerts"

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    threshold_pct: Mapped[int] = mapped_column(Integer, primary_key=True)
    spent_usd: Mapped[Decimal] = mapped_column(MoneyColumn)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class MiningEarning(Base):
    """What a facility's miners earned from `hour` on for `hours` (1 when accrued live; the demo's
    history is loaded by the day), at the prices of that time."""

    __tablename__ = "billing_mining_earnings"

    facility_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    hours: Mapped[int] = mapped_column(Integer, default=1)
    hashrate_ths: Mapped[Decimal] = mapped_column(Numeric(20, 6, asdecimal=True))
    energy_kwh: Mapped[Decimal] = mapped_column(Numeric(20, 6, asdecimal=True))
    btc_usd: Mapped[Decimal] = mapped_column(MoneyColumn)
    btc: Mapped[Decimal] = mapped_column(BtcColumn)
    revenue_usd: Mapped[Decimal] = mapped_column(MoneyColumn)
    energy_cost_usd: Mapped[Decimal] = mapped_column(MoneyColumn)
