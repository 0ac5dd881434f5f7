import asyncio
import time
from pathlib import Path

import pytest

from hcp.core.clock import RealClock, ScaledClock, SteppedClock
from hcp.migrations import migrate


async def test_scaled_clock_runs_n_times_faster() -> None:
    clock = ScaledClock(speed=100.0)
    t0, real0 = clock.time(), time.monotonic()
    await clock.sleep(5.0)  # 5 simulated seconds = 50 ms real
    real = time.monotonic() - real0
    assert clock.time() - t0 >= 5.0
    assert 0.04 <= real < 0.5


async def test_speed_change_keeps_time_continuous_and_wakes_sleepers() -> None:
    clock = ScaledClock(speed=1.0)
    sleeper = asyncio.create_task(clock.sleep(100.0))  # 100 s at speed 1
    await asyncio.sleep(0.01)
    before = clock.time()
    clock.set_speed(10_000.0)
    assert clock.time() - before < 1.0  # no jump at the change
    await asyncio.wait_for(sleeper, timeout=1.0)  # now ~10 ms real


def test_real_clock_refuses_speed_and_tracks_wall_time() -> None:
    clock = RealClock()
    assert abs(clock.time() - time.time()) < 0.5
    with pytest.raises(ValueError):
        clock.set_speed(2.0)
    with pytest.raises(ValueError):
        ScaledClock(speed=0)


async def test_stepped_clock_wakes_sleepers_in_deadline_order() -> None:
    clock = SteppedClock(start=1000.0)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.time()))

    tasks = [asyncio.create_task(sleeper("late", 30)), asyncio.create_task(sleeper("early", 10))]
    await asyncio.sleep(0)
    await clock.advance(5)
    assert woke == []
    await clock.advance(30)
    assert woke == [("early", 1010.0), ("late", 1030.0)]
    assert clock.time() == 1035.0
    await asyncio.gather(*tasks)
    assert clock.now().year == 1970


async def test_simulated_time_continues_across_restarts_of_the_platform(tmp_path: Path) -> None:
    """A crash and a start again must not send simulated time backwards (work placed after the
    restart would seem to start before work that ended before it); nor may a change of speed."""
    from hcp.core.platform import Platform
    from hcp.core.settings import Settings

    def platform(speed: float) -> Platform:
        return Platform(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'hcp.db'}", demo=True,
                                 sim={"speed": speed}))

    first = platform(1000)
    await first.start(migrate=migrate)
    # A new database starts at the wall clock (and has run a second at most, at 1000x, since).
    assert 0 <= first.clock.time() - time.time() < 1000
    await asyncio.sleep(0.2)
    reached = first.clock.time()
    assert reached > time.time() + 150
    await first.stop()  # as good as a kill: nothing is written at stop

    again = platform(1000)
    await again.start(migrate=migrate)
    assert again.clock.time() >= reached
    await again.set_clock_speed(1)
    slow_from = again.clock.time()
    await again.stop()

    slower = platform(1)
    await slower.start(migrate=migrate)
    try:
        assert slower.clock.time() >= slow_from > reached
        assert slower.clock.time() - slow_from < 5  # it went on at speed 1, not 1000
    finally:
        await slower.stop()


async def test_platforms_starting_together_on_an_empty_database_all_start(database_url: str) -> None:
    """Split mode starts its services at once: each creates the clock's epoch if it is missing.
    Every start-up write must be idempotent; a plain insert made the losers die (exit 3)."""
    from hcp.core.db import Database
    from hcp.core.platform import ClockEpoch, Platform
    from hcp.core.settings import Settings

    for _ in range(5):
        platforms = [Platform(Settings(database_url=database_url, demo=True, sim={"speed": 60}))
                     for _ in range(4)]
        try:
            await asyncio.gather(*(p.start(migrate=migrate) for p in platforms))
            assert all(p.started for p in platforms)
            times = [p.clock.time() for p in platforms]
            assert max(times) - min(times) < 60  # one epoch: within a second of wall time at 60x
        finally:
            await asyncio.gather(*(p.stop() for p in platforms if p.started))
        db = Database(database_url)
        async with db.transaction() as session:  # empty again for the next round
            await session.execute(ClockEpoch.__table__.delete())
        await db.dispose()
