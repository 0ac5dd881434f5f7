"""Alembic migrations of the whole schema, run by `hcp migrate` and at start-up.

The same revisions run on SQLite and PostgreSQL. On PostgreSQL the upgrade holds an advisory
lock, so that the processes of split mode starting together migrate once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from hcp.core.db import Database

MIGRATION_LOCK_KEY = 0x4843_5000  # "HCP\0": one key for schema changes of this platform

_HERE = Path(__file__).parent


def alembic_config(connection: Any = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(_HERE / "versions"))
    cfg.attributes["connection"] = connection
    return cfg


async def migrate(db: Database, revision: str = "head") -> None:
    async with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        await conn.run_sync(lambda sync_conn: command.upgrade(alembic_config(sync_conn), revision))


async def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def autogenerate(db: Database, message: str) -> None:
    """Write a new revision from the difference between the models and the database (dev tool)."""
    async with db.engine.begin() as conn:
        await conn.run_sync(
            lambda sync_conn: command.revision(
                alembic_config(sync_conn), message=message, autogenerate=True
            )
        )
