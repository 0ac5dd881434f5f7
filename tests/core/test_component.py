"""Components: started in order, stopped in reverse, reached by type; periodic work on the clock."""

from __future__ import annotations

import asyncio

import pytest
from tests.eventually import eventually

from hcp.core.clock import SteppedClock
from hcp.core.component import OK, Components, Periodic
from hcp.core.errors import Unavailable


class Recorder:
    def __init__(self, name: str, log: list[str], *, fail_start: bool = False) -> None:
        self.name, self.log, self.fail_start, self.running = name, log, fail_start, False

    async def start(self) -> None:
        if self.fail_start:
            raise RuntimeError(f"{self.name} cannot start")
        self.running = True
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        self.running = False
        self.log.append(f"stop {self.name}")

    def health(self) -> str:
        return OK if self.running else "stopped"


class First(Recorder):
    pass


class Second(Recorder):
    pass


class Broken(Recorder):
    pass


async def test_components_start_in_order_stop_in_reverse_and_are_found_by_type() -> None:
    log: list[str] = []
    components = Components()
    first = components.add(First("first", log))
    components.add(Second("second", log))
    assert components.get(First) is first and components.get(Broken) is None
    with pytest.raises(Unavailable):
        components.require(Broken)
    assert components.health() == {"first": "not started", "second": "not started"}
    await components.start()
    assert components.health() == {"first": OK, "second": OK}
    await components.stop()
    assert log == ["start first", "start second", "stop second", "stop first"]


async def test_one_component_of_a_type_and_only_components() -> None:
    components = Components()
    components.add(First("a", []))
    with pytest.raises(ValueError, match="registered already"):
        components.add(First("b", []))
    with pytest.raises(TypeError, match="not a component"):
        components.add(object())


async def test_a_component_failing_to_start_stops_those_already_started() -> None:
    log: list[str] = []
    components = Components()
    components.add(First("first", log))
    components.add(Broken("broken", log, fail_start=True))
    components.add(Second("second", log))
    with pytest.raises(RuntimeError, match="broken cannot start"):
        await components.start()
    assert log == ["start first", "stop first"]


async def test_periodic_work_runs_on_the_platform_clock_and_survives_a_failing_run() -> None:
    clock = SteppedClock()
    runs: list[float] = []

    async def work() -> None:
        runs.append(clock.time())
        if len(runs) == 2:
            raise ConnectionError("database away")

    periodic = Periodic("probe", work, every_s=60.0, clock=clock)
    assert periodic.health() == "stopped"
    await periodic.start()
    await eventually(lambda: len(runs) == 1, what="the first run, at once")
    await clock.advance(60.0)
    await eventually(lambda: periodic.failures == 1, what="the failing second run")
    assert periodic.health() == "last run failed: ConnectionError: database away"
    await clock.advance(60.0)
    await eventually(lambda: len(runs) == 3, what="the third run, on time after the failure")
    assert periodic.health() == OK
    assert [t - runs[0] for t in runs] == [0.0, 60.0, 120.0]
    await clock.advance(30.0)
    await asyncio.sleep(0.05)
    assert len(runs) == 3  # not before its period
    await periodic.stop()
    assert periodic.health() == "stopped"
