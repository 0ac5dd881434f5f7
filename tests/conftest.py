"""Fixtures shared by the whole suite: a database per test on SQLite and PostgreSQL, a bus per
test in memory and on NATS JetStream, and the app over ASGI.

PostgreSQL and NATS are found at HCP_TEST_POSTGRES_URL / HCP_TEST_NATS_URL (default the local
servers). Outside CI a test that needs an absent server skips and says why; in CI (CI=true)
it fails, because there both must run.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from hcp.app import create_app
from hcp.core.bus import Bus, MemoryBus, NatsBus
from hcp.core.db import Database
from hcp.core.settings import Settings
from hcp.migrations import migrate

POSTGRES_ADMIN_URL = os.environ.get("HCP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NATS_URL = os.environ.get("HCP_TEST_NATS_URL", "nats://127.0.0.1:4222")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=1):
            return True
    except OSError:
        return False


def require_server(kind: str, url: str) -> None:
    if _reachable(url):
        return
    message = f"{kind} not reachable at {url} (set HCP_TEST_{kind.upper()}_URL or start it)"
    if IN_CI:
        pytest.fail(f"{message}: CI must run the {kind} tests")
    pytest.skip(message)


def random_loopback_subnet() -> str:
    """A /24 inside 127/8 away from the demo's 127.0.1.0/24, different per call."""
    import random

    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.0/24"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def temporary_postgres_database() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import asyncpg

    require_server("postgres", POSTGRES_ADMIN_URL)
    name = f"hcp_test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    parts = urlsplit(POSTGRES_ADMIN_URL)
    try:
        yield f"postgresql+asyncpg://{parts.netloc}/{name}"
    finally:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each storage test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hcp.db'}"
        return
    async with temporary_postgres_database() as url:
        yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database, on SQLite and on PostgreSQL."""
    database = Database(database_url)
    await migrate(database)
    yield database
    await database.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'hcp.db'}"


@pytest.fixture(params=["memory", "nats"])
def bus_url(request: pytest.FixtureRequest) -> str:
    """Each bus test runs once on the in-memory bus and once on NATS JetStream."""
    if request.param == "memory":
        return "memory://"
    require_server("nats", NATS_URL)
    return NATS_URL


@pytest.fixture
def bus_names() -> dict[str, str]:
    """A subject prefix and stream of its own, so tests never see each other's events."""
    tag = uuid.uuid4().hex[:12]
    return {"prefix": f"hcptest_{tag}", "stream": f"HCPTEST_{tag}"}


@pytest.fixture
async def bus(bus_url: str, bus_names: dict[str, str]) -> AsyncIterator[Bus]:
    instance: Bus = (
        MemoryBus() if bus_url.startswith("memory")
        else NatsBus(bus_url, prefix=bus_names["prefix"], stream=bus_names["stream"])
    )
    await instance.connect()
    try:
        yield instance
    finally:
        await instance.close()
        if isinstance(instance, NatsBus):
            await delete_stream(bus_names["stream"])


async def delete_stream(stream: str) -> None:
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        try:
            await js.delete_stream(stream)
        except Exception:  # already gone is fine
            pass
    finally:
        await nc.close()


@pytest.fixture
def make_settings(sqlite_url: str, bus_names: dict[str, str]) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": sqlite_url, "bus_url": "memory://", "demo": True,
            "bus_prefix": bus_names["prefix"], "bus_stream": bus_names["stream"],
            "outbox_poll_s": 0.2, "log_format": "console",
            # The simulated miners would bind loopback addresses; tests that want them say so.
            "sim": {"enabled": False},
        }
        values.update(overrides)
        return Settings(**values)

    return build


@asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://hcp.test") as client:
            yield client


@pytest.fixture
async def client(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app(make_settings())) as http:
        yield http


# The demo users of `hcp up --demo` (the `client` fixture runs in demo mode), one per role.
DEMO_CREDENTIALS: dict[str, tuple[str, str]] = {
    "admin": ("admin@mara.com", "admin123"),
    "operator": ("ops@mara.com", "operator123"),
    "customer": ("john@acme.com", "customer123"),
}


async def login_headers(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    """Log in through the API; the Authorization header that the returned access token makes."""
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def role_headers(client: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    """Authorization headers of a logged-in admin, operator and customer (Acme) of the demo."""
    return {role: await login_headers(client, *creds) for role, creds in DEMO_CREDENTIALS.items()}
