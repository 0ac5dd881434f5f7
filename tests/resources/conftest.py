"""A migrated database per test (SQLite and PostgreSQL) with the demo's facilities and racks, and
helpers that register units the way discovery and agents do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from hcp.core.db import Database
from hcp.core.outbox import OutboxEvent
from hcp.demo import FACILITIES, RACKS
from hcp.drivers.base import Capability, UnitIdentity
from hcp.migrations import migrate
from hcp.resources import service


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await migrate(database)
    async with database.transaction() as session:
        for f in FACILITIES:
            await service.upsert_facility(session=session, id=f.id, name=f.name, location=f.location,
                                          power_cap_kw=f.power_cap_kw, market_node=f.market_node)
        for r in RACKS:
            await service.upsert_rack(session=session, facility_id=r.facility_id, rack_id=r.id, name=r.name,
                                      position=r.position)
    yield database
    await database.dispose()


def asic_identity(n: int, **overrides: Any) -> UnitIdentity:
    values: dict[str, Any] = {
        "kind": "asic", "model": "Antminer S21", "address": f"10.9.0.{n}", "driver": "cgminer",
        "mac": f"02:00:00:00:00:{n:02X}", "firmware": "stock", "hashrate_ths": 200.0, "power_w": 3500.0,
        "capabilities": Capability.TELEMETRY | Capability.MINING,
    }
    values.update(overrides)
    return UnitIdentity(**values)


def gpu_identity(n: int, model: str = "H100", **overrides: Any) -> UnitIdentity:
    values: dict[str, Any] = {
        "kind": "gpu", "model": model, "address": f"sim://gpu-{n:03d}", "driver": "sim",
        "serial": f"SIM-gpu-{n:03d}", "memory_mib": 81559, "power_w": 700.0,
        "capabilities": Capability.TELEMETRY | Capability.WORKLOADS,
    }
    values.update(overrides)
    return UnitIdentity(**values)


async def register(db: Database, identity: UnitIdentity, **kwargs: Any) -> str:
    async with db.transaction() as session:
        unit, _ = await service.register_unit(session=session, identity=identity, **kwargs)
        return unit.id


async def events(db: Database, subject: str = "unit.state") -> list[dict[str, Any]]:
    """The events queued in the outbox, oldest first."""
    async with db.session() as session:
        rows = (await session.execute(
            select(OutboxEvent).where(OutboxEvent.subject == subject).order_by(OutboxEvent.seq)
        )).scalars().all()
    return [r.payload for r in rows]
