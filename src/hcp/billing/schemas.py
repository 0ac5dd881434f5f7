"""Request bodies of the billing API (responses are built by the services, money as strings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _no_float(value: object) -> object:
    # JSON numbers arrive as floats: accept only what a float can say exactly at cent scale.
    if isinstance(value, float):
        return str(value)
    return value


class EstimateIn(_Strict):
    gpu_model: Literal["H100", "A100", "any"]
    gpu_count: int = Field(ge=1, le=8)
    hours: Decimal = Field(gt=0, le=24 * 366, max_digits=12, decimal_places=6)
    priority: int = Field(5, ge=1, le=10)

    _hours = field_validator("hours", mode="before")(_no_float)


class BudgetIn(_Strict):
    monthly_limit_usd: Decimal = Field(ge=0, le=Decimal("1e12"), max_digits=16, decimal_places=2)
    tenant_id: str | None = Field(None, max_length=32)

    _limit = field_validator("monthly_limit_usd", mode="before")(_no_float)


class InvoiceIn(_Strict):
    """An on-demand invoice (admin): the tenant's unbilled usage within [from, to)."""

    tenant_id: str = Field(max_length=32)
    month: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM; default: this month so far")
    issue: bool = True


class PayIn(_Strict):
    # The simulated provider: card_ok succeeds, card_declined declines, card_timeout times out.
    payment_method: str = Field("card_ok", min_length=1, max_length=64)
