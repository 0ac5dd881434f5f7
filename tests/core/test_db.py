import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from hcp.core.db import Database
from hcp.migrations import current_revision, migrate
from hcp.models import metadata
from hcp.resources.models import Facility


async def test_migrations_match_the_models(db: Database) -> None:
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), metadata)
        )
    assert diff == []
    assert await current_revision(db) is not None


async def test_migrate_twice_is_a_no_op(db: Database) -> None:
    before = await current_revision(db)
    await migrate(db)
    assert await current_revision(db) == before


async def test_datetimes_come_back_as_utc(db: Database) -> None:
    local = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5)))
    async with db.transaction() as session:
        session.add(Facility(id="f1", name="F", location="L", power_cap_kw=1.0, market_node="N",
                             created_at=local))
    async with db.session() as session:
        got = (await session.execute(select(Facility.created_at))).scalar_one()
    assert got == local and got.tzinfo is not None and got.utcoffset() == timedelta(0)


async def test_rolled_back_transaction_writes_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            session.add(Facility(id="f2", name="F", location="L", power_cap_kw=1.0, market_node="N",
                                 created_at=datetime.now(UTC)))
            await session.flush()
            raise RuntimeError("boom")
    async with db.session() as session:
        assert (await session.execute(select(Facility))).first() is None


async def test_sqlite_uses_wal_and_concurrent_writers_wait(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    await migrate(database)
    async with database.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000

    async def writer(i: int) -> None:
        async with database.transaction() as session:
            current = (await session.execute(select(Facility).where(Facility.id == "shared"))).scalar()
            if current is None:
                session.add(Facility(id="shared", name="0", location="L", power_cap_kw=0.0,
                                     market_node="N", created_at=datetime.now(UTC)))
            else:
                current.power_cap_kw += 1  # read-modify-write: lost updates would show
            await asyncio.sleep(0)

    await asyncio.gather(*(writer(i) for i in range(30)))
    async with database.session() as session:
        assert (await session.get(Facility, "shared")).power_cap_kw == 29.0
    await database.dispose()


async def test_sqlite_readers_leave_the_write_lock_to_writers(sqlite_url: str) -> None:
    """A read session held open (a slow GET) must not make writers wait: in WAL mode a reader
    never needs the write lock, and a request that only reads must not take it."""
    database = Database(sqlite_url)
    await migrate(database)
    try:
        async with database.read() as reading:
            await reading.execute(select(Facility))  # the read transaction has begun
            started = time.monotonic()
            async with database.transaction() as session:  # would wait out the busy timeout
                session.add(Facility(id="written", name="W", location="L", power_cap_kw=1.0, market_node="N",
                                     created_at=datetime.now(UTC)))
            assert time.monotonic() - started < 2.0
            # ...while a session that may write does hold it from its first statement.
            async with database.session() as holder:
                await holder.execute(select(Facility))
                other = sqlite3.connect(sqlite_url.split(":///", 1)[1], timeout=0.05, isolation_level=None)
                try:
                    with pytest.raises(sqlite3.OperationalError, match="locked"):
                        other.execute("BEGIN IMMEDIATE")
                finally:
                    other.close()
        async with database.read() as session:
            assert (await session.get(Facility, "written")) is not None
    finally:
        await database.dispose()
