"""Request and response bodies of the billing API. Money leaves as decimal strings ("12.50",
rates "3.125"), never floats; other exact quantities (hours, rates of tax) as decimal strings too."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from hcp.billing.models import InvoiceKind, PaymentStatus
from hcp.core.money import DecimalStr, MoneyStr, RateStr
from hcp.kernel.enums import GpuModelChoice, InvoiceStatus

# A payment's times have always been written as Python's isoformat ("+00:00", also in the
# details of a declined payment's error), not as pydantic's "Z" like the other answers' times.
IsoTimestamp = Annotated[datetime, PlainSerializer(lambda t: t.isoformat(), return_type=str, when_used="json")]
UsageGrouping = Literal["workload", "model", "day"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _no_float(value: object) -> object:
    # JSON numbers arrive as floats: accept only what a float can say exactly at cent scale.
    if isinstance(value, float):
        return str(value)
    return value


class EstimateIn(_Strict):
    gpu_model: GpuModelChoice
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


# --- answers ------------------------------------------------------------------------------------
class Rate(BaseModel):
    gpu_model: str
    rate_usd_per_gpu_hour: RateStr


class PriorityMultiplier(BaseModel):
    priority: int
    multiplier: DecimalStr


class RateCard(BaseModel):
    currency: str
    unit: Literal["gpu_hour"] = "gpu_hour"
    rates: list[Rate]
    priority_multipliers: list[PriorityMultiplier]
    tax_rate: DecimalStr


class Estimate(BaseModel):
    gpu_model: GpuModelChoice
    gpu_count: int
    hours: DecimalStr
    priority: int
    base_rate_usd_per_gpu_hour: RateStr
    multiplier: DecimalStr
    rate_usd_per_gpu_hour: RateStr
    gpu_hours: DecimalStr
    subtotal_usd: MoneyStr
    tax_usd: MoneyStr
    total_usd: MoneyStr
    currency: str


class _UsageItem(BaseModel):
    # Exactly one grouping's fields: the three shapes stay apart when a union is validated.
    model_config = ConfigDict(extra="forbid")


class UsageByWorkload(_UsageItem):
    workload_id: str
    workload_name: str
    tenant_id: str
    gpu_model: str
    gpu_hours: DecimalStr
    cost_usd: MoneyStr


class UsageByModel(_UsageItem):
    gpu_model: str
    gpu_hours: DecimalStr
    cost_usd: MoneyStr


class UsageByDay(_UsageItem):
    day: date
    gpu_hours: DecimalStr
    cost_usd: MoneyStr


class UsageReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    group_by: UsageGrouping
    tenant_id: str | None = Field(description="None: all tenants (staff)")
    items: list[UsageByWorkload] | list[UsageByModel] | list[UsageByDay]
    total: int
    total_gpu_hours: DecimalStr
    total_cost_usd: MoneyStr


class BudgetOut(BaseModel):
    tenant_id: str
    month: str = Field(description="YYYY-MM")
    monthly_limit_usd: MoneyStr | None
    spent_usd: MoneyStr = Field(description="Metered and running, this month")
    metered_usd: MoneyStr
    running_usd: MoneyStr
    remaining_usd: MoneyStr | None
    used_pct: DecimalStr | None
    thresholds_pct: list[int]
    updated_at: datetime | None


class InvoiceLineOut(BaseModel):
    description: str
    workload_id: str | None
    gpu_model: str
    quantity_hours: DecimalStr
    rate_usd: RateStr
    amount_usd: MoneyStr


class InvoiceSummary(BaseModel):
    id: str
    number: str
    tenant_id: str
    period: str = Field(description="YYYY-MM")
    kind: InvoiceKind
    status: InvoiceStatus
    currency: str
    subtotal_usd: MoneyStr
    tax_rate: DecimalStr
    tax_usd: MoneyStr
    total_usd: MoneyStr
    corrects_id: str | None = Field(description="The invoice this one corrects (voided in its favour)")
    created_at: datetime
    issued_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None


class InvoiceOut(InvoiceSummary):
    lines: list[InvoiceLineOut]


class InvoiceList(BaseModel):
    items: list[InvoiceSummary]
    total: int


class PaymentOut(BaseModel):
    id: str
    invoice_id: str
    tenant_id: str
    status: PaymentStatus
    amount_usd: MoneyStr
    provider: str
    provider_reference: str | None
    message: str | None
    idempotency_key: str
    created_at: IsoTimestamp
    updated_at: IsoTimestamp


class RevenueBySource(BaseModel):
    ai_usd: MoneyStr
    mining_usd: MoneyStr


class CustomerRevenue(BaseModel):
    tenant_id: str
    name: str
    revenue_usd: MoneyStr
    gpu_hours: DecimalStr


class FacilityMining(BaseModel):
    facility_id: str
    btc: DecimalStr
    revenue_usd: MoneyStr
    energy_kwh: DecimalStr
    energy_cost_usd: MoneyStr
    avg_hashrate_ths: DecimalStr
    hours: int


class MiningRevenue(BaseModel):
    btc: DecimalStr
    usd: MoneyStr
    avg_btc_usd: MoneyStr | None
    facilities: list[FacilityMining]


class MonthRevenue(BaseModel):
    """One month of the revenue-by-month series."""

    month: str = Field(description="YYYY-MM")
    ai_usd: MoneyStr
    mining_usd: MoneyStr
    revenue_usd: MoneyStr
    energy_cost_usd: MoneyStr
    margin_usd: MoneyStr


class RevenueReport(BaseModel):
    month: str = Field(description="YYYY-MM")
    currency: str
    revenue_usd: MoneyStr
    by_source: RevenueBySource
    by_customer: list[CustomerRevenue]
    by_month: list[MonthRevenue] = Field(description="The months up to and including `month`, oldest first")
    mining: MiningRevenue
    energy_cost_usd: MoneyStr
    energy_by_source: RevenueBySource
    margin_usd: MoneyStr
    margin_pct: DecimalStr | None
