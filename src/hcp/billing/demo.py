"""Demo history of billing: three past months of metered usage and invoices for each demo
customer (the two older ones paid, the latest issued and unpaid), and the mining earnings of
the facilities over the same months, so that billing and revenue views have a real past.

Usage is written as `workload.state`-like marks and paired by the metering code itself; every
id is derived from the customer and month, so seeding twice changes nothing.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.auth import service as auth
from hcp.billing import invoices, metering, rates, revenue
from hcp.billing.models import Invoice, MiningEarning, Payment, UsageMark
from hcp.billing.service import month_bounds, month_of
from hcp.core.settings import BillingSettings, get_settings

_NS = uuid.UUID("6f1c2a52-9b0e-4d3e-8c61-0d5b7e0f4a11")
# (name, GPU model, GPUs, priority, share of the month's spend)
_JOBS = (
    ("llm-finetune", "H100", 4, 7, Decimal("0.45")),
    ("inference-api", "A100", 4, 5, Decimal("0.25")),
    ("batch-embeddings", "H100", 2, 2, Decimal("0.12")),
)
# The demo's mining fleet per facility (TH/s and kW): the larger seeded fleet of the admin views.
_FLEET = {"tx-north": (Decimal(13000), Decimal("227.5")), "tx-south": (Decimal(11000), Decimal("192.5")),
          "nd-ellendale": (Decimal(8000), Decimal("140"))}
_ELECTRICITY_USD_PER_KWH = {"tx-north": Decimal("0.042"), "tx-south": Decimal("0.038"),
                            "nd-ellendale": Decimal("0.034")}


def _id(*parts: object) -> str:
    return uuid.uuid5(_NS, "/".join(str(p) for p in parts)).hex


def last_months(now: datetime, count: int = 3) -> list[str]:
    months = []
    cursor = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(count):
        cursor = (cursor - timedelta(days=1)).replace(day=1)
        months.append(month_of(cursor))
    return list(reversed(months))


async def seed_history(
    *, session: AsyncSession, customers: Sequence[tuple[str, str, Decimal]], facilities: Sequence[str],
    now: datetime | None = None, settings: BillingSettings | None = None,
) -> None:
    """`customers`: (tenant slug, name, monthly budget) of tenants that exist. Idempotent."""
    settings = settings or get_settings().billing
    now = now or datetime.now(UTC)
    months = last_months(now)
    for slug, name, budget in customers:
        tenant_id = (await auth.ensure_tenant(session=session, slug=slug, name=name)).id
        if await has_history(session=session, tenant_id=tenant_id):
            continue
        for age, month in enumerate(reversed(months)):  # age 0 = last month
            start, _ = month_bounds(month)
            # Spend 70-90% of the budget, varying by month and customer.
            share = Decimal("0.70") + Decimal(((age * 7 + len(slug)) % 5) * 5) / 100
            for i, (name, model, count, priority, part) in enumerate(_JOBS):
                rate = rates.rate_usd_per_gpu_hour(settings, model, priority)
                hours = (budget * share * part / (rate * count)).quantize(Decimal("0.01"))
                while hours > 24 * 26:  # more GPUs for less time: every job ends within its month
                    count *= 2
                    hours = (budget * share * part / (rate * count)).quantize(Decimal("0.01"))
                # All start on the 1st, so that even the longest (~3 weeks) ends within its month.
                begin = start + timedelta(hours=8 + i)
                end = begin + timedelta(seconds=float(hours * 3600))
                for kind, at in (("start", begin), ("end", end)):
                    event_id = _id(slug, month, name, kind)
                    if await session.get(UsageMark, event_id) is None:
                        session.add(UsageMark(
                            event_id=event_id, workload_id=_id(slug, month, name)[:32], tenant_id=tenant_id,
                            kind=kind, at=at, workload_name=f"{slug}-{name}", gpu_model=model, gpu_count=count,
                            priority=priority, rate_usd_per_gpu_hour=rate))
                await session.flush()
                await metering.pair(session=session, workload_id=_id(slug, month, name)[:32], publish=False)
        for age, month in enumerate(reversed(months)):
            invoice = await invoices.close_month(session=session, settings=settings, tenant_id=tenant_id,
                                                 period=month, now=month_bounds(month)[1] + timedelta(hours=1))
            if invoice is not None and age > 0:
                paid_at = month_bounds(month)[1] + timedelta(days=12)
                session.add(Payment(tenant_id=tenant_id, idempotency_key=f"demo-{invoice.id}", invoice_id=invoice.id,
                                    amount_usd=invoice.total_usd, status="succeeded", provider="demo",
                                    provider_reference=f"demo_{invoice.id[:12]}", created_at=paid_at,
                                    updated_at=paid_at))
                await invoices.mark_paid(session=session, invoice=invoice, now=paid_at)
    await _seed_mining(session=session, settings=settings, months=months, now=now, facilities=list(facilities))


async def _seed_mining(*, session: AsyncSession, settings: BillingSettings, months: list[str], now: datetime,
                       facilities: list[str]) -> None:
    start, _ = month_bounds(months[0])
    first = await session.scalar(select(MiningEarning.hour).where(MiningEarning.hour >= start).limit(1))
    if first is not None:
        return
    # By the day up to today (the billing loop accrues today's hours from live telemetry).
    end = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = []
    day = start
    while day < end:
        t = day.timestamp() / 86400
        # BTC $60k-70k, slowly wandering; difficulty and fees near today's.
        btc_usd = Decimal(65000 + 5000 * math.sin(t / 9)).quantize(Decimal("0.01"))
        difficulty = Decimal("1.2e14")
        fees = Decimal("0.025")
        for facility_id in facilities:
            ths, kw = _FLEET.get(facility_id, (Decimal(4000), Decimal(70)))
            btc = revenue.btc_earned(hashrate_ths=ths, difficulty=difficulty, fees_btc_per_block=fees,
                                     pool_fee=settings.pool_fee, hours=Decimal(24))
            rows.append({
                "facility_id": facility_id, "hour": day, "hours": 24, "hashrate_ths": ths, "energy_kwh": kw * 24,
                "btc_usd": btc_usd, "btc": btc, "revenue_usd": btc * btc_usd,
                "energy_cost_usd": kw * 24 * _ELECTRICITY_USD_PER_KWH.get(facility_id, Decimal("0.04"))})
        day += timedelta(days=1)
    if rows:
        await session.execute(insert(MiningEarning), rows)


async def has_history(*, session: AsyncSession, tenant_id: str) -> bool:
    return await session.scalar(select(Invoice.id).where(Invoice.tenant_id == tenant_id).limit(1)) is not None
