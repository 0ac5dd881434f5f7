"""The one upsert for both backends: ON CONFLICT DO NOTHING and DO UPDATE, on SQLite and PostgreSQL."""

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from hcp.core.db import Database, dialect_of, upsert
from hcp.core.platform import ClockEpoch


async def test_the_session_names_its_backend(db: Database) -> None:
    async with db.session() as session:
        assert dialect_of(session) == db.dialect
        construct = postgresql.Insert if db.dialect == "postgresql" else sqlite.Insert
        assert isinstance(upsert(session, ClockEpoch), construct)
        assert isinstance(upsert(db.dialect, ClockEpoch), construct)


async def test_do_nothing_inserts_once(db: Database) -> None:
    for sim_at, expected_rows in ((1.0, 1), (2.0, 0)):
        async with db.transaction() as session:
            result = await session.execute(upsert(session, ClockEpoch).values(
                id=1, wall_at=0.0, sim_at=sim_at, speed=1.0).on_conflict_do_nothing())
            assert getattr(result, "rowcount", None) == expected_rows
    async with db.read() as session:
        assert (await session.execute(select(ClockEpoch.sim_at))).scalars().all() == [1.0]


async def test_do_update_replaces_only_where_its_condition_holds(db: Database) -> None:
    for sim_at in (5.0, 3.0, 8.0):  # the 3.0 arrives late: it must not replace the 5.0
        async with db.transaction() as session:
            stmt = upsert(session, ClockEpoch).values(id=1, wall_at=0.0, sim_at=sim_at, speed=1.0)
            await session.execute(stmt.on_conflict_do_update(
                index_elements=["id"], set_={"sim_at": stmt.excluded.sim_at},
                where=ClockEpoch.sim_at <= stmt.excluded.sim_at))
            current = (await session.execute(select(ClockEpoch.sim_at))).scalar_one()
            assert current == max(sim_at, 5.0)
    async with db.read() as session:
        assert (await session.execute(select(ClockEpoch.sim_at))).scalars().all() == [8.0]
