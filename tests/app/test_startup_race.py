"""Services starting together on an empty database never race: every start-up write (schema,
clock epoch, demo data, bootstrap admin, what the components write as they start) is idempotent.
The eight services of split mode and two replicas of the monolith start at once, repeatedly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.conftest import DEMO_CREDENTIALS, running_app, temporary_postgres_database

from hcp.app import SERVICE_DOMAINS, create_app
from hcp.auth.models import User
from hcp.core.db import Database

ROUNDS = 3


@asynccontextmanager
async def empty_database(kind: str, tmp_path: Path, round_: int) -> AsyncIterator[str]:
    if kind == "postgresql":
        async with temporary_postgres_database() as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / f'race-{round_}.db'}"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_services_and_replicas_starting_at_once_on_an_empty_database_all_start(
    kind: str, tmp_path: Path, make_settings: Callable[..., Any],
) -> None:
    for round_ in range(ROUNDS):
        async with empty_database(kind, tmp_path, round_) as url:
            settings = make_settings(database_url=url)
            # All of split mode, plus a second auth service and two monoliths: each may seed.
            services: list[str | None] = [*SERVICE_DOMAINS, "auth", None, None]
            async with AsyncExitStack() as stack:
                apps = [create_app(settings, service=service) for service in services]
                clients = await asyncio.gather(*(stack.enter_async_context(running_app(app)) for app in apps))
                for service, client in zip(services, clients, strict=True):
                    health = (await client.get("/health")).json()
                    assert health["status"] == "ok", (service, health)
                    assert set(health["components"].values()) <= {"ok"}, (service, health["components"])
                email, password = DEMO_CREDENTIALS["admin"]
                login = await clients[-1].post("/api/v1/auth/login", json={"email": email, "password": password})
                assert login.status_code == 200, login.text
            db = Database(url)
            try:
                async with db.session() as session:
                    emails = (await session.execute(select(User.email, func.count()).group_by(User.email))).all()
                assert emails and all(n == 1 for _, n in emails), emails  # the demo seeded once
            finally:
                await db.dispose()
