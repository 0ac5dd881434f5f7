"""The running platform of one process: settings, database, bus, clock and outbox relay.

Created by the app's lifespan and reached from routes through the `PlatformDep` and
`SessionDep` dependencies, so that tests can build as many independent platforms as they like.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.core.bus import Bus, create_bus
from hcp.core.clock import Clock, ScaledClock
from hcp.core.db import Database
from hcp.core.outbox import OutboxRelay
from hcp.core.settings import Settings

log = structlog.get_logger(__name__)

READY_TIMEOUT_S = 2.0


class Platform:
    def __init__(self, settings: Settings, *, clock: Clock | None = None, bus: Bus | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or ScaledClock(settings.sim.speed)
        self.db = Database(settings.database_url)
        self.bus = bus or create_bus(
            settings.bus_url, prefix=settings.bus_prefix, stream=settings.bus_stream
        )
        self.relay = OutboxRelay(self.db, self.bus, poll_s=settings.outbox_poll_s)
        # What domains run in this process (the simulator, control loops), by domain name.
        self.state: dict[str, Any] = {}
        self.started = False

    async def start(self, *, migrate: bool = True) -> None:
        if migrate:
            from hcp.migrations import migrate as run_migrations

            await run_migrations(self.db)
        await self.bus.connect()
        self.relay.start()
        self.started = True

    async def stop(self) -> None:
        await self.relay.stop()
        await self.bus.close()
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


async def get_session(platform: PlatformDep) -> AsyncIterator[AsyncSession]:
    async with platform.db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def describe(platform: Platform) -> dict[str, Any]:
    s = platform.settings
    return {"database": s.database_url.split("://", 1)[0], "bus": s.bus_url.split("://", 1)[0],
            "demo": s.demo, "clock_speed": platform.clock.speed}
