"""The running platform of one process: settings, database, bus, clock and outbox relay.

Created by the app's lifespan and reached from routes through the `PlatformDep` and
`SessionDep` dependencies, so that tests can build as many independent platforms as they like.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from sqlalchemy import Float, Integer
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from hcp.core.bus import Bus, create_bus
from hcp.core.clock import Clock, ScaledClock
from hcp.core.component import Components
from hcp.core.db import Base, Database, upsert
from hcp.core.outbox import OutboxRelay
from hcp.core.settings import Settings

log = structlog.get_logger(__name__)

READY_TIMEOUT_S = 2.0


class ClockEpoch(Base):
    """Where simulated time stands for a database: at wall-clock `wall_at` it was `sim_at`, and
    it runs at `speed`. Every process (and every restart) of the platform continues from here,
    so simulated time never runs backwards across a crash and split-mode services agree on it."""

    __tablename__ = "clock_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wall_at: Mapped[float] = mapped_column(Float)
    sim_at: Mapped[float] = mapped_column(Float)
    speed: Mapped[float] = mapped_column(Float)


class Platform:
    def __init__(self, settings: Settings, *, clock: Clock | None = None, bus: Bus | None = None) -> None:
        self.settings = settings
        # A clock made here is the platform's own: it continues the database's simulated time.
        self._own_clock = clock is None
        self.clock: Clock = clock or ScaledClock(settings.sim.speed)
        self.db = Database(settings.database_url)
        self.bus = bus or create_bus(
            settings.bus_url, prefix=settings.bus_prefix, stream=settings.bus_stream
        )
        self.relay = OutboxRelay(self.db, self.bus, poll_s=settings.outbox_poll_s)
        # What this process runs in the background (control loops, the simulator), registered
        # by the app and reached by type: `platform.components.get(PlanLoop)`.
        self.components = Components()
        # The auth domain's credential check (`hcp.core.security.Authenticator`), wired by the app:
        # core reaches it here without importing a domain.
        self.authenticator: Callable[..., Awaitable[Any]] | None = None
        self.started = False

    async def start(self, *, migrate: Callable[[Database], Awaitable[None]] | None = None) -> None:
        """Open the bus and the outbox relay; `migrate` (the app passes `hcp.migrations.migrate`)
        first brings the schema up to date."""
        if migrate is not None:
            await migrate(self.db)
        if self._own_clock:
            await self._resume_clock()
        await self.bus.connect()
        self.relay.start()
        self.started = True

    async def _resume_clock(self) -> None:
        clock = self.clock
        assert isinstance(clock, ScaledClock)
        async with self.db.transaction() as session:
            # Idempotent: services starting together on an empty database each try to create the
            # epoch; one does, the others find it (a plain insert made the losers die at start).
            created = await session.execute(upsert(self.db.dialect, ClockEpoch).values(
                id=1, wall_at=time.time(), sim_at=clock.time(), speed=clock.speed).on_conflict_do_nothing())
            if getattr(created, "rowcount", 0) == 1:
                return  # the first start: this clock is the epoch
            epoch = await session.get(ClockEpoch, 1, with_for_update=True)
            if epoch is not None:
                clock.jump_to(epoch.sim_at + (time.time() - epoch.wall_at) * epoch.speed)
            await self._save_clock(session, epoch)

    async def _save_clock(self, session: AsyncSession, epoch: ClockEpoch | None) -> None:
        if epoch is None:
            epoch = ClockEpoch(id=1)
            session.add(epoch)
        epoch.wall_at, epoch.sim_at, epoch.speed = time.time(), self.clock.time(), self.clock.speed

    async def set_clock_speed(self, speed: float) -> None:
        """Change how fast simulated time runs, for this process and the next start."""
        clock = self.clock
        if not isinstance(clock, ScaledClock):
            raise ValueError("this platform's clock is stepped by hand")
        clock.set_speed(speed)
        if self._own_clock:
            async with self.db.transaction() as session:
                await self._save_clock(session, await session.get(ClockEpoch, 1, with_for_update=True))

    async def stop(self) -> None:
        await self.relay.stop()
        await self.bus.close()
        # Every component has stopped: a connection still out is work that outlived its owner (on
        # SQLite it may hold the write lock, which stalls shutdown by the busy timeout).
        checked_out = getattr(self.db.engine.pool, "checkedout", lambda: 0)()
        if checked_out:
            log.warning("database connections still in use at shutdown", connections=checked_out,
                        tasks=sorted(t.get_name() for t in asyncio.all_tasks() if t is not asyncio.current_task())[:20])
        await self.db.dispose()
        self.started = False

    async def readiness(self) -> dict[str, str]:
        """"ok" or the reason for each dependency this process needs to serve requests."""
        checks: dict[str, str] = {}
        for name, probe in (("database", self.db.ping), ("bus", self.bus.ping)):
            try:
                await asyncio.wait_for(probe(), timeout=READY_TIMEOUT_S)
                checks[name] = "ok"
            except Exception as exc:  # any failure means "not ready", and says why
                checks[name] = f"{type(exc).__name__}: {exc}"[:200] or type(exc).__name__
        return checks


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(platform: PlatformDep, request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: read-only for GET (it must not write), else one that may write."""
    opened = platform.db.read() if request.method in SAFE_METHODS else platform.db.session()
    async with opened as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_write_session(platform: PlatformDep) -> AsyncIterator[AsyncSession]:
    """A session in a transaction for a route that writes: it commits when the route returns,
    before the answer is sent (so a client that reads next sees it), and rolls back if it raises."""
    async with platform.db.transaction() as session:
        yield session


# scope="function": FastAPI leaves the exit of a request-scoped dependency until after the
# answer is sent, which would let a client read before the commit (or get a 2xx for a write
# whose commit then failed).
WriteSessionDep = Annotated[AsyncSession, Depends(get_write_session, scope="function")]


def describe(platform: Platform) -> dict[str, Any]:
    s = platform.settings
    return {"database": s.database_url.split("://", 1)[0], "bus": s.bus_url.split("://", 1)[0],
            "demo": s.demo, "clock_speed": platform.clock.speed}
