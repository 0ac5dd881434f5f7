"""`WriteSessionDep`: a route's writes commit before its answer goes out, and roll back when it fails."""

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from hcp.core.db import Database
from hcp.core.platform import ClockEpoch, WriteSessionDep
from hcp.migrations import migrate


@pytest.fixture
async def database(sqlite_url: str) -> AsyncIterator[Database]:
    db = Database(sqlite_url)
    await migrate(db)
    yield db
    await db.dispose()


async def _ids(db: Database) -> list[int]:
    async with db.read() as session:
        return list((await session.execute(select(ClockEpoch.id).order_by(ClockEpoch.id))).scalars())


def _app(db: Database, seen_at_answer: list[list[int]]) -> Any:
    app = FastAPI()
    app.state.platform = SimpleNamespace(db=db)

    @app.post("/epochs/{epoch_id}", status_code=201)
    async def write(epoch_id: int, session: WriteSessionDep) -> dict[str, int]:
        session.add(ClockEpoch(id=epoch_id, wall_at=0.0, sim_at=0.0, speed=1.0))
        if epoch_id < 0:
            await session.flush()  # written, then the route fails: nothing may stay
            raise RuntimeError("the route failed after writing")
        return {"id": epoch_id}

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        # What a client could read the moment the answer starts: the commit must be there by then.
        async def watched(message: Any) -> None:
            if message["type"] == "http.response.start":
                seen_at_answer.append(await _ids(db))
            await send(message)
        await app(scope, receive, watched)

    return asgi


async def test_a_write_is_committed_before_its_answer_is_sent(database: Database) -> None:
    seen: list[list[int]] = []
    transport = httpx.ASGITransport(app=_app(database, seen), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.post("/epochs/1")).status_code == 201
        assert seen == [[1]]
        # A commit that fails (the same key again) is an error, never a 2xx.
        assert (await http.post("/epochs/1")).status_code == 500
        failed = await http.post("/epochs/-1")
        assert failed.status_code == 500
    assert await _ids(database) == [1]
