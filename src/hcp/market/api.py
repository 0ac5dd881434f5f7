"""HTTP routes of the market domain, mounted under /api/v1 (its ingestion, retention and
real-feed pollers are a component: `hcp.market.components`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Query

from hcp.core.platform import PlatformDep, SessionDep
from hcp.core.routing import domain_router
from hcp.kernel.hashprice import network_hashrate_ths
from hcp.market import service
from hcp.market.ingest import runtime_of
from hcp.market.schemas import PriceHistoryOut, PricesOut

router = domain_router("market")

DEFAULT_HISTORY_WINDOW = timedelta(hours=24)


def prices_view(prices: service.LatestPrices, *, feeds: list[dict[str, Any]]) -> dict[str, Any]:
    difficulty = prices.network_difficulty
    hashprice = prices.hashprice_usd_per_th_day
    return {
        "ts": prices.ts, "now": prices.now, "stale": prices.stale, "missing": list(prices.missing),
        "btc_usd": prices.btc_usd, "network_difficulty": difficulty,
        "network_hashrate_ths": None if difficulty is None else network_hashrate_ths(difficulty),
        "fees_btc_per_block": prices.fees_btc_per_block, "hashprice_usd_per_th_day": hashprice,
        "hashprice_usd_per_ph_day": None if hashprice is None else hashprice * 1000.0,
        "electricity_usd_per_mwh": prices.electricity_usd_per_mwh,
        "gpu_spot_usd_per_hour": prices.gpu_spot_usd_per_hour,
        "series": [vars_of(s) for s in prices.series.values()],
        "feeds": feeds,
    }


def vars_of(price: service.SeriesPrice) -> dict[str, Any]:
    return {name: getattr(price, name) for name in price.__slots__}


@router.get("/market/prices", response_model=PricesOut,
            summary="Latest prices (the latest tick), each series with its source, age and stale flag")
async def get_prices(session: SessionDep, platform: PlatformDep) -> PricesOut:
    s = platform.settings.market
    prices = await service.latest_prices(
        session=session, now=platform.clock.now(), stale_after_s=s.stale_after_s,
        stale_after_by_kind_s=s.stale_after_by_kind_s,
    )
    runtime = runtime_of(platform)
    return PricesOut.model_validate(prices_view(prices, feeds=runtime.feed_views() if runtime is not None else []))


@router.get("/market/history", response_model=PriceHistoryOut,
            summary="Observed prices of one or more series over time: raw, or averaged per `step`")
async def get_history(
    session: SessionDep, platform: PlatformDep,
    series: Annotated[list[str], Query(min_length=1, max_length=50, description=(
        "btc_usd, network_difficulty, fees_btc_per_block, hashprice_usd_per_th_day, "
        "electricity_usd_per_mwh[:<node>], gpu_spot_usd_per_hour[:<model>]; repeat for several"))],
    since: Annotated[datetime | None, Query(description="default: 24 h before `until`")] = None,
    until: Annotated[datetime | None, Query(description="default: now (the platform clock)")] = None,
    step: Annotated[str | None, Query(max_length=16, description="bucket size: 30s, 5m, 1h, 1d or seconds")] = None,
    source: Annotated[str | None, Query(max_length=32, description="only this source's observations")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PriceHistoryOut:
    end = _aware(until) if until is not None else platform.clock.now()
    begin = _aware(since) if since is not None else end - DEFAULT_HISTORY_WINDOW
    step_s = service.parse_step(step) if step is not None else None
    page = await service.history(session=session, series=series, since=begin, until=end, step_s=step_s,
                                 source=source, limit=limit, offset=offset)
    return PriceHistoryOut.model_validate({"items": page.items, "total": page.total, "series": page.series,
                                           "since": page.since, "until": page.until, "step_s": page.step_s})


def _aware(value: datetime) -> datetime:
    # A time without an offset is read as UTC, the platform's only zone.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
