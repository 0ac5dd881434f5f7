"""One leader among replicas for work that must run once per deployment (polling the fleet,
the workload loop): a PostgreSQL session advisory lock held on a connection of its own.
SQLite means one process, which always leads."""

from __future__ import annotations

import contextlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hcp.core.db import Database


class Leadership:
    def __init__(self, db: Database, key: int) -> None:
        self.db, self.key = db, key
        self._conn: AsyncConnection | None = None

    async def hold(self) -> bool:
        """Whether this process leads now: keeps the lock it has, or tries to take it."""
        if self.db.dialect != "postgresql":
            return True
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT 1"))
                return True
            except Exception:  # the connection (and with it the lock) is gone
                await self.release()
        conn = await self.db.engine.connect()
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        if await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}):
            self._conn = conn
            return True
        await conn.close()
        return False

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
