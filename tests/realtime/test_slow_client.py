"""A client that stops reading is dropped, and the server's memory does not grow with what it
would have been sent; a client that keeps reading gets everything meanwhile."""

from __future__ import annotations

import asyncio
import json
import socket
import tracemalloc
from collections.abc import Callable
from urllib.parse import urlsplit

from tests.conftest import DEMO_CREDENTIALS
from tests.eventually import eventually
from tests.realtime.conftest import serve, token
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from hcp.app import create_app
from hcp.core.bus import MemoryBus
from hcp.core.metrics import REGISTRY
from hcp.core.platform import Platform
from hcp.core.settings import Settings

PAD = "x" * 8192  # one 8 KiB string shared by every event: what grows is the server's copies
QUEUE = 64


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_a_client_that_stops_reading_is_dropped_without_the_server_growing(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(realtime={"client_queue": QUEUE, "replay_events": 50})
    # The bus's own log is bounded too, so that what is measured is the WebSocket path.
    platform = Platform(settings, bus=MemoryBus(retention=200))
    app = create_app(settings, platform=platform)
    async with serve(app) as served:
        ops = await token(served.http, *DEMO_CREDENTIALS["operator"])
        url = f"{served.ws_url}?token={ops}"
        clients_before, dropped_before = sample("hcp_ws_clients"), sample("hcp_ws_dropped_total")
        # The slow client: a tiny socket buffer, a tiny message queue, and it never reads.
        parts = urlsplit(served.ws_url)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((parts.hostname, parts.port))
        slow = await connect(url, sock=sock, max_queue=4, compression=None)  # 8 KiB on the wire each
        await slow.send('{"action": "subscribe", "channels": ["metrics"]}')
        # The fast client keeps only the numbers of this test's events (the platform publishes
        # fleet aggregates on the same channel), so that its own memory does not count.
        seen: list[int] = []

        async def read(conn: ClientConnection) -> None:
            async for raw in conn:
                message = json.loads(raw)
                if message["channel"] == "metrics" and "pad" in message["data"]:
                    seen.append(message["data"]["n"])

        async with connect(url) as fast:
            await fast.send('{"action": "subscribe", "channels": ["metrics"]}')
            reader = asyncio.create_task(read(fast))
            await eventually(lambda: sample("hcp_ws_clients") == clients_before + 2, what="both clients connected")

            tracemalloc.start()
            try:
                published = 0

                async def publish(n: int) -> None:
                    nonlocal published
                    for _ in range(n // 16):
                        for _ in range(16):
                            await platform.bus.emit_raw("fleet.metrics", {"n": published, "pad": PAD})
                            published += 1
                        await eventually(lambda target=published: len(seen) >= target, 10, interval=0.002,
                                         what="the fast client to keep up")

                while sample("hcp_ws_dropped_total") == dropped_before:
                    assert published < 4000, "the slow client was never dropped"
                    await publish(32)
                await eventually(lambda: sample("hcp_ws_clients") == clients_before + 1, what="the slow one gone")
                settled, _ = tracemalloc.get_traced_memory()
                tracemalloc.reset_peak()
                await publish(2000)  # 16 MiB more through the server
                now, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            reader.cancel()
            assert now - settled < 1_000_000, f"grew {now - settled} B"
            assert peak - settled < 2_000_000, f"peaked {peak - settled} B above"
            assert sample("hcp_ws_dropped_total") == dropped_before + 1
            assert seen == list(range(published))

        # Reading again, the slow client gets what its socket held, then finds the connection closed.
        got = 0
        try:
            async with asyncio.timeout(20):
                while True:
                    await slow.recv()
                    got += 1
        except ConnectionClosed:
            pass
        assert 0 < got < published
