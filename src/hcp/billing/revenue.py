"""The operator's revenue: AI (metered GPU time by customer) beside mining (BTC earned per
facility from hashrate x time x block rewards at the pool), energy costs and the margin.

Mining earnings are accrued hour by hour from the fleet's telemetry and that hour's prices
(read through the resources and market services) into `billing_mining_earnings`, so a month's
report reads stored figures at the prices of their time, not today's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.billing import rates
from hcp.billing.models import MiningEarning, Usage
from hcp.billing.schemas import (
    CustomerRevenue,
    FacilityMining,
    MiningRevenue,
    MonthRevenue,
    RevenueBySource,
    RevenueReport,
)
from hcp.billing.service import month_bounds
from hcp.core.db import upsert
from hcp.core.errors import InvalidInput
from hcp.core.money import to_cents
from hcp.core.settings import BillingSettings
from hcp.kernel import hashprice
from hcp.market import service as market
from hcp.resources import service as resources
from hcp.resources import telemetry

HOUR = timedelta(hours=1)
BLOCKS_PER_HOUR = Decimal(6)
# Board power of the GPU models at full load, for the energy cost of AI work (DESIGN.md).
GPU_POWER_KW = {"H100": Decimal("0.7"), "A100": Decimal("0.4")}
DEFAULT_ELECTRICITY_USD_PER_KWH = Decimal("0.045")
BTC_SCALE = Decimal("0.000000000001")
SATOSHI = Decimal("0.00000001")


@dataclass
class _Sums:
    usd: Decimal = Decimal(0)
    btc: Decimal = Decimal(0)
    energy_usd: Decimal = Decimal(0)
    kwh: Decimal = Decimal(0)


def btc_earned(*, hashrate_ths: Decimal, difficulty: Decimal, fees_btc_per_block: Decimal, pool_fee: Decimal,
               hours: Decimal = Decimal(1)) -> Decimal:
    """The fleet's share of the network's block rewards over `hours`, less the pool's fee."""
    network_ths = difficulty * Decimal(2**32) / Decimal(600) / Decimal(10**12)
    reward = Decimal(str(hashprice.BLOCK_SUBSIDY_BTC)) + fees_btc_per_block
    return (hashrate_ths / network_ths * BLOCKS_PER_HOUR * hours * reward * (1 - pool_fee)).quantize(BTC_SCALE)


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


async def _hour_average(session: AsyncSession, series: str, hour: datetime) -> Decimal | None:
    try:
        page = await market.history(session=session, series=[series], since=hour, until=hour + HOUR, step_s=3600)
    except InvalidInput:
        return None
    values = [p["value"] for p in page.items if p["value"] is not None]
    return _dec(sum(values) / len(values)) if values else None


async def accrue_hour(*, session: AsyncSession, settings: BillingSettings, hour: datetime) -> int:
    """Store each facility's mining earnings of the hour starting at `hour`; returns rows written.
    An hour already accrued, or without prices, is left alone (run it again later)."""
    btc_usd = await _hour_average(session, market.BTC_USD, hour)
    difficulty = await _hour_average(session, market.NETWORK_DIFFICULTY, hour)
    fees = await _hour_average(session, market.FEES_BTC_PER_BLOCK, hour) or Decimal(0)
    if btc_usd is None or difficulty is None or difficulty <= 0:
        return 0
    written = 0
    for facility in await resources.list_facilities(session=session):
        units, _ = await resources.list_units(session=session, kind="asic", facility_id=facility.id, limit=100_000)
        hashrate = Decimal(0)
        power_w = Decimal(0)
        for unit in units:
            q = telemetry.SeriesQuery(unit_id=unit["id"], since_ms=telemetry.to_ms(hour),
                                      until_ms=telemetry.to_ms(hour + HOUR), step_s=3600,
                                      metrics=["hashrate_ths", "power_w"])
            found = await telemetry.query(session=session, q=q, raw_since_ms=0)
            for s in found["series"]:
                avg = _dec(s["points"][0]["value"]) if s["points"] else None
                if avg is None:
                    continue
                if s["metric"] == "hashrate_ths":
                    hashrate += avg
                else:
                    power_w += avg
        if hashrate <= 0 and power_w <= 0:
            continue
        price_mwh = await _hour_average(session, market.series_name(market.ELECTRICITY_USD_PER_MWH,
                                                                     facility.market_node), hour)
        per_kwh = DEFAULT_ELECTRICITY_USD_PER_KWH if price_mwh is None else price_mwh / 1000
        written += await record_earning(
            session=session, facility_id=facility.id, hour=hour, hashrate_ths=hashrate,
            energy_kwh=power_w / 1000, btc_usd=btc_usd, difficulty=difficulty, fees_btc_per_block=fees,
            electricity_usd_per_kwh=per_kwh, pool_fee=settings.pool_fee)
    return written


