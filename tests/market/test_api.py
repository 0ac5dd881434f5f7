"""GET /market/prices and GET /market/history through the app, as a client sees them: prices
from ticks on the platform's bus, staleness on the platform's clock, downsampling, 422s, and
the whole demo filling prices from the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import DEMO_CREDENTIALS, login_headers, running_app
from tests.eventually import eventually
from tests.market.conftest import GPUS, NODES, tick

from hcp.app import create_app
from hcp.core.clock import SteppedClock
from hcp.core.platform import Platform
from hcp.core.settings import Settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Market:
    def __init__(self, app: FastAPI, http: httpx.AsyncClient, clock: SteppedClock) -> None:
        self.app, self.http, self.clock = app, http, clock

    @property
    def platform(self) -> Platform:
        platform: Platform = self.app.state.platform
        return platform

    async def publish(self, body: dict[str, Any]) -> None:
        await self.platform.bus.emit_raw("market.tick", body, ts=datetime.fromisoformat(body["ts"]))

    async def prices(self) -> dict[str, Any]:
        response = await self.http.get("/api/v1/market/prices")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def history(self, **params: Any) -> httpx.Response:
        return await self.http.get("/api/v1/market/history", params=params)


@pytest.fixture
async def market(make_settings: Callable[..., Settings]) -> AsyncIterator[Market]:
    settings = make_settings(market={"stale_after_s": 300, "stale_after_by_kind_s": {}})
    clock = SteppedClock(start=T0.timestamp())
    app = create_app(settings, platform=Platform(settings, clock=clock))
    async with running_app(app) as http:
        http.headers.update(await login_headers(http, *DEMO_CREDENTIALS["customer"]))
        yield Market(app, http, clock)


async def test_prices_fill_from_ticks_and_go_stale_on_the_platform_clock(market: Market) -> None:
    empty = await market.prices()
    assert empty["stale"] and empty["btc_usd"] is None and empty["series"] == [] and empty["feeds"] == []
    await market.publish(tick(T0, btc_usd=64_000.0, network_difficulty=1.2e14, fees_btc_per_block=0.03))
    await eventually(lambda: _prices_have(market, "btc_usd"), what="prices from the tick")
    prices = await market.prices()
    assert prices["btc_usd"] == 64_000.0 and prices["network_difficulty"] == 1.2e14
    assert prices["fees_btc_per_block"] == 0.03 and prices["network_hashrate_ths"] == pytest.approx(
        1.2e14 * 2**32 / 600 / 1e12)
    assert prices["hashprice_usd_per_ph_day"] == pytest.approx(prices["hashprice_usd_per_th_day"] * 1000)
    assert prices["electricity_usd_per_mwh"] == NODES and prices["gpu_spot_usd_per_hour"] == GPUS
    assert prices["ts"] == "2026-01-01T00:00:00Z" and not prices["stale"] and prices["missing"] == []
    north = next(s for s in prices["series"] if s["series"] == "electricity_usd_per_mwh:HB_NORTH")
    assert north == {"series": "electricity_usd_per_mwh:HB_NORTH", "kind": "electricity_usd_per_mwh",
                     "key": "HB_NORTH", "value": 41.5, "ts": "2026-01-01T00:00:00Z", "source": "sim",
                     "received_at": "2026-01-01T00:00:00Z", "age_s": 0.0, "stale_after_s": 300.0, "stale": False}

    await market.clock.advance(301)
    stale = await market.prices()
    assert stale["stale"] and all(s["stale"] for s in stale["series"]) and stale["btc_usd"] == 64_000.0
    await market.publish(tick(market.clock.now(), btc_usd=65_000.0))
    await eventually(lambda: _prices_fresh(market), what="fresh prices")
    assert (await market.prices())["btc_usd"] == 65_000.0


async def _prices_have(market: Market, field: str) -> bool:
    return (await market.prices())[field] is not None


async def _prices_fresh(market: Market) -> bool:
    return not (await market.prices())["stale"]


async def test_history_raw_downsampled_and_paged(market: Market) -> None:
    for minute in range(30):
        await market.publish(tick(T0 + timedelta(minutes=minute), btc_usd=60_000.0 + minute))
    await market.clock.advance(1800)
    await eventually(lambda: _history_total(market, 30), what="thirty ticks")

    raw = (await market.history(series="btc_usd", limit=3, offset=1)).json()
    assert raw["total"] == 30 and raw["step_s"] is None and raw["series"] == ["btc_usd"]
    assert raw["items"] == [
        {"series": "btc_usd", "ts": f"2026-01-01T00:0{m}:00Z", "value": 60_000.0 + m, "source": "sim"}
        for m in (1, 2, 3)
    ]
    assert raw["until"] == "2026-01-01T00:30:00Z" and raw["since"] == "2025-12-31T00:30:00Z"

    buckets = (await market.history(series="btc_usd", step="10m")).json()
    assert buckets["step_s"] == 600 and buckets["total"] == 3
    assert buckets["items"][0] == {"series": "btc_usd", "ts": "2026-01-01T00:00:00Z", "value": 60_004.5,
                                   "min": 60_000.0, "max": 60_009.0, "count": 10}

    both = (await market.history(series=["electricity_usd_per_mwh", "gpu_spot_usd_per_hour:H100"], step="1h",
                                 since="2026-01-01T00:00:00Z", until="2026-01-01T01:00:00")).json()
    assert [(i["series"], i["value"], i["count"]) for i in both["items"]] == [
        ("electricity_usd_per_mwh:HB_NORTH", 41.5, 30), ("electricity_usd_per_mwh:HB_WEST", 33.25, 30),
        ("electricity_usd_per_mwh:MISO_MINN_HUB", 30.0, 30), ("gpu_spot_usd_per_hour:H100", 2.5, 30)]
    none = (await market.history(series="btc_usd", source="coinbase")).json()
    assert none["total"] == 0 and none["items"] == []


async def _history_total(market: Market, expected: int) -> bool:
    response = await market.history(series="btc_usd", since="2026-01-01T00:00:00Z")
    return response.status_code == 200 and response.json()["total"] == expected


@pytest.mark.parametrize(("params", "field"), [
    ({}, "series"),
    ({"series": "bitcoin_price"}, "series"),
    ({"series": "electricity_usd_per_mwh:HB_NOWHERE"}, "series"),
    ({"series": "btc_usd", "since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since"),
    ({"series": "btc_usd", "since": "last tuesday"}, "since"),
    ({"series": "btc_usd", "step": "5 parsecs"}, "step"),
    ({"series": "btc_usd", "step": "0"}, "step"),
    ({"series": "btc_usd", "limit": 0}, "limit"),
    ({"series": "btc_usd", "offset": -1}, "offset"),
])
async def test_bad_history_requests_get_422_naming_the_field(market: Market, params: dict[str, Any],
                                                             field: str) -> None:
    await market.publish(tick(T0))
    await eventually(lambda: _prices_have(market, "btc_usd"), what="a tick")
    response = await market.history(**params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["details"][0]["field"] == field


async def test_market_routes_need_a_credential(market: Market) -> None:
    for path in ("/api/v1/market/prices", "/api/v1/market/history?series=btc_usd"):
        response = await market.http.get(path, headers={"Authorization": ""})
        assert response.status_code == 401


async def test_the_demo_fills_prices_from_the_simulator(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        sim={"enabled": True, "gpus": 2, "asics": 0, "speed": 120.0, "market_interval_s": 10.0},
        resources={"monitor": False, "discover_simulator": False},
    )
    app = create_app(settings)
    async with running_app(app) as http:
        http.headers.update(await login_headers(http, *DEMO_CREDENTIALS["operator"]))

        async def filled() -> bool:
            body = (await http.get("/api/v1/market/prices")).json()
            return not body["stale"] and body["btc_usd"] is not None

        await eventually(filled, timeout=10, what="prices from the simulator")
        prices = (await http.get("/api/v1/market/prices")).json()
        assert set(prices["electricity_usd_per_mwh"]) == {"HB_NORTH", "HB_WEST", "MISO_MINN_HUB"}
        assert set(prices["gpu_spot_usd_per_hour"]) == {"H100", "A100"}
        assert 40_000 < prices["btc_usd"] < 100_000 and prices["hashprice_usd_per_th_day"] > 0
        assert {s["source"] for s in prices["series"]} == {"sim"}
        clock_now = datetime.fromisoformat((await http.get("/api/v1/sim/clock")).json()["now"])
        # Judged on the simulated clock: the newest tick is within a few market intervals of it.
        assert (clock_now - datetime.fromisoformat(prices["ts"])).total_seconds() < 600

        async def several() -> bool:
            history = (await http.get("/api/v1/market/history", params={"series": "btc_usd"})).json()
            return bool(history["total"] >= 3)

        await eventually(several, timeout=10, what="a history of simulated ticks")
