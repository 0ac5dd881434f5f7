"""A migrated database per test (SQLite and PostgreSQL), market ticks in the simulator's shape,
and the recorded feed responses served by an `httpx.MockTransport`."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

import hcp.market
from hcp.sim.market import MarketTick

FIXTURES = Path(hcp.market.__file__).parent / "fixtures"
NODES = {"HB_NORTH": 41.5, "HB_WEST": 33.25, "MISO_MINN_HUB": 30.0}
GPUS = {"H100": 2.5, "A100": 1.6}



def tick(ts: datetime, *, btc_usd: float = 65_000.0, network_difficulty: float = 8.3e13,
         fees_btc_per_block: float = 0.04, electricity: Mapping[str, float] | None = None,
         gpu_spot: Mapping[str, float] | None = None) -> dict[str, Any]:
    """A `market.tick` body exactly as the simulator publishes it."""
    return MarketTick.from_prices(
        ts=ts, btc_usd=btc_usd, network_difficulty=network_difficulty, fees_btc_per_block=fees_btc_per_block,
        electricity_usd_per_mwh=NODES if electricity is None else electricity,
        gpu_spot_usd_per_hour=GPUS if gpu_spot is None else gpu_spot,
    ).to_event()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def zipped(name: str) -> bytes:
    """A fixture CSV zipped as ERCOT's MIS serves it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"cdr.00012301.0000000000000000.20251208.141505.{name}", fixture_bytes(name))
    return buffer.getvalue()


Route = Callable[[httpx.Request], httpx.Response]


def recorded(routes: dict[str, httpx.Response | Route]) -> httpx.MockTransport:
    """Serve responses by host + path (query ignored); anything else is a 404, never the network."""
    def handler(request: httpx.Request) -> httpx.Response:
        key = f"{request.url.host}{request.url.path}"
        found = routes.get(key)
        if found is None:
            return httpx.Response(404, text=f"no recorded response for {key}")
        return found(request) if callable(found) else found
    return httpx.MockTransport(handler)


def json_response(name: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=fixture_bytes(name), headers={"content-type": "application/json"})


def healthy_feed_routes() -> dict[str, httpx.Response | Route]:
    """Every feed answering with its recorded response."""
    return {
        "api.coinbase.com/v2/prices/BTC-USD/spot": json_response("coinbase_spot_btc_usd.json"),
        "api.kraken.com/0/public/Ticker": json_response("kraken_ticker_xbtusd.json"),
        "mempool.space/api/v1/blocks": json_response("mempool_blocks.json"),
        "blockchain.info/q/getdifficulty": httpx.Response(
            200, content=fixture_bytes("blockchain_info_getdifficulty.txt"), headers={"content-type": "text/plain"}),
        "www.ercot.com/misapp/servlets/IceDocListJsonWS": json_response("ercot_np6_905_doclist.json"),
        "www.ercot.com/misdownload/servlets/mirDownload": _ercot_document,
    }


def _ercot_document(request: httpx.Request) -> httpx.Response:
    # Only the newest CSV document of the recorded list exists.
    if request.url.params.get("doclookupId") != "1164582911":
        return httpx.Response(404, text="document not found")
    return httpx.Response(200, content=zipped("ercot_spp_hubs_load_zones.csv"),
                          headers={"content-type": "application/zip"})

