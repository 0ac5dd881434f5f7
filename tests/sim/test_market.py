"""The market simulator: determinism, long-run statistics, hashprice, CSV replay and the driver."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hcp.core.clock import SteppedClock
from hcp.kernel.hashprice import hashprice_usd_per_th_day, network_hashrate_ths
from hcp.kernel.prices import MarketCsvError, write_csv
from hcp.sim.market import (
    RETARGET_INTERVAL_BLOCKS,
    ElectricityNodeConfig,
    MarketConfig,
    MarketReplay,
    MarketSimulator,
    MarketTick,
    NetworkConfig,
    ReplayExhausted,
    run,
)

FACILITIES = [("tx-north", "HB_NORTH"), ("tx-south", "HB_SOUTH"), ("nd-1", "MISO_MINN_HUB")]
START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_S = 365 * 86400


def simulate(seed: int, n: int = 1000, dt_s: float = 300.0) -> list[MarketTick]:
    sim = MarketSimulator(seed=seed, facilities=FACILITIES, start=START)
    return [sim.step(dt_s) for _ in range(n)]


@pytest.fixture(scope="module")
def year() -> tuple[MarketSimulator, list[MarketTick]]:
    """A year of 15-minute ticks, shared by the statistical tests."""
    sim = MarketSimulator(seed=2026, facilities=FACILITIES, start=START)
    return sim, sim.run_for(YEAR_S, 900.0)


# --------------------------------------------------------------------------------------------------
# Hashprice


def test_hashprice_against_a_hand_computed_value() -> None:
    # 8.3e13 x 2^32 / 600 / 1e12 = 594,137,142.6133 TH/s; (3.125 + 0.04) x 144 x 65,000 = $29,624,400/day.
    assert network_hashrate_ths(8.3e13) == pytest.approx(594_137_142.6133, rel=1e-12)
    assert hashprice_usd_per_th_day(65_000, 8.3e13, 0.04) == pytest.approx(
        29_624_400 / 594_137_142.6133, rel=1e-10
    )
    assert hashprice_usd_per_th_day(65_000, 8.3e13, 0.04) * 1000 == pytest.approx(49.861, abs=1e-3)
    # REFERENCE.md: late 2025, ~152 T difficulty, ~$91k, ~3.14 BTC per block -> ~$38/PH/day.
    assert hashprice_usd_per_th_day(91_000, 1.52e14, 0.015) * 1000 == pytest.approx(37.8, abs=0.1)
    # Before the 2024 halving the subsidy was 6.25 BTC.
    assert hashprice_usd_per_th_day(65_000, 8.3e13, 0.0, subsidy_btc=6.25) == pytest.approx(
        6.25 * 144 * 65_000 / 594_137_142.6133, rel=1e-10
    )
    with pytest.raises(ValueError):
        hashprice_usd_per_th_day(65_000, 0.0, 0.04)


@given(
    btc=st.floats(1_000, 1_000_000),
    difficulty=st.floats(1e12, 1e16),
    fees=st.floats(0.0, 5.0),
)
def test_hashprice_is_linear_in_price_and_inverse_in_difficulty(
    btc: float, difficulty: float, fees: float
) -> None:
    base = hashprice_usd_per_th_day(btc, difficulty, fees)
    assert hashprice_usd_per_th_day(2 * btc, difficulty, fees) == pytest.approx(2 * base, rel=1e-12)
    assert hashprice_usd_per_th_day(btc, 2 * difficulty, fees) == pytest.approx(base / 2, rel=1e-12)


def test_default_market_gives_a_hashprice_of_45_to_55_per_ph_day() -> None:
    tick = MarketSimulator(seed=1, facilities=FACILITIES, start=START).current()
    assert 45.0 <= tick.hashprice_usd_per_th_day * 1000 <= 55.0
    assert tick.hashprice_usd_per_th_day == hashprice_usd_per_th_day(
        tick.btc_usd, tick.network_difficulty, tick.fees_btc_per_block
    )


# --------------------------------------------------------------------------------------------------
# Determinism


def test_same_seed_gives_identical_ticks() -> None:
    a, b = simulate(11), simulate(11)
    assert a == b
    assert [t.to_event() for t in a] == [t.to_event() for t in b]


def test_different_seed_gives_different_ticks() -> None:
    a, b = simulate(11), simulate(12)
    assert [t.btc_usd for t in a] != [t.btc_usd for t in b]
    assert [t.electricity_usd_per_mwh for t in a] != [t.electricity_usd_per_mwh for t in b]
    assert [t.gpu_spot_usd_per_hour for t in a] != [t.gpu_spot_usd_per_hour for t in b]


def test_each_process_has_its_own_stream() -> None:
    # Adding a facility must not change the BTC path or another node's prices.
    small = MarketSimulator(seed=5, facilities=[("tx-north", "HB_NORTH")], start=START)
    large = MarketSimulator(seed=5, facilities=[*FACILITIES, ("tx-west", "HB_WEST")], start=START)
    for _ in range(200):
        a, b = small.step(600.0), large.step(600.0)
        assert a.btc_usd == b.btc_usd
        assert a.network_difficulty == b.network_difficulty
        assert a.electricity_usd_per_mwh["HB_NORTH"] == b.electricity_usd_per_mwh["HB_NORTH"]
    assert set(b.electricity_usd_per_mwh) == {"HB_NORTH", "HB_SOUTH", "MISO_MINN_HUB", "HB_WEST"}


def test_ticks_carry_time_nodes_and_models() -> None:
    sim = MarketSimulator(seed=1, facilities=[*FACILITIES, "ERCOT_HB_PAN"], start=START)
    assert sim.facility_nodes == {"tx-north": "HB_NORTH", "tx-south": "HB_SOUTH", "nd-1": "MISO_MINN_HUB"}
    first = sim.current()
    assert first.ts == START
    tick = sim.step(90.0)
    assert tick.ts == START + timedelta(seconds=90)
    assert list(tick.electricity_usd_per_mwh) == ["HB_NORTH", "HB_SOUTH", "MISO_MINN_HUB", "ERCOT_HB_PAN"]
    assert set(tick.gpu_spot_usd_per_hour) == {"H100", "A100"}
    event = tick.to_event()
    assert event["ts"] == "2026-01-01T00:01:30Z"
    assert event["id"] == "market.tick:2026-01-01T00:01:30Z"
    assert event["hashprice_usd_per_ph_day"] == pytest.approx(tick.hashprice_usd_per_th_day * 1000, abs=1e-3)
    json.dumps(event)


# --------------------------------------------------------------------------------------------------
# Long-run statistics


def test_btc_mean_reverts_into_the_60_to_70k_band(year: tuple[MarketSimulator, list[MarketTick]]) -> None:
    _, ticks = year
    btc = np.array([t.btc_usd for t in ticks])
    assert 60_000 <= btc.mean() <= 70_000
    assert np.mean((btc >= 60_000) & (btc <= 70_000)) > 0.75
    assert np.mean((btc >= 55_000) & (btc <= 75_000)) > 0.97
    # It moves: daily log returns of a few percent, as BTC's do.
    daily = np.diff(np.log(btc[::96]))
    assert 0.01 < daily.std() < 0.05


def test_electricity_mean_shape_spikes_and_bounds(year: tuple[MarketSimulator, list[MarketTick]]) -> None:
    _, ticks = year
    hours_utc = np.array([t.ts.hour for t in ticks])
    for node, (low, high) in {"HB_NORTH": (35, 50), "HB_SOUTH": (33, 48), "MISO_MINN_HUB": (27, 40)}.items():
        price = np.array([t.electricity_usd_per_mwh[node] for t in ticks])
        assert low <= np.median(price) <= high, node
        assert 25 <= price.mean() <= 55, node
        assert price.min() >= -20.0
        # Late afternoon (15-19 h Central = 21-01 h UTC) costs more than the small hours (2-6 h).
        afternoon = price[np.isin(hours_utc, [21, 22, 23, 0])]
        night = price[np.isin(hours_utc, [8, 9, 10, 11])]
        assert np.median(afternoon) > np.median(night) + 10, node
    north = np.array([t.electricity_usd_per_mwh["HB_NORTH"] for t in ticks])
    # Rare spikes: some hours a year above $200/MWh, but a tiny share of the time.
    spiky = north > 200
    assert 0 < spiky.sum() < 0.01 * north.size
    assert north.max() <= 5000.0


def test_electricity_is_capped_and_floored() -> None:
    wild = ElectricityNodeConfig(
        mean_usd_per_mwh=40.0,
        spike_rate_per_day=20.0,
        spike_median_usd_per_mwh=4000.0,
        spike_half_life_minutes=60.0,
    )
    negative = ElectricityNodeConfig(mean_usd_per_mwh=-60.0, spike_rate_per_day=0.0)
    config = MarketConfig(nodes={"WILD": wild, "WINDY": negative})
    sim = MarketSimulator(seed=3, facilities=["WILD", "WINDY"], start=START, config=config)
    ticks = sim.run_for(30 * 86400, 300.0)
    wild_prices = np.array([t.electricity_usd_per_mwh["WILD"] for t in ticks])
    windy_prices = np.array([t.electricity_usd_per_mwh["WINDY"] for t in ticks])
    assert wild_prices.max() == 5000.0  # the ERCOT offer cap binds
    assert np.all(wild_prices <= 5000.0)
    assert windy_prices.min() == -20.0
    assert np.all(windy_prices >= -20.0)


def test_difficulty_retargets_every_2016_blocks_at_600_s(
    year: tuple[MarketSimulator, list[MarketTick]],
) -> None:
    sim, ticks = year
    heights = [h for h, _, _ in sim.retargets]
    assert 24 <= len(heights) <= 28  # ~26 two-week epochs a year
    assert all(h % RETARGET_INTERVAL_BLOCKS == 0 for h in heights)
    assert all(b - a == RETARGET_INTERVAL_BLOCKS for a, b in itertools.pairwise(heights))
    # Blocks keep near ten minutes; a growing network makes them slightly faster within an epoch.
    assert 570.0 <= YEAR_S / sim.blocks_found <= 610.0
    assert 570.0 <= float(np.mean(sim.block_intervals_s)) <= 610.0
    # Difficulty moves only at retargets, and rises with the network's hashrate.
    difficulty = np.array([t.network_difficulty for t in ticks])
    assert np.count_nonzero(np.diff(difficulty)) == len(heights)
    assert difficulty[-1] > difficulty[0]
    hashprice_ph = np.array([t.hashprice_usd_per_th_day for t in ticks]) * 1000
    assert 30.0 <= hashprice_ph.mean() <= 55.0


def test_retarget_is_bounded_to_a_factor_of_four() -> None:
    # A network 10x larger than the difficulty expects finds blocks every ~60 s; the first retarget
    # may only quadruple the difficulty.
    net = NetworkConfig(difficulty=1e13, start_hashrate_ths=10 * network_hashrate_ths(1e13))
    sim = MarketSimulator(seed=1, facilities=[], start=START, config=MarketConfig(network=net))
    while len(sim.retargets) < 2:
        sim.step(3600.0)
    (_, _, first), (_, _, second) = sim.retargets[:2]
    assert first == pytest.approx(4e13)
    assert second / first == pytest.approx(2.5, rel=0.1)


def test_fees_and_gpu_spot_stay_in_their_ranges(year: tuple[MarketSimulator, list[MarketTick]]) -> None:
    _, ticks = year
    fees = np.array([t.fees_btc_per_block for t in ticks])
    assert np.all(fees > 0)
    assert 0.03 <= np.median(fees) <= 0.05
    assert np.mean((fees >= 0.02) & (fees <= 0.1)) > 0.9
    h100 = np.array([t.gpu_spot_usd_per_hour["H100"] for t in ticks])
    a100 = np.array([t.gpu_spot_usd_per_hour["A100"] for t in ticks])
    assert 2.0 <= h100.mean() <= 3.0 and np.mean((h100 >= 2.0) & (h100 <= 3.0)) > 0.95
    assert 1.2 <= a100.mean() <= 2.0 and np.mean((a100 >= 1.2) & (a100 <= 2.0)) > 0.95


# --------------------------------------------------------------------------------------------------
# CSV


def test_csv_round_trip_gives_identical_ticks(tmp_path: Path) -> None:
    ticks = simulate(21, n=500, dt_s=61.5)
    path = tmp_path / "market.csv"
    assert write_csv(ticks, path) == 500
    replay = MarketReplay(path)
    assert len(replay) == 500
    assert list(replay) == ticks
    header = path.read_text().splitlines()[0].split(",")
    assert header[:4] == ["ts", "btc_usd", "network_difficulty", "fees_btc_per_block"]
    assert "electricity_usd_per_mwh:HB_NORTH" in header and "gpu_spot_usd_per_hour:H100" in header


def test_replay_steps_through_the_rows(tmp_path: Path) -> None:
    ticks = simulate(4, n=3)
    path = tmp_path / "m.csv"
    write_csv(ticks, path)
    replay = MarketReplay(path)
    assert replay.current() == ticks[0]
    assert replay.step(60.0) == ticks[1]
    assert replay.step(60.0) == ticks[2]
    assert replay.exhausted
    with pytest.raises(ReplayExhausted):
        replay.step(60.0)
    replay.rewind()
    assert replay.current() == ticks[0]


def test_replay_accepts_a_hand_written_csv(tmp_path: Path) -> None:
    path = tmp_path / "hand.csv"
    path.write_text(
        "ts,btc_usd,network_difficulty,fees_btc_per_block,electricity_usd_per_mwh:HB_WEST\n"
        "2025-11-01T00:00:00Z,91000,1.52e14,0.015,-3.5\n"
        "2025-11-01T01:00:00+00:00,91250.5,1.52e14,0.02,4100\n"
        "\n"
    )
    replay = MarketReplay(path)
    assert len(replay) == 2
    first = replay[0]
    assert first.ts == datetime(2025, 11, 1, tzinfo=UTC)
    assert first.electricity_usd_per_mwh == {"HB_WEST": -3.5}
    assert first.gpu_spot_usd_per_hour == {}
    assert first.hashprice_usd_per_th_day * 1000 == pytest.approx(37.8, abs=0.1)


HEADER = "ts,btc_usd,network_difficulty,fees_btc_per_block,electricity_usd_per_mwh:HB_NORTH"
GOOD_ROW = "2026-01-01T00:00:00Z,65000,8.3e13,0.04,41.5"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty file"),
        (HEADER + "\n", "no data rows"),
        ("ts,btc_usd,fees_btc_per_block\n" + GOOD_ROW, r"line 1: missing column\(s\): network_difficulty"),
        (HEADER + ",price\n" + GOOD_ROW + ",1", r"line 1: column 6 'price' is not a market column"),
        (HEADER + ",btc_usd\n" + GOOD_ROW + ",1", r"line 1: column 6 'btc_usd' appears twice"),
        (HEADER + ",electricity_usd_per_mwh:\n" + GOOD_ROW + ",1", "line 1: column 6"),
        (
            HEADER + "\n" + GOOD_ROW + "\n2026-01-01T01:00:00Z,abc,8.3e13,0.04,41",
            "line 3: column 'btc_usd': 'abc'",
        ),
        (
            HEADER + "\n" + GOOD_ROW + "\n2026-01-01T01:00:00Z,65000,-1,0.04,41",
            "line 3: column 'network_difficulty'",
        ),
        (HEADER + "\n2026-01-01T00:00:00Z,65000,8.3e13,-0.1,41", "line 2: column 'fees_btc_per_block'"),
        (
            HEADER + "\n2026-01-01T00:00:00Z,65000,8.3e13,0.04,nan",
            "line 2: column 'electricity_usd_per_mwh:HB_NORTH'",
        ),
        (HEADER + "\n2026-01-01T00:00:00Z,65000,8.3e13,0.04,inf", "not a finite number"),
        (HEADER + "\nyesterday,65000,8.3e13,0.04,41", "line 2: column 'ts': 'yesterday' is not an ISO 8601"),
        (HEADER + "\n2026-01-01T00:00:00,65000,8.3e13,0.04,41", "line 2: column 'ts'.*no UTC offset"),
        (HEADER + "\n" + GOOD_ROW + "\n" + GOOD_ROW, "line 3: column 'ts'.*not after the previous"),
        (
            HEADER + "\n" + GOOD_ROW + "\n2026-01-01T01:00:00Z,65000,8.3e13,0.04",
            "line 3: 4 fields, the header has 5",
        ),
    ],
)
def test_malformed_csv_errors_name_the_line_and_column(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(MarketCsvError, match=expected) as info:
        MarketReplay(path)
    assert str(path) in str(info.value)


def test_missing_csv_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MarketCsvError, match="cannot open"):
        MarketReplay(tmp_path / "nope.csv")


def test_write_csv_refuses_mixed_ticks(tmp_path: Path) -> None:
    a = simulate(1, n=1)[0]
    b = replace(a, ts=a.ts + timedelta(seconds=1), electricity_usd_per_mwh={"OTHER": 1.0})
    with pytest.raises(ValueError, match="other nodes"):
        write_csv([a, b], tmp_path / "x.csv")
    with pytest.raises(ValueError):
        write_csv([], tmp_path / "y.csv")


# --------------------------------------------------------------------------------------------------
# Driver and validation


async def test_run_publishes_every_interval_on_clock_time() -> None:
    clock = SteppedClock()
    sim = MarketSimulator(seed=8, facilities=FACILITIES, start=clock.now())
    published: list[MarketTick] = []

    async def publish(tick: MarketTick) -> None:
        published.append(tick)

    task = asyncio.create_task(run(sim, clock=clock, interval_s=60.0, publish=publish, max_ticks=5))
    await asyncio.sleep(0)
    assert len(published) == 1  # the current market goes out at once
    for _ in range(4):
        await clock.advance(60.0)
    assert await task == 5
    assert [t.ts for t in published] == [clock.now() - timedelta(seconds=60 * k) for k in range(4, -1, -1)]
    # Same ticks as stepping the simulator by hand.
    again = MarketSimulator(seed=8, facilities=FACILITIES, start=published[0].ts)
    assert published[1:] == [again.step(60.0) for _ in range(4)]


async def test_run_stops_when_a_replay_is_exhausted(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    write_csv(simulate(2, n=4), path)
    clock = SteppedClock()
    published: list[MarketTick] = []

    async def publish(tick: MarketTick) -> None:
        published.append(tick)

    task = asyncio.create_task(run(MarketReplay(path), clock=clock, interval_s=5.0, publish=publish))
    while not task.done():
        await clock.advance(5.0)
    assert await task == 4
    assert published == list(MarketReplay(path))


def test_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="timezone"):
        MarketSimulator(seed=1, facilities=FACILITIES, start=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        MarketSimulator(seed=-1, facilities=FACILITIES, start=START)
    with pytest.raises(ValueError, match="twice"):
        MarketSimulator(seed=1, facilities=[("a", "HB_NORTH"), ("a", "HB_SOUTH")], start=START)
    sim = MarketSimulator(seed=1, facilities=FACILITIES, start=START)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            sim.step(bad)
