"""The rate card: USD per GPU-hour of each GPU model, times a multiplier for the priority.

A workload is rated when it starts running; its usage keeps that rate, so a change of the
card applies to work that starts afterwards, never to hours already run.
"""

from __future__ import annotations

from decimal import Decimal

from hcp.billing.schemas import Estimate, PriorityMultiplier, Rate, RateCard
from hcp.core.errors import InvalidInput
from hcp.core.money import to_cents
from hcp.core.settings import BillingSettings
from hcp.kernel.enums import GpuModelChoice

ONE = Decimal(1)
SECONDS_PER_HOUR = Decimal(3600)


def multiplier(settings: BillingSettings, priority: int) -> Decimal:
    return settings.priority_multipliers.get(priority, ONE)


def base_rate(settings: BillingSettings, gpu_model: str) -> Decimal:
    """The card's rate of a model; "any" is quoted at the dearest model (it may land on it)."""
    rates = settings.rates_usd_per_gpu_hour
    if gpu_model == "any":
        return max(rates.values())
    if gpu_model not in rates:
        raise InvalidInput("gpu_model", f"no rate for {gpu_model!r}; one of {', '.join(sorted(rates))} or any")
    return rates[gpu_model]


def rate_usd_per_gpu_hour(settings: BillingSettings, gpu_model: str, priority: int) -> Decimal:
    return base_rate(settings, gpu_model) * multiplier(settings, priority)


def cost_usd(*, gpu_seconds: Decimal, rate_usd_per_gpu_hour: Decimal) -> Decimal:
    """Unrounded: rounding happens once, at the invoice line."""
    return gpu_seconds * rate_usd_per_gpu_hour / SECONDS_PER_HOUR


def rate_card(settings: BillingSettings) -> RateCard:
    return RateCard(
        currency=settings.currency,
        rates=[Rate(gpu_model=m, rate_usd_per_gpu_hour=r) for m, r in sorted(settings.rates_usd_per_gpu_hour.items())],
        priority_multipliers=[PriorityMultiplier(priority=p, multiplier=multiplier(settings, p)) for p in range(1, 11)],
        tax_rate=settings.tax_rate,
    )


def estimate(settings: BillingSettings, *, gpu_model: GpuModelChoice, gpu_count: int, hours: Decimal,
             priority: int) -> Estimate:
    rate = rate_usd_per_gpu_hour(settings, gpu_model, priority)
    subtotal = to_cents(rate * gpu_count * hours)
    tax = to_cents(subtotal * settings.tax_rate)
    return Estimate(
        gpu_model=gpu_model, gpu_count=gpu_count, hours=hours, priority=priority,
        base_rate_usd_per_gpu_hour=base_rate(settings, gpu_model), multiplier=multiplier(settings, priority),
        rate_usd_per_gpu_hour=rate, gpu_hours=hours * gpu_count, subtotal_usd=subtotal, tax_usd=tax,
        total_usd=subtotal + tax, currency=settings.currency,
    )
