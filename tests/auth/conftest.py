"""The demo app on SQLite and on PostgreSQL, and clients that come from other addresses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import running_app

from hcp.app import create_app
from hcp.core.settings import Settings


@pytest.fixture
async def api(make_settings: Callable[..., Settings], database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The demo app (demo users seeded) on each database; `api.app` is the app."""
    app = create_app(make_settings(database_url=database_url))
    async with running_app(app) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


def client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    """Another client of a running app, connecting from `address`."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://hcp.test")


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