async def record_earning(
    *, session: AsyncSession, facility_id: str, hour: datetime, hashrate_ths: Decimal, energy_kwh: Decimal,
    btc_usd: Decimal, difficulty: Decimal, fees_btc_per_block: Decimal, electricity_usd_per_kwh: Decimal,
    pool_fee: Decimal,
) -> int:
    btc = btc_earned(hashrate_ths=hashrate_ths, difficulty=difficulty, fees_btc_per_block=fees_btc_per_block,
                     pool_fee=pool_fee)
    result = await session.execute(upsert(session, MiningEarning).values(
        facility_id=facility_id, hour=hour, hours=1, hashrate_ths=hashrate_ths, energy_kwh=energy_kwh, btc_usd=btc_usd,
        btc=btc, revenue_usd=btc * btc_usd, energy_cost_usd=energy_kwh * electricity_usd_per_kwh,
    ).on_conflict_do_nothing())
    return int(getattr(result, "rowcount", 0) or 0)


async def accrued_until(*, session: AsyncSession) -> datetime | None:
    """The end of the latest accrued period (the next hour to accrue), or None."""
    latest = (await session.execute(
        select(MiningEarning.hour, MiningEarning.hours).order_by(MiningEarning.hour.desc()).limit(1))).first()
    return None if latest is None else latest[0] + timedelta(hours=int(latest[1]))


async def _mining(session: AsyncSession, start: datetime, end: datetime) -> tuple[list[FacilityMining], _Sums]:
    """Mining of [start, end) by facility, and its sums (usd, btc, energy cost, kWh)."""
    rows = (await session.execute(
        select(MiningEarning.facility_id, func.sum(MiningEarning.btc), func.sum(MiningEarning.revenue_usd),
               func.sum(MiningEarning.energy_kwh), func.sum(MiningEarning.energy_cost_usd),
               func.avg(MiningEarning.hashrate_ths), func.sum(MiningEarning.hours))
        .where(MiningEarning.hour >= start, MiningEarning.hour < end).group_by(MiningEarning.facility_id)
        .order_by(MiningEarning.facility_id))).all()
    facilities: list[FacilityMining] = []
    sums = _Sums()
    for facility_id, btc, usd, kwh, cost, avg_ths, hours in rows:
        btc, usd, kwh, cost = (Decimal(str(v or 0)) for v in (btc, usd, kwh, cost))
        facilities.append(FacilityMining(
            facility_id=facility_id, btc=btc.quantize(SATOSHI), revenue_usd=to_cents(usd),
            energy_kwh=kwh.quantize(Decimal("0.001")), energy_cost_usd=to_cents(cost),
            avg_hashrate_ths=Decimal(str(avg_ths or 0)).quantize(Decimal("0.01")), hours=int(hours)))
        sums.usd += usd
        sums.btc += btc
        sums.energy_usd += cost
        sums.kwh += kwh
    return facilities, sums


async def _ai(session: AsyncSession, start: datetime, end: datetime,
              per_kwh: Decimal) -> tuple[dict[str, dict[str, Decimal]], Decimal]:
    """AI of [start, end) by customer (metered usage at the rates it ran at: usd, GPU-seconds),
    and the energy its GPUs drew at `per_kwh`."""
    usage = (await session.execute(
        select(Usage.tenant_id, Usage.gpu_model, Usage.gpu_seconds, Usage.rate_usd_per_gpu_hour)
        .where(Usage.started_at >= start, Usage.ended_at <= end))).all()
    by_tenant: dict[str, dict[str, Decimal]] = {}
    ai_energy = Decimal(0)
    for tenant_id, model, gpu_seconds, rate in usage:
        entry = by_tenant.setdefault(tenant_id, {"usd": Decimal(0), "seconds": Decimal(0)})
        entry["usd"] += rates.cost_usd(gpu_seconds=Decimal(gpu_seconds), rate_usd_per_gpu_hour=Decimal(rate))
        entry["seconds"] += Decimal(gpu_seconds)
        ai_energy += Decimal(gpu_seconds) / rates.SECONDS_PER_HOUR * GPU_POWER_KW.get(model, Decimal("0.7")) * per_kwh
    return by_tenant, ai_energy


