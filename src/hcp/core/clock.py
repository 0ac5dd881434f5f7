"""Time for the whole platform: real, simulated N times faster, or stepped by tests.

Everything that waits or timestamps goes through a `Clock`, so that the simulators, control
loops and billing all agree on what "now" is when the demo runs at `--speed 60`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time as _time
from abc import ABC, abstractmethod
from datetime import UTC, datetime

from hcp.core.tasks import wait_event


class Clock(ABC):
    """Simulated time in seconds since the Unix epoch, and sleeps measured in that time."""

    @abstractmethod
    def time(self) -> float:
        """Seconds since the epoch, in this clock's time."""

    @abstractmethod
    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""

    @property
    @abstractmethod
    def speed(self) -> float:
        """How many clock seconds pass per real second (0 for a stepped clock)."""

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=UTC)


class ScaledClock(Clock):
    """Wall-clock time running `speed` times faster from the moment of creation (1.0 = real time).

    Changing the speed keeps time continuous: the clock is re-anchored at the change, and
    sleepers in progress re-compute their remaining real wait.
    """

    def __init__(self, speed: float = 1.0, *, start: float | None = None) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0")
        self._speed = float(speed)
        self._anchor_real = _time.monotonic()
        self._anchor_sim = _time.time() if start is None else float(start)
        self._changed: asyncio.Event | None = None

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0")
        now_sim = self.time()
        self._anchor_real = _time.monotonic()
        self._anchor_sim = now_sim
        self._speed = float(speed)
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def jump_to(self, sim_time: float) -> None:
        """Continue from a later simulated time (where an earlier run of the platform got to);
        never backwards."""
        if sim_time <= self.time():
            return
        self._anchor_real = _time.monotonic()
        self._anchor_sim = float(sim_time)
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def time(self) -> float:
        return self._anchor_sim + (_time.monotonic() - self._anchor_real) * self._speed

    async def sleep(self, seconds: float) -> None:
        deadline = self.time() + max(0.0, seconds)
        while True:
            remaining = deadline - self.time()
            if remaining <= 0:
                return
            if self._changed is None:
                self._changed = asyncio.Event()
            changed = self._changed
            if not await wait_event(changed, remaining / self._speed):
                return


class RealClock(ScaledClock):
    """Wall-clock time."""

    def __init__(self) -> None:
        super().__init__(1.0)

    def set_speed(self, speed: float) -> None:
        raise ValueError("the real clock runs at speed 1; start with --speed N for simulated time")


class SteppedClock(Clock):
    """Time that moves only when a test calls `advance`; sleepers wake in deadline order."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = float(start)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    @property
    def speed(self) -> float:
        return 0.0

    def time(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), fut))
        await fut

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each sleeper at its own deadline and letting it run."""
        target = self._now + max(0.0, seconds)
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, fut = heapq.heappop(self._sleepers)
            self._now = max(self._now, deadline)
            if not fut.done():
                fut.set_result(None)
            for _ in range(5):  # let the woken task and what it schedules run
                await asyncio.sleep(0)
        self._now = target
        await asyncio.sleep(0)
