"""The real-feed adapters against recorded responses (never the network), and the poller that
turns what they read into `market.tick` events and keeps going when a feed fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tests.eventually import eventually
from tests.market.conftest import (
    FIXTURES,
    fixture_bytes,
    healthy_feed_routes,
    json_response,
    recorded,
    zipped,
)

from hcp.core.bus import Bus, Event, MemoryBus
from hcp.core.clock import SteppedClock
from hcp.core.db import Database
from hcp.core.settings import MarketSettings
from hcp.kernel.hashprice import hashprice_usd_per_th_day
from hcp.market import service
from hcp.market.feeds import (
    BlockchainInfoDifficulty,
    CoinbaseSpot,
    ErcotSpp,
    Feed,
    FeedError,
    KrakenTicker,
    MempoolBlocks,
    build_feeds,
)
from hcp.market.ingest import MarketIngester
from hcp.market.poller import FeedPoller, compose_tick
from hcp.migrations import migrate

NOW = datetime(2025, 12, 8, 20, 16, tzinfo=UTC)
DIFFICULTY = 149301205959699.9
FEES_BTC = 24_878_687 / 10 / 1e8  # mean extras.totalFees of the ten recorded blocks
ERCOT_INTERVAL = datetime(2025, 12, 8, 20, 0, tzinfo=UTC)  # 12/08/2025 HE 15 interval 1 = 14:00 CST


def feeds() -> dict[str, Feed]:
    s = MarketSettings()
    return {
        "coinbase": CoinbaseSpot(url=s.coinbase.url),
        "kraken": KrakenTicker(url=s.kraken.url),
        "mempool": MempoolBlocks(url=s.mempool.url),
        "blockchain_info": BlockchainInfoDifficulty(url=s.blockchain_info.url),
        "ercot": ErcotSpp(url=s.ercot.url, download_url=s.ercot.download_url,
                          settlement_points=s.ercot.settlement_points),
    }


async def fetch(feed: Feed, routes: dict[str, Any]) -> list[service.Observation]:
    async with httpx.AsyncClient(transport=recorded(routes)) as client:
        return await feed.fetch(client, now=NOW)


def values(points: list[service.Observation]) -> dict[str, float]:
    return {p.series: p.value for p in points}


# --- each adapter reads its recorded response ----------------------------------------------------

async def test_coinbase_spot_price() -> None:
    points = await fetch(feeds()["coinbase"], healthy_feed_routes())
    assert values(points) == {"btc_usd": 91_234.56}
    assert points[0].source == "coinbase" and points[0].ts == NOW


async def test_kraken_last_trade() -> None:
    points = await fetch(feeds()["kraken"], healthy_feed_routes())
    assert values(points) == {"btc_usd": 91_241.1} and points[0].source == "kraken"


async def test_mempool_difficulty_of_the_tip_and_mean_fees() -> None:
    points = await fetch(feeds()["mempool"], healthy_feed_routes())
    got = values(points)
    assert got["network_difficulty"] == DIFFICULTY
    assert got["fees_btc_per_block"] == pytest.approx(0.024878687, abs=1e-12) == FEES_BTC
    assert {p.source for p in points} == {"mempool"} and {p.ts for p in points} == {NOW}


async def test_blockchain_info_difficulty_in_plain_text() -> None:
    assert values(await fetch(feeds()["blockchain_info"], healthy_feed_routes())) == {
        "network_difficulty": DIFFICULTY}
    routes = {"blockchain.info/q/getdifficulty": httpx.Response(200, text="1.493012059596999E14\n")}
    assert values(await fetch(feeds()["blockchain_info"], routes)) == {"network_difficulty": 1.493012059596999e14}


async def test_ercot_newest_csv_document_of_the_hubs() -> None:
    points = await fetch(feeds()["ercot"], healthy_feed_routes())
    assert values(points) == {
        "electricity_usd_per_mwh:HB_NORTH": 26.85, "electricity_usd_per_mwh:HB_SOUTH": 27.66,
        "electricity_usd_per_mwh:HB_WEST": 22.93, "electricity_usd_per_mwh:HB_HOUSTON": 28.04,
    }
    assert {p.ts for p in points} == {ERCOT_INTERVAL} and {p.source for p in points} == {"ercot"}


async def test_ercot_keeps_every_settlement_point_when_none_are_named() -> None:
    s = MarketSettings()
    feed = ErcotSpp(url=s.ercot.url, download_url=s.ercot.download_url, settlement_points=())
    got = values(await fetch(feed, healthy_feed_routes()))
    # 7 hubs and 8 load zones; the energy-weighted duplicates of the load zones are left out.
    assert len(got) == 15 and got["electricity_usd_per_mwh:HB_PAN"] == 19.47
    assert got["electricity_usd_per_mwh:LZ_WEST"] == 23.15


def test_ercot_hours_are_hour_ending_central_time_with_the_repeated_hour_flagged() -> None:
    feed = ErcotSpp(url="x", download_url="x", settlement_points=["HB_NORTH"])
    header = ("DeliveryDate,DeliveryHour,DeliveryInterval,SettlementPointName,SettlementPointType,"
              "SettlementPointPrice,DSTFlag\n")
    rows = [
        "11/02/2025,2,1,HB_NORTH,HU,20.00,Y",  # 01:00 CDT, first time through (DST ends that night)
        "11/02/2025,2,1,HB_NORTH,HU,21.00,N",  # 01:00 CST, the repeated hour
        "11/02/2025,24,4,HB_NORTH,HU,22.00,N",  # 23:45 CST
        "07/15/2025,18,2,HB_NORTH,HU,102.55,N",  # 17:15 CDT
    ]
    points = feed.parse(header + "\n".join(rows) + "\n")
    assert [(p.ts, p.value) for p in points] == [
        (datetime(2025, 11, 2, 6, 0, tzinfo=UTC), 20.0),
        (datetime(2025, 11, 2, 7, 0, tzinfo=UTC), 21.0),
        (datetime(2025, 11, 3, 5, 45, tzinfo=UTC), 22.0),
        (datetime(2025, 7, 15, 22, 15, tzinfo=UTC), 102.55),
    ]


# --- and fails cleanly on anything else -----------------------------------------------------------

def _timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


@pytest.mark.parametrize(("name", "route", "response", "error", "words"), [
    ("coinbase", "api.coinbase.com/v2/prices/BTC-USD/spot",
     httpx.Response(500, text="Internal Server Error"), httpx.HTTPStatusError, "500"),
    ("coinbase", "api.coinbase.com/v2/prices/BTC-USD/spot",
     json_response("coinbase_errors.json", 400), httpx.HTTPStatusError, "400"),
    ("coinbase", "api.coinbase.com/v2/prices/BTC-USD/spot",
     json_response("coinbase_spot_malformed.json"), FeedError, "not a number"),
    ("coinbase", "api.coinbase.com/v2/prices/BTC-USD/spot",
     httpx.Response(200, json={"data": {"amount": "0.99", "base": "USDC", "currency": "USD"}}), FeedError, "USDC"),
    ("coinbase", "api.coinbase.com/v2/prices/BTC-USD/spot", _timeout, httpx.TimeoutException, "timed out"),
    ("kraken", "api.kraken.com/0/public/Ticker", json_response("kraken_error.json"), FeedError, "Rate limit"),
    ("kraken", "api.kraken.com/0/public/Ticker", httpx.Response(200, json={"error": [], "result": {}}),
     FeedError, "exactly one pair"),
    ("mempool", "mempool.space/api/v1/blocks", json_response("mempool_blocks_truncated.json"), FeedError,
     "not JSON"),
    ("mempool", "mempool.space/api/v1/blocks", httpx.Response(200, json=[]), FeedError, "non-empty"),
    ("mempool", "mempool.space/api/v1/blocks", httpx.Response(503, text="<html>Service Unavailable</html>"),
     httpx.HTTPStatusError, "503"),
    ("blockchain_info", "blockchain.info/q/getdifficulty", httpx.Response(200, text="<html>oops</html>"),
     FeedError, "not a number"),
    ("ercot", "www.ercot.com/misapp/servlets/IceDocListJsonWS",
     httpx.Response(200, json={"ListDocsByRptTypeRes": {"DocumentList": []}}), FeedError, "no CSV document"),
    ("ercot", "www.ercot.com/misdownload/servlets/mirDownload",
     httpx.Response(200, content=zipped("ercot_spp_malformed.csv")), FeedError, "'#N/A' is not a number"),
    ("ercot", "www.ercot.com/misdownload/servlets/mirDownload",
     httpx.Response(200, content=b"PK\x03\x04 not really a zip"), FeedError, "unreadable zip"),
    ("ercot", "www.ercot.com/misdownload/servlets/mirDownload",
     httpx.Response(200, text="Price,Node\n1,2\n"), FeedError, "lacks column"),
])
async def test_a_bad_response_raises_a_clean_error(name: str, route: str, response: Any, error: type[Exception],
                                                   words: str) -> None:
    routes = healthy_feed_routes()
    routes[route] = response
    with pytest.raises(error) as caught:
        await fetch(feeds()[name], routes)
    assert words in str(caught.value)


def test_no_real_feed_runs_unless_enabled() -> None:
    assert build_feeds(MarketSettings()) == []
    chosen = build_feeds(MarketSettings(coinbase={"enabled": True}, ercot={"enabled": True, "interval_s": 60}))
    assert [(f.name, f.interval_s) for f in chosen] == [("coinbase", 60.0), ("ercot", 60.0)]


# --- the poller ------------------------------------------------------------------------------------

async def collect(bus: Bus) -> list[Event]:
    got: list[Event] = []

    async def keep(event: Event) -> None:
        got.append(event)

    await bus.subscribe("market.tick", keep)
    return got


async def test_the_poller_publishes_ticks_in_the_simulators_shape() -> None:
    bus = MemoryBus()
    await bus.connect()
    got = await collect(bus)
    clock = SteppedClock(start=NOW.timestamp())
    f = feeds()
    poller = FeedPoller(feeds=[f["coinbase"], f["mempool"], f["ercot"]], bus=bus, clock=clock,
                        transport=recorded(healthy_feed_routes()))
    try:
        for feed in poller.feeds:
            assert await poller.poll(feed)
        await eventually(lambda: len(got) == 3, what="three ticks")
        body = got[-1].data
        assert body["btc_usd"] == 91_234.56 and body["network_difficulty"] == DIFFICULTY
        assert body["fees_btc_per_block"] == pytest.approx(FEES_BTC)
        assert body["hashprice_usd_per_th_day"] == pytest.approx(hashprice_usd_per_th_day(91_234.56, DIFFICULTY,
                                                                                          FEES_BTC))
        assert body["electricity_usd_per_mwh"]["HB_NORTH"] == 26.85 and "gpu_spot_usd_per_hour" not in body
        assert body["sources"]["btc_usd"] == "coinbase" and body["sources"]["hashprice_usd_per_th_day"] == "derived"
        assert body["series_ts"]["electricity_usd_per_mwh:HB_WEST"] == "2025-12-08T20:00:00Z"
        assert body["ts"] == "2025-12-08T20:16:00Z" and got[-1].ts.startswith("2025-12-08T20:16:00")
        # The first tick knew only BTC: no hashprice without difficulty and fees.
        assert set(got[0].data) >= {"btc_usd"} and "hashprice_usd_per_th_day" not in got[0].data
        assert service.observations_from_tick(body)  # the ingester accepts what the poller publishes
    finally:
        await poller.stop()
        await bus.close()


async def test_a_failing_feed_is_counted_and_the_loop_keeps_polling() -> None:
    bus = MemoryBus()
    await bus.connect()
    got = await collect(bus)
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] % 2:
            return httpx.Response(500, text="Internal Server Error")
        return json_response("coinbase_spot_btc_usd.json")

    feed = CoinbaseSpot(url=MarketSettings().coinbase.url, interval_s=0.01)
    poller = FeedPoller(feeds=[feed], bus=bus, clock=SteppedClock(start=NOW.timestamp()),
                        transport=recorded({"api.coinbase.com/v2/prices/BTC-USD/spot": flaky}))
    poller.start()
    try:
        await eventually(lambda: poller.status["coinbase"].fetches >= 6, what="six polls")
        status = poller.status["coinbase"]
        assert status.errors >= 3 and len(got) >= 2
        assert all(not t.done() for t in poller._tasks)
        view = poller.feed_views(now=NOW, stale_after_s=600)[0]
        assert view["name"] == "coinbase" and view["series"] == ["btc_usd"] and view["errors"] == status.errors
    finally:
        await poller.stop()
        await bus.close()


async def test_a_failing_feed_shows_failing_and_stale() -> None:
    bus = MemoryBus()
    await bus.connect()
    routes = healthy_feed_routes()
    routes["api.coinbase.com/v2/prices/BTC-USD/spot"] = httpx.Response(500, text="Internal Server Error")
    poller = FeedPoller(feeds=[feeds()["coinbase"]], bus=bus, clock=SteppedClock(start=NOW.timestamp()),
                        transport=recorded(routes))
    try:
        assert not await poller.poll(poller.feeds[0])
        [view] = poller.feed_views(now=NOW, stale_after_s=600)
        assert view["failing"] and view["stale"] and view["errors"] == 1 and view["last_success_at"] is None
        assert view["last_error"].startswith("http_500")
    finally:
        await poller.stop()
        await bus.close()


async def test_prices_from_failing_feeds_go_stale_downstream(bus: Bus, sqlite_url: str) -> None:
    """Feeds -> bus -> ingester -> latest prices. BTC's feed dies: the composed ticks keep BTC's
    old time, so BTC (and the hashprice derived from it) go stale while the others stay fresh."""
    db = Database(sqlite_url)
    await migrate(db)
    clock = SteppedClock(start=NOW.timestamp())
    subscription = await MarketIngester(db=db, clock=clock).subscribe(bus)
    routes = healthy_feed_routes()
    f = feeds()
    poller = FeedPoller(feeds=[f["coinbase"], f["mempool"]], bus=bus, clock=clock, transport=recorded(routes))

    async def latest() -> service.LatestPrices:
        async with db.session() as session:
            return await service.latest_prices(session=session, now=clock.now(), stale_after_s=600)

    try:
        for feed in poller.feeds:
            assert await poller.poll(feed)
        await eventually(lambda: _has(latest, "hashprice_usd_per_th_day"), what="derived hashprice")
        prices = await latest()
        assert prices.get("btc_usd").source == "coinbase"  # type: ignore[union-attr]
        assert prices.get("network_difficulty").source == "mempool"  # type: ignore[union-attr]
        assert prices.get("hashprice_usd_per_th_day").source == "derived"  # type: ignore[union-attr]
        assert not prices.get("btc_usd").stale  # type: ignore[union-attr]

        await clock.advance(700)
        routes["api.coinbase.com/v2/prices/BTC-USD/spot"] = httpx.Response(502, text="Bad Gateway")
        assert not await poller.poll(f["coinbase"])
        assert await poller.poll(f["mempool"])
        await eventually(lambda: _fresh(latest, "network_difficulty"), what="fresh difficulty")
        prices = await latest()
        assert prices.get("btc_usd").stale and prices.get("hashprice_usd_per_th_day").stale  # type: ignore[union-attr]
        assert not prices.get("fees_btc_per_block").stale  # type: ignore[union-attr]
        assert prices.stale
    finally:
        await poller.stop()
        await subscription.stop()
        await db.dispose()


async def _has(latest: Any, series: str) -> bool:
    return (await latest()).get(series) is not None


async def _fresh(latest: Any, series: str) -> bool:
    found = (await latest()).get(series)
    return found is not None and not found.stale


def test_compose_tick_leaves_out_what_no_feed_has_seen() -> None:
    body = compose_tick({}, ts=NOW)
    assert body["source"] == "feeds" and body["sources"] == {} and "btc_usd" not in body
    point = service.Observation(series="electricity_usd_per_mwh:HB_NORTH", value=30.0,
                                ts=NOW - timedelta(minutes=16), source="ercot")
    body = compose_tick({point.series: point}, ts=NOW)
    assert body["electricity_usd_per_mwh"] == {"HB_NORTH": 30.0}
    assert body["series_ts"] == {"electricity_usd_per_mwh:HB_NORTH": "2025-12-08T20:00:00Z"}


def test_fixture_files_are_what_the_readme_lists() -> None:
    readme = fixture_bytes("README.md").decode()
    for path in FIXTURES.iterdir():
        if path.name != "README.md":
            assert f"`{path.name}`" in readme, f"{path.name} is not described in fixtures/README.md"
    assert "constructed examples" in readme
