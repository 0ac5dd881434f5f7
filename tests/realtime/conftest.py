"""A real server for WebSocket tests: the app under uvicorn on a free port, in the test's loop,
and a real client (the `websockets` library) reading what the server sends."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from tests.conftest import free_port
from tests.eventually import eventually
from websockets.asyncio.client import ClientConnection, connect


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the test runner owns the signals
        yield


@dataclass
class Served:
    app: FastAPI
    http: httpx.AsyncClient
    ws_url: str


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[Served]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                            lifespan="on", ws="websockets-sansio", timeout_graceful_shutdown=2)
    server = _Server(config)
    task = asyncio.create_task(server.serve())

    def started() -> bool:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn did not start")
        return server.started

    await eventually(started, 30, what="the server to start")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            yield Served(app, http, f"ws://127.0.0.1:{port}/ws")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def token(http: httpx.AsyncClient, email: str, password: str) -> str:
    response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@dataclass
class Listener:
    """A client that reads everything the server sends, with the local arrival time of each."""

    conn: ClientConnection
    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.conn:
                self.received.append((time.time(), json.loads(raw)))

    def events(self, channel: str | None = None) -> list[dict[str, Any]]:
        return [m for _, m in self.received if m["channel"] is not None and channel in (None, m["channel"])]

    def controls(self, event: str) -> list[dict[str, Any]]:
        return [m for _, m in self.received if m["channel"] is None and m["event"] == event]

    async def send(self, message: dict[str, Any]) -> None:
        await self.conn.send(json.dumps(message))

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> None:
        def holds() -> bool:
            assert condition(), f"got {self.received[-5:]}"
            return True

        await eventually(holds, timeout, what=what, interval=0.01)

    async def flushed(self) -> None:
        """Wait until all the server queued for this client so far has arrived: a pong queues
        behind it. (So that "nothing arrived" means nothing was sent, not "not yet".)"""
        before = len(self.controls("pong"))
        await self.send({"action": "ping"})
        await self.wait_for(lambda: len(self.controls("pong")) > before, what="pong")

    async def subscribe(self, *channels: str, last_id: str | None = None) -> dict[str, Any]:
        before = len(self.controls("subscribed"))
        message: dict[str, Any] = {"action": "subscribe", "channels": list(channels)}
        if last_id is not None:
            message["last_id"] = last_id
        await self.send(message)
        await self.wait_for(lambda: len(self.controls("subscribed")) > before, what="subscribed")
        return self.controls("subscribed")[-1]["data"]  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.conn.close()
        if self.task is not None:
            await self.task


@contextlib.asynccontextmanager
async def listen(url: str, **kwargs: Any) -> AsyncIterator[Listener]:
    async with connect(url, **kwargs) as conn:
        listener = Listener(conn)
        listener.task = asyncio.create_task(listener._read())
        try:
            yield listener
        finally:
            listener.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener.task
