"""Background work as components: each has a name, starts, stops and says whether it is healthy.

A domain lists what it runs in its `components.py` (`components(platform) -> list[Component]`);
the app registers them on the platform of the process that serves the domain, starts them in
order and stops them in reverse. Code reaches a running component by its type,
`platform.components.get(PlanLoop)`, never by a string key. `Periodic` runs work every so many
seconds of the platform clock, so a demo at 60x speed runs its loops 60x as often.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Protocol, TypeVar, runtime_checkable

import structlog

from hcp.core.clock import Clock
from hcp.core.errors import Unavailable
from hcp.core.tasks import cancel_tasks

log = structlog.get_logger(__name__)

OK = "ok"


@runtime_checkable
class Component(Protocol):
    """What the app starts and stops. `health()` is "ok" or a short reason it is not."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> str: ...


C = TypeVar("C")


def tasks_health(tasks: list[asyncio.Task[None]]) -> str:
    """"ok" while every task runs; else which one ended and why (for components that keep tasks)."""
    for task in tasks:
        if task.done():
            if task.cancelled():
                return f"{task.get_name()} was cancelled"
            error = task.exception()
            return f"{task.get_name()} stopped: {type(error).__name__}: {error}"[:200] if error else \
                f"{task.get_name()} ended"
    return OK


class Components:
    """The components one process runs, in start order; at most one of each type."""

    def __init__(self) -> None:
        self._items: list[Component] = []
        self._started: list[Component] = []

    def add(self, component: C) -> C:
        if not isinstance(component, Component):
            raise TypeError(f"{type(component).__name__} is not a component (name, start, stop, health)")
        if any(type(c) is type(component) for c in self._items):
            raise ValueError(f"a {type(component).__name__} is registered already")
        self._items.append(component)
        return component

    def get(self, kind: type[C]) -> C | None:
        """The running component of this type, or None when this process does not run one."""
        return next((c for c in self._items if isinstance(c, kind)), None)

    def require(self, kind: type[C]) -> C:
        """The running component of this type; 503 (`Unavailable`) when this process runs none."""
        found = self.get(kind)
        if found is None:
            raise Unavailable(f"{getattr(kind, 'name', kind.__name__)} does not run in this process")
        return found

    def __iter__(self) -> Iterator[Component]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    async def start(self) -> None:
        """Start each in order; if one fails, stop those already started and raise."""
        for component in self._items:
            if component in self._started:
                continue
            try:
                await component.start()
            except BaseException:
                log.error("component failed to start", component=component.name, exc_info=True)
                await self.stop()
                raise
            self._started.append(component)

    async def stop(self) -> None:
        """Stop what was started, last first; one failing to stop does not keep the others running."""
        while self._started:
            component = self._started.pop()
            try:
                await component.stop()
            except Exception:
                log.warning("component failed to stop cleanly", component=component.name, exc_info=True)

    def health(self) -> dict[str, str]:
        return {c.name: (c.health() if c in self._started else "not started") for c in self._items}


class Periodic:
    """Runs `work` every `every_s` seconds of `clock` (first run at once unless `delay_s`).

    A run that raises is logged and the next one comes on time: periodic work (metering, alert
    checks, metrics) must survive a database hiccup. `health()` says how the last run went.
    """

    def __init__(self, name: str, work: Callable[[], Awaitable[object]], *, every_s: float, clock: Clock,
                 delay_s: float = 0.0) -> None:
        if every_s <= 0:
            raise ValueError("every_s must be positive")
        self.name, self.work, self.every_s, self.clock, self.delay_s = name, work, every_s, clock, delay_s
        self.runs = 0
        self.failures = 0
        self.last_error: str | None = None
        self.last_run_wall: float | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if not self._tasks:
            self._tasks.append(asyncio.create_task(self._run(), name=self.name))

    async def stop(self) -> None:
        await cancel_tasks(self._tasks)
        self._tasks.clear()

    def health(self) -> str:
        state = tasks_health(self._tasks) if self._tasks else "stopped"
        if state != OK:
            return state
        return OK if self.last_error is None else f"last run failed: {self.last_error}"[:200]

    async def run_once(self) -> None:
        try:
            await self.work()
            self.last_error = None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            log.warning("periodic work failed; it runs again next period", component=self.name, exc_info=True)
        finally:
            self.runs += 1
            self.last_run_wall = time.time()

    async def _run(self) -> None:
        if self.delay_s > 0:
            await self.clock.sleep(self.delay_s)
        while True:
            await self.run_once()
            await self.clock.sleep(self.every_s)
