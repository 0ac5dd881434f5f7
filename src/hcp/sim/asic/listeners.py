"""Listening sockets for the miners of a simulated fleet, one per miner address.

Shared by the CGMiner API (`cgminer_server`) and the web interface (`web`). A unit that is
OFFLINE or rebooting closes its listening sockets, so clients get "connection refused" at once,
which pyasic handles without raising.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from abc import ABC, abstractmethod
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from hcp.core.clock import Clock
from hcp.sim.asic.cgminer_protocol import MAX_REQUEST_BYTES
from hcp.sim.asic.device import AsicFleet

log = logging.getLogger(__name__)


class MinerListeners(ABC):
    """One listening socket per miner of a fleet, opened and closed as units go up and down.

    Subclasses implement `serve_connection`. Closing a listener (rather than accepting and
    dropping) makes an unreachable unit refuse connections, the failure pyasic handles best.
    """

    def __init__(self, fleet: AsicFleet, *, clock: Clock | None = None, request_timeout_s: float = 3.0) -> None:
        self.fleet = fleet
        self.clock = clock
        self.request_timeout_s = request_timeout_s
        self._addresses: dict[int, tuple[str, int]] = {}
        self._servers: dict[int, asyncio.Server] = {}
        self._connections: set[asyncio.Task[Any]] = set()
        self._starting: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._closed = False
        fleet.subscribe(self._on_reachability)

    def now(self) -> float:
        return self.clock.time() if self.clock is not None else time.time()

    def address(self, index: int) -> tuple[str, int]:
        return self._addresses[index]

    @property
    def indices(self) -> list[int]:
        return list(self._addresses)

    async def add(self, index: int, host: str, port: int) -> int:
        """Serve unit `index` at host:port (port 0 picks one); returns the bound port."""
        if self._closed:
            raise RuntimeError("server is closed")
        if index in self._addresses:
            raise ValueError(f"unit {index} is already served at {self._addresses[index]}")
        if not 0 <= index < self.fleet.n:
            raise IndexError(f"unit index {index} out of range 0..{self.fleet.n - 1}")
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
        sock = _listen(host, port)
        bound = (host, int(sock.getsockname()[1]))
        self._addresses[index] = bound
        if self.fleet.is_reachable(index):
            await self._start(index, sock)
        else:
            sock.close()
        return bound[1]

    async def _start(self, index: int, sock: socket.socket) -> None:
        try:
            server = await asyncio.start_server(partial(self._on_connect, index), sock=sock, limit=MAX_REQUEST_BYTES)
        except BaseException:
            sock.close()
            raise
        if self._closed or index in self._servers or not self.fleet.is_reachable(index):
            server.close()
            return
        self._servers[index] = server

    def _on_reachability(self, indices: npt.NDArray[np.int64]) -> None:
        if self._closed or self._loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._apply(indices)
        else:
            self._loop.call_soon_threadsafe(self._apply, indices.copy())

    def _apply(self, indices: npt.NDArray[np.int64]) -> None:
        for index in (int(i) for i in indices):
            if index not in self._addresses or self._closed:
                continue
            if self.fleet.is_reachable(index):
                if index in self._servers:
                    continue
                host, port = self._addresses[index]
                try:
                    # Bind now, synchronously: connections queue in the backlog from this moment.
                    sock = _listen(host, port)
                except OSError:
                    log.warning("unit %s cannot listen again on %s:%s", index, host, port, exc_info=True)
                    continue
                task = asyncio.get_running_loop().create_task(self._start(index, sock))
                self._starting.add(task)
                task.add_done_callback(self._starting.discard)
            else:
                server = self._servers.pop(index, None)
                if server is not None:
                    server.close()

    async def settle(self) -> None:
        """Wait until listeners being reopened are serving."""
        while self._starting:
            await asyncio.gather(*self._starting, return_exceptions=True)

    async def _on_connect(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self.serve_connection(index, reader, writer)
        except asyncio.CancelledError:
            pass  # the server is closing
        except (ConnectionError, TimeoutError, OSError, asyncio.IncompleteReadError):
            pass  # the client went away mid-exchange: nothing to answer
        except Exception:
            log.exception("unit %s: error serving a connection", index)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError, asyncio.CancelledError):
                pass
            if task is not None:
                self._connections.discard(task)

    @abstractmethod
    async def serve_connection(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one connection of unit `index` (one request, as the protocol has it)."""

    async def discard_input(self, reader: asyncio.StreamReader, limit: int = 16 * 1024 * 1024) -> None:
        """Swallow what a client still sends, until EOF, `limit` bytes or the request timeout.

        Used after answering garbage: closing a socket with unread input resets the connection,
        which can destroy the reply still in flight.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.request_timeout_s
        seen = 0
        while seen < limit:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                chunk = await asyncio.wait_for(reader.read(65536), remaining)
            except TimeoutError:
                return
            if not chunk:
                return
            seen += len(chunk)

    async def close(self) -> None:
        """Stop listening and end connections in progress."""
        if self._closed:
            return
        self._closed = True
        self.fleet.unsubscribe(self._on_reachability)
        for task in list(self._starting):
            task.cancel()
        await asyncio.gather(*self._starting, return_exceptions=True)
        servers = list(self._servers.values())
        self._servers.clear()
        for server in servers:
            server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for server in servers:
            await server.wait_closed()


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
