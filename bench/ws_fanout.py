"""WebSocket fan-out: 1,000 clients subscribed to one channel; the time from an event's
publication on the bus to its arrival at every client (p50/p99; goal p99 < 50 ms) and the
messages per second delivered.

The server is the platform under uvicorn in a child process, as `hcp up` runs it (memory bus,
SQLite, simulator off), with a publisher task inside it that stamps each event with the wall
time of its `bus.emit`. The clients are real WebSocket connections from this process, on
websockets' sans-I/O protocol (no task per connection), with permessage-deflate as browsers
negotiate it (`WS_COMPRESSION=` turns it off). Once subscribed, a connection only notes the
arrival time of each chunk of bytes the socket gives it and parses them after the run (the
server closes every connection when it has sent everything): 1,000 browsers would each parse on
their own machine, and parsing here, on the core the server does not use, would add the time to
parse 999 messages to the arrival of the last. Two phases: a steady rate (latency), then a burst
published as fast as the bus takes it (messages/s delivered).

    .venv/bin/python bench/ws_fanout.py [--clients 1000] [--rate 5] [--seconds 10] [--burst 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import free_port

GOAL_P99_MS = 50.0
COMPRESSION: str | None = os.environ.get("WS_COMPRESSION", "deflate") or None


def _raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- the server (child process) ------------------------------------------------------------------
async def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from hcp.app import create_app
    from hcp.core.settings import Settings
    from hcp.realtime.api import hub_of

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{args.db}", demo=True, log_level="warning", log_format="console",
        sim={"enabled": False}, economics={"plan": False},
        realtime={"client_queue": max(1000, args.burst * 2)},
    )
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False,
                            lifespan="on", ws="websockets-sansio", ws_per_message_deflate=False, backlog=4096)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    platform = app.state.platform
    hub = hub_of(platform)
    while sum("plan" in c.channels for c in hub.clients) < args.clients:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    interval = 1.0 / args.rate
    start = time.perf_counter()
    for seq in range(args.rate * args.seconds):  # steady phase
        await asyncio.sleep(max(0.0, start + seq * interval - time.perf_counter()))
        await platform.bus.emit_raw("plan.decided", {"phase": "steady", "seq": seq, "sent_at": time.time()})
    await asyncio.sleep(2.0)
    delivered_before = hub.delivered
    for seq in range(args.burst):  # burst phase
        await platform.bus.emit_raw("plan.decided", {"phase": "burst", "seq": seq, "sent_at": time.time()})
    while hub.delivered - delivered_before < args.burst * args.clients and not task.done():
        await asyncio.sleep(0.05)
    deadline = time.monotonic() + 60
    # Until every queue is sent; closing then flushes what the sockets still buffer.
    while any(not c.queue.empty() for c in hub.clients) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    server.should_exit = True
    await task


# --- the clients (this process) ------------------------------------------------------------------
class Client:
    """What one connection saw."""

    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.burst_last_arrival = 0.0
        self.burst_first_sent = float("inf")
        self.burst_count = 0
        self.steady_count = 0


class _LeanClient(asyncio.Protocol):
    """One WebSocket connection on websockets' sans-I/O protocol: no task per connection. After
    its subscription is acknowledged it only keeps (arrival time, bytes); `parse` reads them once
    the server has closed the connection."""

    def __init__(self, url: str, client: Client, ready: asyncio.Event, closed: asyncio.Event) -> None:
        from websockets.client import ClientProtocol
        from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
        from websockets.uri import parse_uri

        extensions = [ClientPerMessageDeflateFactory()] if COMPRESSION else None
        self.protocol = ClientProtocol(parse_uri(url), extensions=extensions, max_size=None)
        self.client, self.ready, self.closed = client, ready, closed
        self.transport: asyncio.Transport | None = None
        self.chunks: list[tuple[float, bytes]] = []
        self.capturing = False

    def _flush(self) -> None:
        out = self.protocol.data_to_send()
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if self.capturing:
            self.chunks.append((now, data))
            return
        self._receive(now, data)
        self._flush()

    def _receive(self, now: float, data: bytes) -> None:
        from websockets.frames import Frame, Opcode
        from websockets.http11 import Response

        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if self.protocol.handshake_exc is not None:
                    raise RuntimeError(f"handshake refused: {event.status_code}") from self.protocol.handshake_exc
                self.protocol.send_text(json.dumps({"action": "subscribe", "channels": ["plan"]}).encode())
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self._on_message(json.loads(event.data), now)

    def parse(self) -> None:
        for now, data in self.chunks:
            self._receive(now, data)
        self.chunks.clear()

    def _on_message(self, message: dict[str, Any], now: float) -> None:
        client = self.client
        if message["channel"] is None:
            if message["event"] == "subscribed":
                self.capturing = True
                self.ready.set()
            return
        data = message["data"]
        if data.get("phase") == "steady":
            client.latencies_ms.append((now - data["sent_at"]) * 1000.0)
            client.steady_count += 1
        elif data.get("phase") == "burst":
            client.burst_count += 1
            client.burst_first_sent = min(client.burst_first_sent, data["sent_at"])
            client.burst_last_arrival = now


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        profile = ["-m", "cProfile", "-o", os.environ["WS_BENCH_PROFILE"]] if os.environ.get("WS_BENCH_PROFILE") else []
        child = await asyncio.create_subprocess_exec(
            sys.executable, *profile, __file__, "--serve", "--port", str(port), "--db", str(Path(tmp) / "hcp.db"),
            "--clients", str(args.clients), "--rate", str(args.rate), "--seconds", str(args.seconds),
            "--burst", str(args.burst), env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                deadline = time.monotonic() + 60
                while True:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get("/health")).status_code == 200:
                            break
                    assert time.monotonic() < deadline and child.returncode is None, "server did not start"
                    await asyncio.sleep(0.2)
                login = await http.post("/api/v1/auth/login", json={"email": "ops@mara.com", "password": "operator123"})
                token = login.json()["access_token"]
            url = f"ws://127.0.0.1:{port}/ws?token={token}"
            expected = args.rate * args.seconds
            clients = [Client() for _ in range(args.clients)]
            readies = [asyncio.Event() for _ in clients]
            closed = [asyncio.Event() for _ in clients]
            connections: list[_LeanClient] = []
            loop = asyncio.get_running_loop()
            connect_started = time.perf_counter()
            for i, client in enumerate(clients):
                _, connection = await loop.create_connection(
                    lambda c=client, i=i: _LeanClient(url, c, readies[i], closed[i]), "127.0.0.1", port)
                connections.append(connection)
                if i % 50 == 49:  # the handshakes of 50 at a time, each within a minute
                    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies[: i + 1])), 60)
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
            connect_s = time.perf_counter() - connect_started
            await asyncio.wait_for(asyncio.gather(*(c.wait() for c in closed)), timeout=args.seconds + 120)
            for connection in connections:
                connection.parse()
            short = [i for i, c in enumerate(clients) if (c.steady_count, c.burst_count) != (expected, args.burst)]
            first = clients[short[0]] if short else None
            assert first is None, f"{len(short)} clients missed messages, e.g. #{short[0]}: " \
                f"{first.steady_count}/{expected} steady, {first.burst_count}/{args.burst} burst"
        finally:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(child.wait(), 30)
            if child.returncode is None:
                child.terminate()
                await child.wait()
    latencies = [v for c in clients for v in c.latencies_ms]
    burst_messages = sum(c.burst_count for c in clients)
    burst_s = max(c.burst_last_arrival for c in clients) - min(c.burst_first_sent for c in clients)
    return {
        "clients": args.clients, "connect_s": round(connect_s, 2),
        "steady_events": expected, "steady_messages": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2), "p99_ms": round(_pct(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
        "burst_events": args.burst, "burst_messages": burst_messages, "burst_s": round(burst_s, 2),
        "messages_per_s": round(burst_messages / burst_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=5, help="events per second in the steady phase")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    _raise_fd_limit()
    if args.serve:
        asyncio.run(_serve(args))
        return
    result = asyncio.run(_run(args))
    print(json.dumps(result, indent=2))
    verdict = "meets" if result["p99_ms"] < GOAL_P99_MS else "misses"
    print(f"p99 {result['p99_ms']} ms: {verdict} the {GOAL_P99_MS:g} ms goal; "
          f"{result['messages_per_s']:,} messages/s delivered in the burst")


if __name__ == "__main__":
    main()
