"""Tables of billing: monthly budgets per tenant."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from hcp.core.db import Base, UTCDateTime, utcnow
from hcp.core.money import MoneyColumn


class Budget(Base):
    __tablename__ = "billing_budgets"

    # The tenant's id as the auth domain issues it; no foreign key across domains.
    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    monthly_limit_usd: Mapped[Decimal] = mapped_column(MoneyColumn)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
