"""Adapters for real price feeds: each reads one public API and returns the observations it holds.

- `CoinbaseSpot`: BTC-USD spot (`GET /v2/prices/BTC-USD/spot`).
- `KrakenTicker`: BTC-USD last trade (`GET /0/public/Ticker?pair=XBTUSD`).
- `MempoolBlocks`: difficulty of the tip and fees per block averaged over recent blocks
  (mempool.space `GET /api/v1/blocks`).
- `BlockchainInfoDifficulty`: difficulty (`GET /q/getdifficulty`, plain text).
- `ErcotSpp`: real-time settlement point prices of hubs and load zones (NP6-905-CD), the newest
  15-minute file from ERCOT's public MIS (a document list, then a zipped CSV).

An adapter raises `FeedError` for a response it cannot use; transport errors and HTTP error
statuses surface as `httpx.HTTPError`. The poller (`hcp.market.poller`) counts both and keeps going.
Tests serve recorded responses (`hcp/market/fixtures/`) through `httpx.MockTransport`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx

from hcp.core.settings import MarketSettings
from hcp.market.service import (
    BTC_USD,
    ELECTRICITY_USD_PER_MWH,
    FEES_BTC_PER_BLOCK,
    NETWORK_DIFFICULTY,
    Observation,
    series_name,
)

# What an adapter returns: the observations of one fetch.
PricePoint = Observation
SATOSHIS_PER_BTC = 100_000_000
ERCOT_ZONE = ZoneInfo("America/Chicago")  # ERCOT's files are in Central Prevailing Time
ERCOT_COLUMNS = ("DeliveryDate", "DeliveryHour", "DeliveryInterval", "SettlementPointName",
                 "SettlementPointPrice")


class FeedError(Exception):
    """A response that came back but cannot be used (malformed, an error body, nonsense values)."""


class Feed(ABC):
    """One source of prices. `fetch` reads it once; `now` (the platform clock's time) stamps
    values the source gives without a time of its own."""

    name: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]]

    def __init__(self, *, url: str, interval_s: float = 60.0, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.interval_s = interval_s
        self.headers = dict(headers or {})

    @abstractmethod
    async def fetch(self, client: httpx.AsyncClient, *, now: datetime) -> list[PricePoint]: ...

    async def _get(self, client: httpx.AsyncClient, url: str | None = None) -> httpx.Response:
        response = await client.get(url or self.url, headers=self.headers)
        response.raise_for_status()
        return response

    async def _get_json(self, client: httpx.AsyncClient, url: str | None = None) -> Any:
        response = await self._get(client, url)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FeedError(f"{self.name}: response is not JSON ({exc})") from None

    def _point(
        self, kind: str, value: Any, ts: datetime, key: str | None = None, *, positive: bool = True
    ) -> PricePoint:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise FeedError(f"{self.name}: {kind} {value!r} is not a number") from None
        if not math.isfinite(number) or (positive and number <= 0):
            raise FeedError(f"{self.name}: {kind} {value!r} is not a usable value")
        return PricePoint(series=series_name(kind, key), value=number, ts=ts, source=self.name)


def _field(body: Any, *path: str | int, feed: str) -> Any:
    """body[path[0]][path[1]]..., or FeedError naming the path that is missing."""
    value = body
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            where = "".join(f"[{p!r}]" for p in path)
            raise FeedError(f"{feed}: the response has no {where}") from None
    return value


class CoinbaseSpot(Feed):
    """`{"data": {"amount": "91234.56", "base": "BTC", "currency": "USD"}}`"""

    name = "coinbase"
    kinds = (BTC_USD,)

    async def fetch(self, client: httpx.AsyncClient, *, now: datetime) -> list[PricePoint]:
        body = await self._get_json(client)
        if isinstance(body, dict) and body.get("errors"):
            raise FeedError(f"coinbase: {body['errors']}")
        base, currency = _field(body, "data", "base", feed=self.name), _field(body, "data", "currency", feed=self.name)
        if (base, currency) != ("BTC", "USD"):
            raise FeedError(f"coinbase: quote is {base}-{currency}, not BTC-USD")
        return [self._point(BTC_USD, _field(body, "data", "amount", feed=self.name), now)]


class KrakenTicker(Feed):
    """`{"error": [], "result": {"XXBTZUSD": {"c": ["91234.5", "0.001"], "a": [...], ...}}}`;
    `c` is the last trade (price, lot volume). Errors come back with status 200 in `error`."""

    name = "kraken"
    kinds = (BTC_USD,)

    async def fetch(self, client: httpx.AsyncClient, *, now: datetime) -> list[PricePoint]:
        body = await self._get_json(client)
        errors = body.get("error") if isinstance(body, dict) else None
        if errors:
            raise FeedError(f"kraken: {', '.join(map(str, errors))}")
        result = _field(body, "result", feed=self.name)
        if not isinstance(result, dict) or len(result) != 1:
            raise FeedError("kraken: expected the ticker of exactly one pair")
        (pair, ticker), = result.items()
        if "USD" not in pair or not ("XBT" in pair or "BTC" in pair):
            raise FeedError(f"kraken: pair {pair} is not BTC-USD")
        return [self._point(BTC_USD, _field(ticker, "c", 0, feed=self.name), now)]


class MempoolBlocks(Feed):
    """The latest blocks (`[{"height", "difficulty", "timestamp", "extras": {"totalFees" (sats),
    "reward", ...}}, ...]`): the tip's difficulty, and the mean of the blocks' fees in BTC."""

    name = "mempool"
    kinds = (NETWORK_DIFFICULTY, FEES_BTC_PER_BLOCK)

    async def fetch(self, client: httpx.AsyncClient, *, now: datetime) -> list[PricePoint]:
        blocks = await self._get_json(client)
        if not isinstance(blocks, list) or not blocks or not all(isinstance(b, dict) for b in blocks):
            raise FeedError("mempool: expected a non-empty list of blocks")
        try:
            tip = max(blocks, key=lambda b: int(b["height"]))
        except (KeyError, TypeError, ValueError):
            raise FeedError("mempool: a block has no usable height") from None
        points = [self._point(NETWORK_DIFFICULTY, _field(tip, "difficulty", feed=self.name), now)]
        fees = [b["extras"]["totalFees"] for b in blocks
                if isinstance(b.get("extras"), dict) and "totalFees" in b["extras"]]
        if fees:
            try:
                sats = [float(f) for f in fees]
            except (TypeError, ValueError):
                raise FeedError("mempool: extras.totalFees is not a number") from None
            if any(not math.isfinite(f) or f < 0 for f in sats):
                raise FeedError("mempool: extras.totalFees is not a usable value")
            points.append(self._point(FEES_BTC_PER_BLOCK, sum(sats) / len(sats) / SATOSHIS_PER_BTC, now,
                                      positive=False))
        return points


class BlockchainInfoDifficulty(Feed):
    """The current difficulty as a bare number in plain text."""

    name = "blockchain_info"
    kinds = (NETWORK_DIFFICULTY,)

    async def fetch(self, client: httpx.AsyncClient, *, now: datetime) -> list[PricePoint]:
        text = (await self._get(client)).text.strip()
        return [self._point(NETWORK_DIFFICULTY, text, now)]


class ErcotSpp(Feed):
    """ERCOT real-time settlement point prices from the public MIS: the report's document list
    (`{"ListDocsByRptTypeRes": {"DocumentList": [{"Document": {"DocID", "FriendlyName",
    "PublishDate", ...}}]}}`), then the newest `..._csv` document, a zip holding one CSV with
    `DeliveryDate, DeliveryHour, DeliveryInterval, SettlementPointName, SettlementPointType,
    SettlementPointPrice, DSTFlag`. Each row is stamped with its interval's start in UTC."""

    name = "ercot"
    kinds = (ELECTRICITY_USD_PER_MWH,)

    def __init__(self, *, url: str, download_url: str, settlement_points: Sequence[str] = (),
                 interval_s: float = 300.0, headers: dict[str, str] | None = None) -> None:
        super().__init__(url=url, interval_s=interval_s, headers=headers)
        self.download_url = download_url
        self.settlement_points = frozenset(settlement_points)

    async def fetch(self, client: httpx.AsyncClient, *, now: datetime) -> list[PricePoint]:
        listing = await self._get_json(client)
        documents = _field(listing, "ListDocsByRptTypeRes", "DocumentList", feed=self.name)
        if not isinstance(documents, list):
            raise FeedError("ercot: DocumentList is not a list")
        csv_docs = [d["Document"] for d in documents
                    if isinstance(d, dict) and isinstance(d.get("Document"), dict)
                    and str(d["Document"].get("FriendlyName", "")).lower().endswith("_csv")]
        if not csv_docs:
            raise FeedError("ercot: the document list holds no CSV document")
        try:
            newest = max(csv_docs, key=lambda d: (datetime.fromisoformat(d["PublishDate"]), int(d["DocID"])))
        except (KeyError, TypeError, ValueError):
            raise FeedError("ercot: a document has no usable PublishDate or DocID") from None
        response = await self._get(client, self.download_url.format(doc_id=newest["DocID"]))
        return self.parse(_csv_text(response.content))

    def parse(self, text: str) -> list[PricePoint]:
        """The rows of an SPP CSV for the settlement points kept (all of them if none are named)."""
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in ERCOT_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise FeedError(f"ercot: the CSV lacks column(s) {', '.join(missing)}")
        points = []
        for row in reader:
            name = (row.get("SettlementPointName") or "").strip()
            if self.settlement_points and name not in self.settlement_points:
                continue
            # Load zones come twice, plain (LZ) and energy-weighted (LZEW, for settlement): keep plain.
            if (row.get("SettlementPointType") or "").strip().upper().endswith("EW"):
                continue
            ts = _interval_start(row, line=reader.line_num)
            points.append(self._point(ELECTRICITY_USD_PER_MWH, row["SettlementPointPrice"], ts, key=name,
                                      positive=False))
        if not points:
            raise FeedError("ercot: no rows for the settlement points kept")
        return points


def _csv_text(content: bytes) -> str:
    """MIS documents are zips holding one CSV; a bare CSV (a mirror, a test) is read as it is."""
    if content[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                members = [n for n in archive.namelist() if n.lower().endswith(".csv")]
                if not members:
                    raise FeedError("ercot: the zip holds no CSV")
                content = archive.read(members[0])
        except zipfile.BadZipFile as exc:
            raise FeedError(f"ercot: unreadable zip ({exc})") from None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FeedError("ercot: the CSV is not UTF-8 text") from None


def _interval_start(row: dict[str, str], *, line: int) -> datetime:
    """Start of a row's 15-minute interval in UTC. Hours are hour-ending 1-24 in Central
    Prevailing Time; in the hour repeated when DST ends, DSTFlag "Y" marks the first (daylight)
    occurrence and "N" the second (standard), as gridstatus reads them."""
    try:
        day = datetime.strptime(row["DeliveryDate"].strip(), "%m/%d/%Y")
        hour = int(row["DeliveryHour"])
        interval = int(row["DeliveryInterval"])
    except (KeyError, TypeError, ValueError):
        raise FeedError(f"ercot: line {line}: unusable DeliveryDate, DeliveryHour or DeliveryInterval") from None
    if not (1 <= hour <= 24 and 1 <= interval <= 4):
        raise FeedError(f"ercot: line {line}: hour {hour} interval {interval} out of range")
    local = day + timedelta(hours=hour - 1, minutes=15 * (interval - 1))
    fold = 0 if (row.get("DSTFlag") or "N").strip().upper() == "Y" else 1
    return local.replace(tzinfo=ERCOT_ZONE, fold=fold).astimezone(UTC)


def build_feeds(settings: MarketSettings) -> list[Feed]:
    """The enabled real feeds of these settings, none by default."""
    feeds: list[Feed] = []
    s = settings
    simple: list[tuple[type[Feed], Any]] = [
        (CoinbaseSpot, s.coinbase), (KrakenTicker, s.kraken), (MempoolBlocks, s.mempool),
        (BlockchainInfoDifficulty, s.blockchain_info),
    ]
    for cls, conf in simple:
        if conf.enabled:
            feeds.append(cls(url=conf.url, interval_s=conf.interval_s, headers=conf.headers))
    if s.ercot.enabled:
        feeds.append(ErcotSpp(url=s.ercot.url, download_url=s.ercot.download_url,
                              settlement_points=s.ercot.settlement_points, interval_s=s.ercot.interval_s,
                              headers=s.ercot.headers))
    return feeds
