"""The database: one async SQLAlchemy engine (SQLite by default, PostgreSQL in production).

SQLite runs in WAL mode with a busy timeout so that the API, the control loops and the
outbox relay of one process can write concurrently without "database is locked".
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

SQLITE_BUSY_TIMEOUT_MS = 10_000

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores naive text otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Upsert = postgresql.Insert | sqlite.Insert


def dialect_of(session: AsyncSession) -> str:
    """The backend a session talks to: "postgresql" or "sqlite"."""
    return session.bind.dialect.name if session.bind is not None else "sqlite"


async def lock_until_commit(session: AsyncSession, key: int) -> None:
    """Serialise the transactions that take `key` until this one ends. PostgreSQL: a transaction
    advisory lock. SQLite needs none: every writing transaction begins IMMEDIATE, one at a time."""
    if dialect_of(session) == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def upsert(on: AsyncSession | str, table: Any) -> Upsert:
    """An INSERT into `table` for the backend of `on` (a session, or a dialect name), ready for
    `.on_conflict_do_nothing()` or `.on_conflict_do_update(...)`: both backends spell ON CONFLICT
    the same way, but SQLAlchemy keeps a separate construct for each."""
    dialect = on if isinstance(on, str) else dialect_of(on)
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode")
    row = cursor.fetchone()
    if row is None or str(row[0]).lower() not in ("wal", "memory"):
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# Set by `Database.read()` for its block: the session only reads, so it begins deferred.
_READ_ONLY: ContextVar[bool] = ContextVar("hcp_sqlite_read_only", default=False)


def _sqlite_begin(conn: Any) -> None:
    # A session that may write takes the write lock at BEGIN: a deferred transaction that later
    # upgrades to a writer fails with SQLITE_BUSY at once instead of waiting for the busy
    # timeout. A read-only one must not take it: in WAL mode readers never wait for writers,
    # and holding the lock for a read would queue every writer behind it.
    conn.exec_driver_sql("BEGIN" if _READ_ONLY.get() else "BEGIN IMMEDIATE")


def _prepare_sqlite_file(url: str) -> None:
    """Create the database's folder and switch the file to WAL before any pooled connection opens.

    WAL mode lives in the file, so this is done once per database. Switching needs the file to
    itself: connections of processes starting together (split mode) that each tried it as they
    opened got "database is locked" at once, the busy timeout notwithstanding. Here a loser
    waits and retries, at start-up only.
    """
    path = url.split(":///", 1)[1].split("?", 1)[0] if ":///" in url else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    file = Path(path).expanduser()
    file.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        conn = sqlite3.connect(file, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
        finally:
            conn.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "connect", _sqlite_pragmas)

        # pysqlite's own transaction handling is turned off so ours (BEGIN IMMEDIATE) rules.
        @event.listens_for(sync_engine, "connect")
        def _no_pysqlite_begin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        event.listen(sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)




class Database:
    """The engine and session factory of one process."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        # A class of its own, so session events (the outbox relay's commit hook) stay
        # within this database.
        self.sync_session_class: type[Session] = type("HCPSession", (Session,), {})
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=self.sync_session_class
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session that may write (the caller commits)."""
        token = _READ_ONLY.set(False)
        try:
            async with self.sessions() as session:
                yield session
        finally:
            _READ_ONLY.reset(token)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading only (it must not write): on SQLite it leaves the write lock
        to writers."""
        token = _READ_ONLY.set(True)
        try:
            async with self.sessions() as session:
                yield session
        finally:
            _READ_ONLY.reset(token)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on leaving the block and rolls back on error."""
        token = _READ_ONLY.set(False)  # a write inside a read block still takes the lock
        try:
            async with self.sessions() as session, session.begin():
                yield session
        finally:
            _READ_ONLY.reset(token)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
