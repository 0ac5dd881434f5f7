"""The market's service functions: turn `market.tick` bodies into observations, store them
(history and latest), and answer "what are prices now, and are they fresh?" and "how did a
series move?".

Series are named as the market CSV (`hcp.kernel.prices`) names its columns: `btc_usd`,
`network_difficulty`, `fees_btc_per_block`, `hashprice_usd_per_th_day`, and per key
`electricity_usd_per_mwh:<market node>` and `gpu_spot_usd_per_hour:<GPU model>`. Staleness is
judged on the platform's clock (the caller passes `now`), never on wall time, so a demo running
60x faster goes stale 60x faster too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.core.bus import validation_summary
from hcp.core.db import upsert
from hcp.core.errors import InvalidInput
from hcp.kernel.events import MarketTick
from hcp.market.models import SERIES_LENGTH, MarketLatest, MarketPrice

BTC_USD: Final = "btc_usd"
NETWORK_DIFFICULTY: Final = "network_difficulty"
FEES_BTC_PER_BLOCK: Final = "fees_btc_per_block"
HASHPRICE_USD_PER_TH_DAY: Final = "hashprice_usd_per_th_day"
ELECTRICITY_USD_PER_MWH: Final = "electricity_usd_per_mwh"
GPU_SPOT_USD_PER_HOUR: Final = "gpu_spot_usd_per_hour"

SCALAR_KINDS: Final = (BTC_USD, NETWORK_DIFFICULTY, FEES_BTC_PER_BLOCK, HASHPRICE_USD_PER_TH_DAY)
KEYED_KINDS: Final = (ELECTRICITY_USD_PER_MWH, GPU_SPOT_USD_PER_HOUR)
KINDS: Final = SCALAR_KINDS + KEYED_KINDS
# What the economics needs before it can plan at all; GPU spot is optional (no public feed).
REQUIRED: Final = (*SCALAR_KINDS, ELECTRICITY_USD_PER_MWH)

def series_name(kind: str, key: str | None = None) -> str:
    return f"{kind}:{key}" if key else kind


def split_series(series: str) -> tuple[str, str | None]:
    kind, sep, key = series.partition(":")
    return kind, (key if sep else None)


def to_ms(when: datetime) -> int:
    return round(when.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# --- observations ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Observation:
    """One value of one series at one time, from one source."""

    series: str
    value: float
    ts: datetime
    source: str


class MalformedTick(ValueError):
    """A `market.tick` body that cannot be stored; the message says which field and why."""


def parse_tick(data: Mapping[str, Any]) -> MarketTick:
    """A `market.tick` body (a dict) as the event model, or `MalformedTick` naming the fields."""
    try:
        return MarketTick.model_validate(data)
    except ValidationError as exc:
        raise MalformedTick(validation_summary(exc)) from exc


def observations_from_tick(
    data: Mapping[str, Any] | MarketTick, *, fallback_ts: str | None = None,
) -> list[Observation]:
    """The observations a `market.tick` carries (the event model checks every field).

    A tick may carry only some series (a real feed knows no GPU spot price). Beyond the
    simulator's shape, a tick may name its `source` (default "sim") and, per series, `sources`
    and `series_ts` (the feeds' composed ticks say where and when each value was observed).
    Raises `MalformedTick` if anything in it is unusable: a tick is stored whole or not at all.
    """
    tick = data if isinstance(data, MarketTick) else parse_tick(data)
    if tick.ts is None and fallback_ts is None:
        raise MalformedTick("ts: a tick needs a time")
    tick_ts = tick.at(fallback_ts or "").astimezone(UTC)
    values: list[tuple[str, float]] = [
        (kind, value) for kind in SCALAR_KINDS if (value := getattr(tick, kind)) is not None]
    for kind in KEYED_KINDS:
        by_key: dict[str, float] = getattr(tick, kind)
        values.extend((series_name(kind, key), value) for key, value in by_key.items())
    return [
        Observation(series=name, value=value, ts=tick.series_ts.get(name, tick_ts).astimezone(UTC),
                    source=tick.sources.get(name, tick.source))
        for name, value in values
    ]


async def record_observations(
    *, session: AsyncSession, observations: Iterable[Observation], received_at: datetime
) -> int:
    """Add observations to the history (a repeat inserts nothing) and move each series' latest
    forward (an older observation arriving late never replaces a newer one). Returns how many
    distinct observations were given."""
    history: dict[tuple[str, int, str], dict[str, Any]] = {}
    newest: dict[str, dict[str, Any]] = {}
    for obs in observations:
        if len(obs.series) > SERIES_LENGTH:
            raise MalformedTick(f"{obs.series[:40]}...: series names are at most {SERIES_LENGTH} characters")
        ts_ms = to_ms(obs.ts)
        row = {"series": obs.series, "ts_ms": ts_ms, "source": obs.source, "value": obs.value,
               "received_at": received_at}
        history[(obs.series, ts_ms, obs.source)] = row
        if obs.series not in newest or newest[obs.series]["ts_ms"] <= ts_ms:
            newest[obs.series] = row
    if not history:
        return 0
    await session.execute(upsert(session, MarketPrice).on_conflict_do_nothing(), list(history.values()))
    latest = upsert(session, MarketLatest)
    latest = latest.on_conflict_do_update(
        index_elements=["series"],
        set_={c: getattr(latest.excluded, c) for c in ("value", "ts_ms", "source", "received_at")},
        where=MarketLatest.ts_ms <= latest.excluded.ts_ms,
    )
    await session.execute(latest, list(newest.values()))
    return len(history)


# --- latest prices --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeriesPrice:
    """The latest value of one series, and whether it is too old to act on."""

    series: str
    kind: str
    key: str | None
    value: float
    ts: datetime
    source: str
    received_at: datetime
    age_s: float
    stale_after_s: float
    stale: bool


@dataclass(frozen=True)
class LatestPrices:
    """The latest price of every series at `now`. `stale` is true when any series is older than
    its threshold, or a series the economics needs (`REQUIRED`) has never been seen."""

    now: datetime
    series: dict[str, SeriesPrice]
    missing: tuple[str, ...]
    stale: bool
    stale_after_s: float
    stale_after_by_kind_s: dict[str, float] = field(default_factory=dict)

    @property
    def ts(self) -> datetime | None:
        """When the newest series was observed."""
        return max((s.ts for s in self.series.values()), default=None)

    def get(self, series: str) -> SeriesPrice | None:
        return self.series.get(series)

    def value(self, series: str) -> float | None:
        found = self.series.get(series)
        return None if found is None else found.value

    @property
    def btc_usd(self) -> float | None:
        return self.value(BTC_USD)

    @property
    def network_difficulty(self) -> float | None:
        return self.value(NETWORK_DIFFICULTY)

    @property
    def fees_btc_per_block(self) -> float | None:
        return self.value(FEES_BTC_PER_BLOCK)

    @property
    def hashprice_usd_per_th_day(self) -> float | None:
        return self.value(HASHPRICE_USD_PER_TH_DAY)

    def _by_key(self, kind: str) -> dict[str, float]:
        return {s.key: s.value for s in self.series.values() if s.kind == kind and s.key is not None}

    @property
    def electricity_usd_per_mwh(self) -> dict[str, float]:
        """Price per market node."""
        return self._by_key(ELECTRICITY_USD_PER_MWH)

    @property
    def gpu_spot_usd_per_hour(self) -> dict[str, float]:
        """Spot rental price per GPU model."""
        return self._by_key(GPU_SPOT_USD_PER_HOUR)

    def electricity(self, node: str) -> SeriesPrice | None:
        """The price at one market node (a facility's `market_node`), with its own stale flag."""
        return self.series.get(series_name(ELECTRICITY_USD_PER_MWH, node))


def stale_threshold(kind: str, stale_after_s: float, by_kind: Mapping[str, float] | None) -> float:
    return float((by_kind or {}).get(kind, stale_after_s))


async def latest_prices(
    *, session: AsyncSession, now: datetime, stale_after_s: float,
    stale_after_by_kind_s: Mapping[str, float] | None = None,
) -> LatestPrices:
    """The latest price of every series, each flagged stale when older than `stale_after_s`
    (or its kind's entry in `stale_after_by_kind_s`) at `now`, the platform clock's time."""
    if not stale_after_s > 0:
        raise ValueError("stale_after_s must be > 0")
    now = _aware(now)
    rows = (await session.execute(select(MarketLatest).order_by(MarketLatest.series))).scalars().all()
    series: dict[str, SeriesPrice] = {}
    for row in rows:
        kind, key = split_series(row.series)
        threshold = stale_threshold(kind, stale_after_s, stale_after_by_kind_s)
        ts = from_ms(row.ts_ms)
        age_s = (now - ts).total_seconds()
        series[row.series] = SeriesPrice(
            series=row.series, kind=kind, key=key, value=row.value, ts=ts, source=row.source,
            received_at=row.received_at, age_s=age_s, stale_after_s=threshold, stale=age_s > threshold,
        )
    kinds_seen = {s.kind for s in series.values()}
    missing = tuple(kind for kind in REQUIRED if kind not in kinds_seen)
    return LatestPrices(
        now=now, series=series, missing=missing,
        stale=bool(missing) or any(s.stale for s in series.values()),
        stale_after_s=float(stale_after_s), stale_after_by_kind_s=dict(stale_after_by_kind_s or {}),
    )


async def known_series(*, session: AsyncSession) -> list[str]:
    return list((await session.execute(select(MarketLatest.series).order_by(MarketLatest.series))).scalars())


# --- history --------------------------------------------------------------------------------------

_STEP = re.compile(r"^\s*(\d+)\s*(s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_STEP_UNITS: Final = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
MAX_STEP_S: Final = 31 * 86400


def parse_step(step: str) -> int:
    """`5m`, `1h`, `30s`, `1d` or plain seconds (`300`) -> seconds; 422 naming `step` otherwise."""
    match = _STEP.match(step)
    if match is None:
        raise InvalidInput("step", f"{step!r} is not a duration: give seconds or a number with s, m, h or d "
                                   "(e.g. 5m, 1h)")
    seconds = int(match.group(1)) * _STEP_UNITS[(match.group(2) or "s").lower()]
    if not 1 <= seconds <= MAX_STEP_S:
        raise InvalidInput("step", f"{step!r} must be between 1 s and {MAX_STEP_S // 86400} days")
    return seconds


async def resolve_series(*, session: AsyncSession, requested: Sequence[str]) -> list[str]:
    """Check the series asked for; a keyed kind without a key (`electricity_usd_per_mwh`) means
    all its keys. Unknown series -> 422 naming `series` and listing the known ones."""
    if not requested:
        raise InvalidInput("series", "name at least one series")
    known = await known_series(session=session)
    resolved: list[str] = []
    for name in requested:
        kind, key = split_series(name.strip())
        if kind not in KINDS:
            raise InvalidInput("series", f"unknown series {name!r}; one of {', '.join(KINDS)} "
                                         f"(keyed ones as <kind>:<key>, e.g. {ELECTRICITY_USD_PER_MWH}:HB_NORTH)")
        if kind in SCALAR_KINDS:
            if key is not None:
                raise InvalidInput("series", f"{kind} has no keys: ask for {kind!r}")
            wanted = [kind]
        elif key is None:
            wanted = [s for s in known if split_series(s)[0] == kind]
        else:
            wanted = [series_name(kind, key)]
            if wanted[0] not in known:
                keys = [k for s in known for kd, k in [split_series(s)] if kd == kind and k]
                raise InvalidInput("series", f"no prices for {name!r}; known {kind} keys: "
                                             f"{', '.join(keys) if keys else 'none yet'}")
        resolved.extend(s for s in wanted if s not in resolved)
    return resolved


@dataclass(frozen=True, slots=True)
class HistoryPage:
    items: list[dict[str, Any]]
    total: int
    series: list[str]
    since: datetime
    until: datetime
    step_s: int | None


async def history(
    *, session: AsyncSession, series: Sequence[str], since: datetime, until: datetime,
    step_s: int | None = None, source: str | None = None, limit: int = 1000, offset: int = 0,
) -> HistoryPage:
    """Observations of `series` with since <= ts <= until, ordered by series then time: raw, or
    averaged over buckets of `step_s` seconds aligned to the epoch (with min, max and count),
    computed by the database. Paged by `limit` / `offset`; `total` counts points (or buckets)."""
    since, until = _aware(since), _aware(until)
    if since > until:
        raise InvalidInput("since", "must not be after until")
    wanted = await resolve_series(session=session, requested=series)
    p = MarketPrice
    where = [p.series.in_(wanted), p.ts_ms >= to_ms(since), p.ts_ms <= to_ms(until)]
    if source is not None:
        where.append(p.source == source)
    items: list[dict[str, Any]] = []
    if step_s is None:
        total = int(await session.scalar(select(func.count()).select_from(p).where(*where)) or 0)
        stmt = (select(p.series, p.ts_ms, p.value, p.source).where(*where)
                .order_by(p.series, p.ts_ms, p.source).limit(limit).offset(offset))
        for name, ts_ms, value, src in (await session.execute(stmt)).all():
            items.append({"series": name, "ts": from_ms(int(ts_ms)), "value": float(value), "source": src})
    else:
        step_ms = step_s * 1000
        bucket = (p.ts_ms - p.ts_ms % step_ms).label("bucket")
        grouped = select(p.series, bucket).where(*where).group_by(p.series, bucket).subquery()
        total = int(await session.scalar(select(func.count()).select_from(grouped)) or 0)
        buckets = (
            select(p.series, bucket, func.avg(p.value), func.min(p.value), func.max(p.value), func.count())
            .where(*where).group_by(p.series, bucket).order_by(p.series, bucket).limit(limit).offset(offset)
        )
        for name, start_ms, avg, low, high, count in (await session.execute(buckets)).all():
            items.append({"series": name, "ts": from_ms(int(start_ms)), "value": float(avg),
                          "min": float(low), "max": float(high), "count": int(count)})
    return HistoryPage(items=items, total=total, series=wanted, since=since, until=until, step_s=step_s)


# --- retention ------------------------------------------------------------------------------------


async def prune_history(*, session: AsyncSession, before: datetime) -> int:
    """Delete observations older than `before`, and the latest entry of any series silent since
    then (a market node no facility prices against any more). Returns the history rows deleted."""
    cutoff = to_ms(_aware(before))
    deleted = await session.execute(delete(MarketPrice).where(MarketPrice.ts_ms < cutoff))
    await session.execute(delete(MarketLatest).where(MarketLatest.ts_ms < cutoff))
    return int(getattr(deleted, "rowcount", 0) or 0)


def retention_cutoff(now: datetime, retention_days: float) -> datetime:
    return _aware(now) - timedelta(days=retention_days)
