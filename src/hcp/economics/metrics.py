"""Economics gauges of /metrics: the latest plan's profit and the latest market prices.

Both live in the database (the plan in this domain's table, prices through the market
domain's service), so a refresher reads them once per `metrics.interval_s` into a snapshot
and the collector serves that snapshot at scrape time: a scrape never waits on the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.core.component import tasks_health
from hcp.core.metrics import REGISTRY
from hcp.core.platform import Platform
from hcp.core.tasks import cancel_tasks
from hcp.economics.models import PlanRecord
from hcp.kernel.hashprice import hashprice_usd_per_th_day
from hcp.market import service as market

log = structlog.get_logger(__name__)



async def latest_plan_profit(*, session: AsyncSession) -> tuple[datetime, float] | None:
    """When the latest plan was decided and what it earns per hour; the columns only, not the
    plan's decisions (thousands of them on a large fleet)."""
    row = (await session.execute(
        select(PlanRecord.ts, PlanRecord.objective_usd_per_hour).order_by(PlanRecord.ts.desc()).limit(1)
    )).first()
    return None if row is None else (row[0], float(row[1]))


@dataclass(frozen=True)
class EconomicsSnapshot:
    plan_ts: datetime | None
    profit_usd_per_hour: float | None
    btc_usd: float | None
    hashprice_usd_per_th_day: float | None
    electricity_usd_per_mwh: dict[str, float]


async def economics_snapshot(*, session: AsyncSession, platform: Platform) -> EconomicsSnapshot:
    plan = await latest_plan_profit(session=session)
    s = platform.settings.market
    prices = await market.latest_prices(session=session, now=platform.clock.now(), stale_after_s=s.stale_after_s,
                                        stale_after_by_kind_s=s.stale_after_by_kind_s)
    hashprice = prices.hashprice_usd_per_th_day
    if hashprice is None and None not in (prices.btc_usd, prices.network_difficulty, prices.fees_btc_per_block):
        assert prices.btc_usd is not None and prices.network_difficulty is not None
        assert prices.fees_btc_per_block is not None
        hashprice = hashprice_usd_per_th_day(prices.btc_usd, prices.network_difficulty, prices.fees_btc_per_block)
    return EconomicsSnapshot(
        plan_ts=None if plan is None else plan[0], profit_usd_per_hour=None if plan is None else plan[1],
        btc_usd=prices.btc_usd, hashprice_usd_per_th_day=hashprice,
        electricity_usd_per_mwh=prices.electricity_usd_per_mwh,
    )


class EconomicsMetrics:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.interval_s = platform.settings.metrics.interval_s
        self.snapshot: EconomicsSnapshot | None = None
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> EconomicsSnapshot:
        async with self.platform.db.session() as session:
            self.snapshot = await economics_snapshot(session=session, platform=self.platform)
        return self.snapshot

    name = "economics-metrics"

    def health(self) -> str:
        return tasks_health([self._task]) if self._task is not None else "stopped"

    async def start(self) -> None:
        _SOURCES.append(self)
        self._task = asyncio.create_task(self._run(), name="economics-metrics")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_tasks([self._task])
            self._task = None
        with contextlib.suppress(ValueError):
            _SOURCES.remove(self)

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("economics metrics refresh failed", exc_info=True)
            await asyncio.sleep(max(0.0, self.interval_s - (time.monotonic() - started)))


_SOURCES: list[EconomicsMetrics] = []


def _families() -> dict[str, GaugeMetricFamily]:
    return {
        "profit": GaugeMetricFamily("hcp_plan_profit_usd_per_hour", "What the latest plan earns per hour (USD)"),
        "btc": GaugeMetricFamily("hcp_btc_price_usd", "Latest bitcoin price (USD)"),
        "hashprice": GaugeMetricFamily("hcp_hashprice_usd_per_th_day", "Latest hashprice (USD per TH/s per day)"),
        "electricity": GaugeMetricFamily("hcp_electricity_usd_per_mwh", "Latest electricity price per market node "
                                         "(USD/MWh)", labels=["node"]),
    }


class EconomicsCollector(Collector):
    def describe(self) -> Iterable[GaugeMetricFamily]:
        return list(_families().values())

    def collect(self) -> Iterable[GaugeMetricFamily]:
        families = _families()
        snapshot = _SOURCES[-1].snapshot if _SOURCES else None
        if snapshot is not None:
            for key, value in (("profit", snapshot.profit_usd_per_hour), ("btc", snapshot.btc_usd),
                               ("hashprice", snapshot.hashprice_usd_per_th_day)):
                if value is not None:
                    families[key].add_metric([], value)
            for node, price in sorted(snapshot.electricity_usd_per_mwh.items()):
                families["electricity"].add_metric([node], price)
        return list(families.values())


REGISTRY.register(EconomicsCollector())


