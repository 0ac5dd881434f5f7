"""The telemetry store: raw samples with a retention, one-minute rollups, and range queries.

Samples go in by the batch (one executemany per poll round or telemetry event), keyed by
(unit, metric, time) so that a redelivered batch inserts nothing twice. Rollups are recomputed
from the raw samples of recent minutes, which makes them idempotent and lets late samples in;
queries read raw samples while they exist and rollups beyond the raw retention.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.core.db import dialect_of, upsert
from hcp.core.errors import InvalidInput
from hcp.resources.models import TelemetryRollup, TelemetrySample

MINUTE_MS = 60_000
MAX_POINTS = 10_000
# Rollups of the last minutes are recomputed on every pass, so samples arriving late count.
ROLLUP_LATENESS_MS = 5 * MINUTE_MS

Sample = tuple[str, str, int, float]  # unit_id, metric, ts_ms, value


def to_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


# The hot path, written at the driver level: SQLAlchemy's per-row parameter handling costs more
# than SQLite's insert itself, and on PostgreSQL one statement over arrays beats a row per value.
_SQLITE_INSERT = (f"INSERT OR IGNORE INTO {TelemetrySample.__tablename__} (unit_id, metric, ts_ms, value) "
                  "VALUES (?, ?, ?, ?)")
_PG_INSERT = text(
    f"INSERT INTO {TelemetrySample.__tablename__} (unit_id, metric, ts_ms, value) "
    "SELECT * FROM unnest(CAST(:unit_ids AS text[]), CAST(:metrics AS text[]), CAST(:ts AS bigint[]), "
    "CAST(:values AS double precision[])) ON CONFLICT DO NOTHING"
)


async def write_samples(*, session: AsyncSession, samples: Iterable[Sample]) -> int:
    """Insert samples in one batch; samples already stored (same unit, metric, time) are skipped."""
    rows = list(samples)
    if not rows:
        return 0
    if dialect_of(session) == "postgresql":
        unit_ids, metrics, ts, values = (list(column) for column in zip(*rows, strict=True))
        await session.execute(_PG_INSERT, {"unit_ids": unit_ids, "metrics": metrics, "ts": ts, "values": values})
    else:
        conn = await session.connection()
        await conn.exec_driver_sql(_SQLITE_INSERT, rows)
    return len(rows)


async def roll_up(*, session: AsyncSession, since_ms: int, until_ms: int) -> int:
    """(Re)compute the one-minute rollups of the minutes in [since, until) from raw samples."""
    since_ms -= since_ms % MINUTE_MS
    until_ms -= until_ms % MINUTE_MS
    if until_ms <= since_ms:
        return 0
    s = TelemetrySample
    minute = (s.ts_ms - s.ts_ms % MINUTE_MS).label("minute_ms")
    source = (
        select(s.unit_id, s.metric, minute, func.count().label("count"), func.sum(s.value).label("sum"),
               func.min(s.value).label("min"), func.max(s.value).label("max"))
        .where(s.ts_ms >= since_ms, s.ts_ms < until_ms)
        .group_by(s.unit_id, s.metric, minute)
    )
    ins = upsert(session, TelemetryRollup).from_select(
        ["unit_id", "metric", "minute_ms", "count", "sum", "min", "max"], source
    )
    stmt = ins.on_conflict_do_update(
        index_elements=["unit_id", "metric", "minute_ms"],
        set_={c: getattr(ins.excluded, c) for c in ("count", "sum", "min", "max")},
    )
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def rollup_watermark(*, session: AsyncSession) -> int | None:
    """Where the next rollup pass starts: a little before the newest rollup, else the oldest sample."""
    newest = await session.scalar(select(func.max(TelemetryRollup.minute_ms)))
    if newest is not None:
        return int(newest) - ROLLUP_LATENESS_MS
    oldest = await session.scalar(select(func.min(TelemetrySample.ts_ms)))
    return None if oldest is None else int(oldest)


async def prune(*, session: AsyncSession, samples_before_ms: int, rollups_before_ms: int) -> tuple[int, int]:
    raw = await session.execute(delete(TelemetrySample).where(TelemetrySample.ts_ms < samples_before_ms))
    rolled = await session.execute(delete(TelemetryRollup).where(TelemetryRollup.minute_ms < rollups_before_ms))
    return int(getattr(raw, "rowcount", 0) or 0), int(getattr(rolled, "rowcount", 0) or 0)


@dataclass(frozen=True)
class SeriesQuery:
    unit_id: str
    since_ms: int
    until_ms: int
    step_s: int | None
    metrics: Sequence[str] | None


async def query(*, session: AsyncSession, q: SeriesQuery, raw_since_ms: int) -> dict[str, Any]:
    """Points of each metric of a unit in [since, until): raw samples, or buckets of `step_s`
    (average, min, max). Raw samples serve while they are retained (`raw_since_ms` on); older
    ranges come from the rollups, whose buckets are whole minutes."""
    span_ms = q.until_ms - q.since_ms
    if q.step_s is not None and span_ms / (q.step_s * 1000) > MAX_POINTS:
        raise InvalidInput("step", f"{span_ms // (q.step_s * 1000)} points per series; at most {MAX_POINTS}: "
                           "ask for a larger step or a shorter range")
    use_rollups = q.since_ms < raw_since_ms
    if use_rollups and (q.step_s is None or q.step_s % 60):
        raise InvalidInput("step", "data older than the raw retention is kept per minute: "
                           "give a step that is a multiple of 60 s")
    if use_rollups:
        assert q.step_s is not None
        series = await _rollup_points(session, q, q.step_s * 1000)
        source = "rollup"
    elif q.step_s is None:
        series = await _raw_points(session, q)
        source = "raw"
    else:
        series = await _bucket_points(session, q, q.step_s * 1000)
        source = "raw"
    return {
        "unit_id": q.unit_id, "since": from_ms(q.since_ms), "until": from_ms(q.until_ms), "step_s": q.step_s,
        "source": source,
        "series": [{"metric": m, "points": pts} for m, pts in sorted(series.items())],
    }


def _metric_filter(column: Any, metrics: Sequence[str] | None) -> list[Any]:
    return [column.in_(list(metrics))] if metrics else []


async def _raw_points(session: AsyncSession, q: SeriesQuery) -> dict[str, list[dict[str, Any]]]:
    s = TelemetrySample
    stmt = (
        select(s.metric, s.ts_ms, s.value)
        .where(s.unit_id == q.unit_id, s.ts_ms >= q.since_ms, s.ts_ms < q.until_ms,
               *_metric_filter(s.metric, q.metrics))
        .order_by(s.metric, s.ts_ms).limit(MAX_POINTS * 50 + 1)
    )
    rows = (await session.execute(stmt)).all()
    series: dict[str, list[dict[str, Any]]] = {}
    for metric, ts, value in rows:
        points = series.setdefault(metric, [])
        if len(points) >= MAX_POINTS:
            raise InvalidInput("step", f"more than {MAX_POINTS} raw samples per series in this range: give a step")
        points.append({"ts": from_ms(ts), "value": value})
    return series


async def _bucket_points(session: AsyncSession, q: SeriesQuery, step_ms: int) -> dict[str, list[dict[str, Any]]]:
    s = TelemetrySample
    # Buckets are aligned to the epoch, so the same step always cuts at the same instants.
    bucket = (s.ts_ms - s.ts_ms % step_ms).label("bucket")
    stmt = (
        select(s.metric, bucket, func.avg(s.value), func.min(s.value), func.max(s.value), func.count())
        .where(s.unit_id == q.unit_id, s.ts_ms >= q.since_ms, s.ts_ms < q.until_ms,
               *_metric_filter(s.metric, q.metrics))
        .group_by(s.metric, bucket).order_by(s.metric, bucket)
    )
    return _points((await session.execute(stmt)).all())


async def _rollup_points(session: AsyncSession, q: SeriesQuery, step_ms: int) -> dict[str, list[dict[str, Any]]]:
    r = TelemetryRollup
    bucket = (r.minute_ms - r.minute_ms % step_ms).label("bucket")
    total = func.sum(r.count)
    stmt = (
        # A float sum over an integer count divides as floats on both databases.
        select(r.metric, bucket, func.sum(r.sum) / total, func.min(r.min), func.max(r.max), total)
        .where(and_(r.unit_id == q.unit_id, r.minute_ms >= q.since_ms - q.since_ms % MINUTE_MS,
                    r.minute_ms < q.until_ms, *_metric_filter(r.metric, q.metrics)))
        .group_by(r.metric, bucket).order_by(r.metric, bucket)
    )
    return _points((await session.execute(stmt)).all())


def _points(rows: Sequence[Any]) -> dict[str, list[dict[str, Any]]]:
    series: dict[str, list[dict[str, Any]]] = {}
    for metric, bucket, avg, low, high, count in rows:
        series.setdefault(metric, []).append({
            "ts": from_ms(int(bucket)), "value": None if avg is None else float(avg),
            "min": float(low), "max": float(high), "count": int(count),
        })
    return series