def _per_kwh(mining: _Sums) -> Decimal:
    # AI's energy is priced at what the month's mining paid per kWh (the same facilities).
    return mining.energy_usd / mining.kwh if mining.kwh > 0 else DEFAULT_ELECTRICITY_USD_PER_KWH


def months_ending(month: str, count: int) -> list[str]:
    """`count` months up to and including `month`, oldest first."""
    start, _ = month_bounds(month)
    months = []
    for back in range(count - 1, -1, -1):
        index = start.year * 12 + start.month - 1 - back
        months.append(f"{index // 12:04d}-{index % 12 + 1:02d}")
    return months


async def month_summary(*, session: AsyncSession, month: str) -> MonthRevenue:
    """One month's revenue by source, energy cost and margin (a point of the revenue-by-month series)."""
    start, end = month_bounds(month)
    _, mining = await _mining(session, start, end)
    by_tenant, ai_energy = await _ai(session, start, end, _per_kwh(mining))
    ai_usd = sum((v["usd"] for v in by_tenant.values()), Decimal(0))
    revenue = ai_usd + mining.usd
    energy = ai_energy + mining.energy_usd
    return MonthRevenue(month=month, ai_usd=to_cents(ai_usd), mining_usd=to_cents(mining.usd),
                        revenue_usd=to_cents(revenue), energy_cost_usd=to_cents(energy),
                        margin_usd=to_cents(revenue - energy))


async def monthly_report(*, session: AsyncSession, settings: BillingSettings, month: str,
                         tenant_names: dict[str, str], months: int = 1) -> RevenueReport:
    """The month's report; `by_month` holds the `months` months up to and including it."""
    start, end = month_bounds(month)
    facilities, mining = await _mining(session, start, end)
    by_tenant, ai_energy = await _ai(session, start, end, _per_kwh(mining))
    mining_usd, mining_btc, mining_energy = mining.usd, mining.btc, mining.energy_usd
    customers = [CustomerRevenue(tenant_id=t, name=tenant_names.get(t, t), revenue_usd=to_cents(v["usd"]),
                                 gpu_hours=(v["seconds"] / rates.SECONDS_PER_HOUR).quantize(Decimal("0.01")))
                 for t, v in sorted(by_tenant.items(), key=lambda kv: -kv[1]["usd"])]
    ai_usd = sum((v["usd"] for v in by_tenant.values()), Decimal(0))
    avg_btc_usd = mining_usd / mining_btc if mining_btc > 0 else None
    revenue = ai_usd + mining_usd
    energy = ai_energy + mining_energy
    by_month = [await month_summary(session=session, month=m) for m in months_ending(month, months)[:-1]]
    by_month.append(MonthRevenue(month=month, ai_usd=to_cents(ai_usd), mining_usd=to_cents(mining_usd),
                                 revenue_usd=to_cents(revenue), energy_cost_usd=to_cents(energy),
                                 margin_usd=to_cents(revenue - energy)))
    return RevenueReport(
        month=month, currency=settings.currency,
        revenue_usd=to_cents(revenue),
        by_source=RevenueBySource(ai_usd=to_cents(ai_usd), mining_usd=to_cents(mining_usd)),
        by_customer=customers,
        by_month=by_month,
        mining=MiningRevenue(btc=mining_btc.quantize(SATOSHI), usd=to_cents(mining_usd),
                             avg_btc_usd=None if avg_btc_usd is None else to_cents(avg_btc_usd),
                             facilities=facilities),
        energy_cost_usd=to_cents(energy),
        energy_by_source=RevenueBySource(ai_usd=to_cents(ai_energy), mining_usd=to_cents(mining_energy)),
        margin_usd=to_cents(revenue - energy),
        margin_pct=None if revenue <= 0 else ((revenue - energy) * 100 / revenue).quantize(Decimal("0.1")),
    )
