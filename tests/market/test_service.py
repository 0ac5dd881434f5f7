"""Prices stored from ticks: latest with staleness on the platform's clock, history with
downsampling, retention. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.market.conftest import GPUS, NODES, tick

from hcp.core.clock import SteppedClock
from hcp.core.db import Database
from hcp.core.errors import InvalidInput
from hcp.kernel.hashprice import hashprice_usd_per_th_day
from hcp.market import service
from hcp.market.models import MarketPrice

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def store(db: Database, body: dict[str, Any], *, received_at: datetime | None = None) -> int:
    async with db.transaction() as session:
        return await service.record_observations(
            session=session, observations=service.observations_from_tick(body),
            received_at=received_at or datetime.fromisoformat(body["ts"]),
        )


async def latest(db: Database, now: datetime, stale_after_s: float = 600.0, **kw: Any) -> service.LatestPrices:
    async with db.session() as session:
        return await service.latest_prices(session=session, now=now, stale_after_s=stale_after_s, **kw)


async def test_a_simulator_tick_becomes_the_latest_prices(db: Database) -> None:
    body = tick(T0, btc_usd=64_321.5, network_difficulty=1.2e14, fees_btc_per_block=0.025)
    assert await store(db, body) == 4 + len(NODES) + len(GPUS)
    prices = await latest(db, T0 + timedelta(seconds=30))
    assert prices.btc_usd == 64_321.5 and prices.network_difficulty == 1.2e14
    assert prices.fees_btc_per_block == 0.025
    # The tick carries hashprice rounded to 6 decimals of $/TH/day.
    assert prices.hashprice_usd_per_th_day == pytest.approx(hashprice_usd_per_th_day(64_321.5, 1.2e14, 0.025), abs=1e-6)
    assert prices.electricity_usd_per_mwh == NODES and prices.gpu_spot_usd_per_hour == GPUS
    assert prices.ts == T0 and not prices.stale and prices.missing == ()
    north = prices.electricity("HB_NORTH")
    assert north is not None and north.value == 41.5 and north.source == "sim" and north.age_s == 30.0
    assert prices.electricity("NOWHERE") is None


async def test_stale_flag_flips_when_the_clock_passes_the_threshold(db: Database) -> None:
    clock = SteppedClock()
    await store(db, tick(clock.now()))
    assert not (await latest(db, clock.now(), stale_after_s=300)).stale
    await clock.advance(299)
    assert not (await latest(db, clock.now(), stale_after_s=300)).stale
    await clock.advance(2)
    prices = await latest(db, clock.now(), stale_after_s=300)
    assert prices.stale and all(s.stale for s in prices.series.values())
    btc = prices.get("btc_usd")
    assert btc is not None and btc.age_s == 301 and btc.stale_after_s == 300

    # Electricity may be allowed longer (ERCOT posts 15-minute intervals after they end).
    relaxed = await latest(db, clock.now(), stale_after_s=300,
                           stale_after_by_kind_s={"electricity_usd_per_mwh": 2700})
    north = relaxed.electricity("HB_NORTH")
    assert north is not None and not north.stale and relaxed.get("btc_usd").stale  # type: ignore[union-attr]

    # A fresh tick makes everything fresh again.
    await store(db, tick(clock.now()))
    assert not (await latest(db, clock.now(), stale_after_s=300)).stale


async def test_prices_never_seen_count_as_stale(db: Database) -> None:
    empty = await latest(db, T0)
    assert empty.stale and empty.btc_usd is None and empty.ts is None
    assert set(empty.missing) == {*service.SCALAR_KINDS, "electricity_usd_per_mwh"}
    await store(db, {"ts": "2026-01-01T00:00:00Z", "btc_usd": 65_000.0, "source": "coinbase"})
    partial = await latest(db, T0)
    assert partial.stale and partial.btc_usd == 65_000.0 and "btc_usd" not in partial.missing
    assert partial.get("btc_usd").source == "coinbase"  # type: ignore[union-attr]


async def test_a_late_older_tick_never_replaces_a_newer_latest(db: Database) -> None:
    await store(db, tick(T0 + timedelta(minutes=2), btc_usd=66_000.0))
    await store(db, tick(T0 + timedelta(minutes=1), btc_usd=64_000.0))
    prices = await latest(db, T0 + timedelta(minutes=2))
    assert prices.btc_usd == 66_000.0 and prices.ts == T0 + timedelta(minutes=2)
    async with db.session() as session:
        page = await service.history(session=session, series=["btc_usd"], since=T0, until=T0 + timedelta(hours=1))
    assert [p["value"] for p in page.items] == [64_000.0, 66_000.0]


async def test_the_same_observation_twice_is_stored_once(db: Database) -> None:
    body = tick(T0)
    await store(db, body)
    await store(db, body, received_at=T0 + timedelta(seconds=5))
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(MarketPrice)) == 4 + len(NODES) + len(GPUS)


async def hour_of_ticks(db: Database) -> None:
    """A tick a minute for an hour: BTC 60000, 60001, ...; HB_NORTH 40 + minute % 5."""
    for minute in range(60):
        await store(db, tick(T0 + timedelta(minutes=minute), btc_usd=60_000.0 + minute,
                             electricity={"HB_NORTH": 40.0 + minute % 5, "HB_WEST": 30.0}))


async def test_history_raw_and_downsampled_in_sql(db: Database) -> None:
    await hour_of_ticks(db)
    until = T0 + timedelta(hours=1)
    async with db.session() as session:
        raw = await service.history(session=session, series=["btc_usd"], since=T0, until=until, limit=10, offset=5)
        assert raw.total == 60 and len(raw.items) == 10
        assert raw.items[0] == {"series": "btc_usd", "ts": T0 + timedelta(minutes=5), "value": 60_005.0,
                                "source": "sim"}
        five = await service.history(session=session, series=["btc_usd"], since=T0, until=until, step_s=300)
        assert five.total == 12 and len(five.items) == 12
        first, last = five.items[0], five.items[-1]
        assert first == {"series": "btc_usd", "ts": T0, "value": 60_002.0, "min": 60_000.0, "max": 60_004.0,
                         "count": 5}
        assert last["ts"] == T0 + timedelta(minutes=55) and last["value"] == 60_057.0
        hourly = await service.history(session=session, series=["electricity_usd_per_mwh"], since=T0,
                                       until=until, step_s=3600)
        assert [(p["series"], p["value"], p["count"]) for p in hourly.items] == [
            ("electricity_usd_per_mwh:HB_NORTH", 42.0, 60), ("electricity_usd_per_mwh:HB_WEST", 30.0, 60)]
        # Both ends are inclusive; a narrow window holds exactly its points.
        window = await service.history(session=session, series=["electricity_usd_per_mwh:HB_NORTH"],
                                       since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=12))
        assert [p["value"] for p in window.items] == [40.0, 41.0, 42.0]
        assert window.series == ["electricity_usd_per_mwh:HB_NORTH"]


async def test_history_names_the_field_of_bad_input(db: Database) -> None:
    await store(db, tick(T0))
    until = T0 + timedelta(hours=1)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"series": ["bitcoin"]}, "series", "unknown series"),
        ({"series": ["electricity_usd_per_mwh:HB_NOWHERE"]}, "series", "HB_NORTH"),
        ({"series": ["btc_usd:x"]}, "series", "no keys"),
        ({"series": []}, "series", "at least one"),
        ({"series": ["btc_usd"], "since": until + timedelta(seconds=1)}, "since", "after until"),
    ]
    async with db.session() as session:
        for overrides, field, words in cases:
            args: dict[str, Any] = {"series": ["btc_usd"], "since": T0, "until": until, **overrides}
            with pytest.raises(InvalidInput) as caught:
                await service.history(session=session, **args)
            assert caught.value.details[0]["field"] == field and words in caught.value.message


@pytest.mark.parametrize(("step", "seconds"), [("30s", 30), ("5m", 300), ("5min", 300), ("1h", 3600),
                                               ("1d", 86400), ("300", 300), (" 2H ", 7200)])
def test_steps_parse(step: str, seconds: int) -> None:
    assert service.parse_step(step) == seconds


@pytest.mark.parametrize("step", ["", "5x", "-5m", "0", "1.5h", "40d", "m5"])
def test_bad_steps_are_rejected_naming_step(step: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.parse_step(step)
    assert caught.value.details[0]["field"] == "step"


async def test_retention_prunes_old_history_and_silent_series(db: Database) -> None:
    await store(db, tick(T0, electricity={"HB_NORTH": 40.0, "OLD_NODE": 10.0}))
    later = T0 + timedelta(days=91)
    await store(db, tick(later, electricity={"HB_NORTH": 41.0}))
    async with db.transaction() as session:
        deleted = await service.prune_history(session=session, before=service.retention_cutoff(later, 90))
    assert deleted == 4 + 2 + len(GPUS)
    prices = await latest(db, later)
    assert "electricity_usd_per_mwh:OLD_NODE" not in prices.series and prices.electricity_usd_per_mwh == {
        "HB_NORTH": 41.0}
    async with db.session() as session:
        assert await session.scalar(select(func.min(MarketPrice.ts_ms))) == service.to_ms(later)


@pytest.mark.parametrize(("body", "words"), [
    ({"ts": "yesterday", "btc_usd": 1.0}, "ts:"),
    ({"ts": "2026-01-01T00:00:00", "btc_usd": 1.0}, "ts: Input should have timezone info"),
    ({"ts": "2026-01-01T00:00:00Z", "btc_usd": "65000"}, "btc_usd: Input should be a valid number"),
    ({"ts": "2026-01-01T00:00:00Z", "btc_usd": -1.0}, "btc_usd: Input should be greater than 0"),
    ({"ts": "2026-01-01T00:00:00Z", "network_difficulty": float("nan")}, "network_difficulty:"),
    ({"ts": "2026-01-01T00:00:00Z", "btc_usd": True}, "btc_usd: Input should be a valid number"),
    ({"ts": "2026-01-01T00:00:00Z", "electricity_usd_per_mwh": [40.0]},
     "electricity_usd_per_mwh: Input should be a valid dictionary"),
    ({"ts": "2026-01-01T00:00:00Z", "electricity_usd_per_mwh": {"bad node!": 40.0}},
     "electricity_usd_per_mwh.bad node!.[key]"),
    ({"ts": "2026-01-01T00:00:00Z", "gpu_spot_usd_per_hour": {"H100": -2.0}},
     "gpu_spot_usd_per_hour.H100: Input should be greater than or equal to 0"),
    ({"ts": "2026-01-01T00:00:00Z", "btc_usd": 1.0, "source": "Not A Source"}, "source: String should match pattern"),
    ({"ts": "2026-01-01T00:00:00Z", "btc_usd": 1.0, "series_ts": {"btc_usd": "soon"}}, "series_ts.btc_usd"),
])
def test_malformed_ticks_are_rejected_whole(body: dict[str, Any], words: str) -> None:
    with pytest.raises(service.MalformedTick) as caught:
        service.observations_from_tick(body)
    assert words in str(caught.value)


def test_negative_electricity_prices_are_prices() -> None:
    body = {"ts": "2026-01-01T00:00:00Z", "electricity_usd_per_mwh": {"HB_WEST": -12.5}}
    [obs] = service.observations_from_tick(body)
    assert obs.series == "electricity_usd_per_mwh:HB_WEST" and obs.value == -12.5 and obs.source == "sim"
