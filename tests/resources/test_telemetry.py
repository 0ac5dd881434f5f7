"""The telemetry store: batched samples, idempotent rollups, range queries, retention."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hcp.core.db import Database
from hcp.core.errors import InvalidInput
from hcp.resources import telemetry
from hcp.resources.models import TelemetryRollup, TelemetrySample
from hcp.resources.telemetry import MINUTE_MS, SeriesQuery

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a minute boundary


def ten_second_samples(minutes: int, unit: str = "u1") -> list[telemetry.Sample]:
    """hashrate 100, 101, 102, ... and power 3000 + i, every 10 s."""
    return [(unit, metric, T0 + i * 10_000, base + i)
            for i in range(minutes * 6) for metric, base in (("hashrate_ths", 100.0), ("power_w", 3000.0))]


async def test_samples_are_stored_once(db: Database) -> None:
    samples = ten_second_samples(2)
    async with db.transaction() as session:
        assert await telemetry.write_samples(session=session, samples=samples) == 24
    async with db.transaction() as session:
        await telemetry.write_samples(session=session, samples=samples[:5])  # a redelivered batch
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(TelemetrySample)) == 24


async def test_rollups_per_minute_and_recomputed_idempotently(db: Database) -> None:
    async with db.transaction() as session:
        await telemetry.write_samples(session=session, samples=ten_second_samples(3))
        await telemetry.roll_up(session=session, since_ms=T0, until_ms=T0 + 2 * MINUTE_MS + 5_000)
    async with db.transaction() as session:
        # A late sample in the first minute, then the same pass again: it counts, once.
        await telemetry.write_samples(session=session, samples=[("u1", "hashrate_ths", T0 + 1, 50.0)])
        assert await telemetry.rollup_watermark(session=session) == T0 + MINUTE_MS - telemetry.ROLLUP_LATENESS_MS
        await telemetry.roll_up(session=session, since_ms=T0, until_ms=T0 + 2 * MINUTE_MS)
    async with db.session() as session:
        rows = (await session.execute(
            select(TelemetryRollup).where(TelemetryRollup.metric == "hashrate_ths").order_by(TelemetryRollup.minute_ms)
        )).scalars().all()
    assert [(r.minute_ms, r.count, r.sum, r.min, r.max) for r in rows] == [
        (T0, 7, sum(range(100, 106)) + 50.0, 50.0, 105.0),
        (T0 + MINUTE_MS, 6, float(sum(range(106, 112))), 106.0, 111.0),
    ]


async def test_queries_raw_bucketed_and_from_rollups(db: Database) -> None:
    async with db.transaction() as session:
        await telemetry.write_samples(session=session, samples=ten_second_samples(4))
        await telemetry.write_samples(session=session, samples=ten_second_samples(1, unit="u2"))
        await telemetry.roll_up(session=session, since_ms=T0, until_ms=T0 + 4 * MINUTE_MS)
    end = T0 + 4 * MINUTE_MS
    async with db.session() as session:
        raw = await telemetry.query(session=session, raw_since_ms=T0, q=SeriesQuery(
            unit_id="u1", since_ms=T0, until_ms=T0 + 30_000, step_s=None, metrics=["hashrate_ths"]))
        buckets = await telemetry.query(session=session, raw_since_ms=T0, q=SeriesQuery(
            unit_id="u1", since_ms=T0, until_ms=end, step_s=120, metrics=None))
        rolled = await telemetry.query(session=session, raw_since_ms=end, q=SeriesQuery(
            unit_id="u1", since_ms=T0, until_ms=end, step_s=120, metrics=["power_w"]))
    assert raw["source"] == "raw" and [p["value"] for p in raw["series"][0]["points"]] == [100.0, 101.0, 102.0]
    assert [s["metric"] for s in buckets["series"]] == ["hashrate_ths", "power_w"]
    first = buckets["series"][0]["points"][0]
    assert (first["value"], first["min"], first["max"], first["count"]) == (105.5, 100.0, 111.0, 12)
    assert rolled["source"] == "rollup"
    assert [(p["value"], p["count"]) for p in rolled["series"][0]["points"]] == [(3005.5, 12), (3017.5, 12)]


async def test_queries_refuse_what_they_cannot_answer(db: Database) -> None:
    async with db.session() as session:
        with pytest.raises(InvalidInput) as too_many:
            await telemetry.query(session=session, raw_since_ms=T0, q=SeriesQuery(
                unit_id="u1", since_ms=T0, until_ms=T0 + 86_400_000 * 30, step_s=1, metrics=None))
        assert too_many.value.details[0]["field"] == "step"
        with pytest.raises(InvalidInput, match="multiple of 60"):
            await telemetry.query(session=session, raw_since_ms=T0 + MINUTE_MS, q=SeriesQuery(
                unit_id="u1", since_ms=T0, until_ms=T0 + 2 * MINUTE_MS, step_s=30, metrics=None))


async def test_retention_prunes_old_samples_and_rollups(db: Database) -> None:
    async with db.transaction() as session:
        await telemetry.write_samples(session=session, samples=ten_second_samples(3))
        await telemetry.roll_up(session=session, since_ms=T0, until_ms=T0 + 3 * MINUTE_MS)
        raw, rolled = await telemetry.prune(session=session, samples_before_ms=T0 + 2 * MINUTE_MS,
                                            rollups_before_ms=T0 + MINUTE_MS)
    assert (raw, rolled) == (24, 2)
    async with db.session() as session:
        assert await session.scalar(select(func.min(TelemetrySample.ts_ms))) == T0 + 2 * MINUTE_MS
        assert await session.scalar(select(func.count()).select_from(TelemetryRollup)) == 4
