"""Polls the enabled real feeds and publishes what they observe as `market.tick` events, in the
shape of the simulator's `MarketTick.to_event()`, so nothing downstream cares where prices
come from.

Each feed polls on its own interval. After a successful fetch the poller publishes one tick of
everything the feeds have observed so far, naming per series its source and its own time
(`sources`, `series_ts`): a value a failing feed last gave keeps its old time and goes stale
downstream instead of looking fresh. Hashprice is derived once BTC, difficulty and fees are known,
as of the oldest of the three. A fetch that fails (HTTP error, timeout, unusable body) is logged
and counted, marks its feed failing, and never stops the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from prometheus_client import Counter

from hcp.core.bus import Bus
from hcp.core.clock import Clock
from hcp.core.metrics import REGISTRY
from hcp.core.tasks import cancel_tasks
from hcp.kernel.events import MarketTick
from hcp.kernel.hashprice import hashprice_usd_per_th_day, network_hashrate_ths
from hcp.market.feeds import Feed, FeedError, PricePoint
from hcp.market.service import (
    BTC_USD,
    FEES_BTC_PER_BLOCK,
    HASHPRICE_USD_PER_TH_DAY,
    KEYED_KINDS,
    NETWORK_DIFFICULTY,
    SCALAR_KINDS,
    split_series,
    stale_threshold,
)

log = structlog.get_logger(__name__)

FEED_FETCHES = Counter(
    "hcp_market_feed_fetches_total", "Fetches of real price feeds, by feed and outcome",
    ["feed", "outcome"], registry=REGISTRY,
)
DERIVED_SOURCE = "derived"
FEEDS_SOURCE = "feeds"


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class FeedStatus:
    """How one feed is doing, as `GET /market/prices` shows it."""

    name: str
    kinds: tuple[str, ...]
    interval_s: float
    fetches: int = 0
    errors: int = 0
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    failing: bool = False

    def view(self, *, now: datetime, stale_after_s: float) -> dict[str, Any]:
        silent = self.last_success_at is None or (now - self.last_success_at).total_seconds() > stale_after_s
        return {
            "name": self.name, "series": list(self.kinds), "interval_s": self.interval_s,
            "fetches": self.fetches, "errors": self.errors, "last_success_at": self.last_success_at,
            "last_error_at": self.last_error_at, "last_error": self.last_error, "failing": self.failing,
            "stale": self.failing or silent,
        }


def compose_tick(observed: Mapping[str, PricePoint], *, ts: datetime) -> dict[str, Any]:
    """A `market.tick` body of everything observed, with each series' source and time."""
    body: dict[str, Any] = {"id": f"market.tick:{FEEDS_SOURCE}:{_iso(ts)}", "ts": _iso(ts), "source": FEEDS_SOURCE}
    sources: dict[str, str] = {}
    times: dict[str, str] = {}
    for name, point in sorted(observed.items()):
        kind, key = split_series(name)
        if kind in SCALAR_KINDS and key is None:
            body[kind] = point.value
        elif kind in KEYED_KINDS and key is not None:
            body.setdefault(kind, {})[key] = point.value
        else:
            continue
        sources[name], times[name] = point.source, _iso(point.ts)
    inputs = [observed.get(k) for k in (BTC_USD, NETWORK_DIFFICULTY, FEES_BTC_PER_BLOCK)]
    if all(p is not None for p in inputs) and HASHPRICE_USD_PER_TH_DAY not in observed:
        btc, difficulty, fees = (p for p in inputs if p is not None)
        body[HASHPRICE_USD_PER_TH_DAY] = hashprice_usd_per_th_day(btc.value, difficulty.value, fees.value)
        body["hashprice_usd_per_ph_day"] = body[HASHPRICE_USD_PER_TH_DAY] * 1000.0
        sources[HASHPRICE_USD_PER_TH_DAY] = DERIVED_SOURCE
        times[HASHPRICE_USD_PER_TH_DAY] = _iso(min(btc.ts, difficulty.ts, fees.ts))
    if NETWORK_DIFFICULTY in observed:
        body["network_hashrate_ths"] = network_hashrate_ths(observed[NETWORK_DIFFICULTY].value)
    body["sources"], body["series_ts"] = sources, times
    return body


class FeedPoller:
    def __init__(
        self, *, feeds: Sequence[Feed], bus: Bus, clock: Clock, timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.feeds = list(feeds)
        self.bus, self.clock = bus, clock
        self.status = {f.name: FeedStatus(f.name, f.kinds, f.interval_s) for f in self.feeds}
        self.observed: dict[str, PricePoint] = {}
        self._client = httpx.AsyncClient(
            timeout=timeout_s, transport=transport, follow_redirects=True,
            headers={"User-Agent": "hcp-market/1", "Accept": "*/*"},
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._publish_lock = asyncio.Lock()

    def start(self) -> None:
        for feed in self.feeds:
            self._tasks.append(asyncio.create_task(self._run(feed), name=f"market-feed:{feed.name}"))

    async def stop(self) -> None:
        await cancel_tasks(self._tasks)
        self._tasks.clear()
        await self._client.aclose()

    async def _run(self, feed: Feed) -> None:
        while True:
            await self.poll(feed)
            # Wall time: the providers' rate limits do not speed up with the demo's clock.
            await asyncio.sleep(feed.interval_s)

    async def poll(self, feed: Feed) -> bool:
        """Fetch one feed once and publish the composed tick; False (logged, counted) on failure."""
        status = self.status[feed.name]
        status.fetches += 1
        now = self.clock.now()
        try:
            points = await feed.fetch(self._client, now=now)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure of one fetch is the feed's, never the loop's
            outcome = _outcome(exc)
            status.errors += 1
            status.failing = True
            status.last_error_at = self.clock.now()
            status.last_error = f"{outcome}: {exc}"[:300]
            FEED_FETCHES.labels(feed=feed.name, outcome=outcome).inc()
            log.warning("market feed failed", feed=feed.name, outcome=outcome, error=str(exc)[:300])
            return False
        FEED_FETCHES.labels(feed=feed.name, outcome="ok").inc()
        status.failing = False
        status.last_success_at = now
        status.last_error = None
        async with self._publish_lock:
            for point in points:
                current = self.observed.get(point.series)
                if current is None or current.ts <= point.ts:
                    self.observed[point.series] = point
            body = compose_tick(self.observed, ts=now)
            await self.bus.emit(MarketTick.model_validate(body), ts=now)
        return True

    def feed_views(
        self, *, now: datetime, stale_after_s: float, stale_after_by_kind_s: Mapping[str, float] | None = None
    ) -> list[dict[str, Any]]:
        """Each feed's status; silent for longer than its series' stale threshold is stale."""
        return [
            s.view(now=now, stale_after_s=max(stale_threshold(k, stale_after_s, stale_after_by_kind_s)
                                              for k in s.kinds))
            for s in self.status.values()
        ]


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"http_{exc.response.status_code}"
    if isinstance(exc, httpx.HTTPError):
        return "transport"
    if isinstance(exc, FeedError):
        return "unusable_response"
    return "error"
