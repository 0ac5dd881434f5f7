"""Mining revenue accrued from telemetry and market prices (through those domains' services),
and the monthly report beside AI revenue; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hcp.billing import revenue
from hcp.billing.models import MiningEarning
from hcp.core.db import Database
from hcp.core.money import to_cents
from hcp.core.settings import BillingSettings
from hcp.drivers.base import UnitIdentity
from hcp.market import service as market
from hcp.resources import service as resources
from hcp.resources import telemetry

HOUR = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
SETTINGS = BillingSettings()


def test_btc_earned_is_the_fleets_share_of_block_rewards() -> None:
    # 200 TH/s against a network of 1.2e14 x 2^32 / 600 / 1e12 TH/s, 6 blocks of 3.15 BTC, 2% fee.
    network = Decimal("1.2e14") * Decimal(2**32) / 600 / Decimal(10**12)
    expected = Decimal(200) / network * 6 * Decimal("3.15") * Decimal("0.98")
    got = revenue.btc_earned(hashrate_ths=Decimal(200), difficulty=Decimal("1.2e14"),
                             fees_btc_per_block=Decimal("0.025"), pool_fee=Decimal("0.02"))
    assert abs(got - expected) < Decimal("1e-12")


async def test_an_hour_of_mining_is_accrued_once_from_telemetry_and_prices(db: Database) -> None:
    async with db.transaction() as session:
        await resources.upsert_facility(session=session, id="tx-north", name="Texas North", location="TX",
                                        power_cap_kw=40.0, market_node="HB_NORTH")
        units = []
        for i in range(2):
            unit, _ = await resources.register_unit(session=session, facility_id="tx-north", identity=UnitIdentity(
                kind="asic", model="Antminer S21", address=f"127.0.9.{i + 1}:4028", driver="cgminer",
                mac=f"02:00:00:00:00:0{i}", hashrate_ths=200, power_w=3500))
            units.append(unit.id)
        samples = [(u, metric, telemetry.to_ms(HOUR + timedelta(minutes=m)), value)
                   for u in units for m in range(0, 60, 10)
                   for metric, value in (("hashrate_ths", 190.0), ("power_w", 3400.0))]
        await telemetry.write_samples(session=session, samples=samples)
        await market.record_observations(session=session, received_at=HOUR, observations=[
            market.Observation(series, value, HOUR + timedelta(minutes=m), "sim")
            for m in (0, 30) for series, value in (
                ("btc_usd", 64000.0 if m == 0 else 66000.0), ("network_difficulty", 1.2e14),
                ("fees_btc_per_block", 0.025), ("electricity_usd_per_mwh:HB_NORTH", 40.0))])
    for _ in range(2):  # a second pass over the same hour adds nothing
        async with db.transaction() as session:
            await revenue.accrue_hour(session=session, settings=SETTINGS, hour=HOUR)
    async with db.session() as session:
        row = await session.get(MiningEarning, ("tx-north", HOUR))
        assert row is not None
        report = await revenue.monthly_report(session=session, settings=SETTINGS, month="2026-10", tenant_names={})
    btc = revenue.btc_earned(hashrate_ths=Decimal(380), difficulty=Decimal("1.2e14"),
                             fees_btc_per_block=Decimal("0.025"), pool_fee=SETTINGS.pool_fee)
    assert Decimal(row.hashrate_ths) == 380 and Decimal(row.btc) == btc and Decimal(row.btc_usd) == 65000
    assert Decimal(row.energy_kwh) == Decimal("6.8")
    assert to_cents(Decimal(row.energy_cost_usd)) == to_cents(Decimal("6.8") * Decimal("0.040"))
    assert report.by_source.mining_usd == to_cents(btc * 65000)
    assert report.mining.facilities[0].hours == 1
    assert report.margin_usd == report.revenue_usd - report.energy_cost_usd
