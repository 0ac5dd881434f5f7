"""The CGMiner API's server: each simulated miner's TCP 4028, framed as cgminer's api.c.

One request per connection, the reply, a NUL byte, close. A request is read until it is complete,
too large or late; garbage gets an error and the rest of its input is swallowed before closing.
"""

from __future__ import annotations

import asyncio

from hcp.core.clock import Clock
from hcp.sim.asic.cgminer_api import CgminerApi
from hcp.sim.asic.cgminer_protocol import CODE_INVALID_JSON, MAX_REQUEST_BYTES, request_kind
from hcp.sim.asic.device import AsicFleet
from hcp.sim.asic.listeners import MinerListeners
from hcp.sim.asic.luxos import SESSION_TTL_S


class CgminerApiServer(MinerListeners):
    """The TCP 4028 API of many simulated miners: one listening socket per miner address."""

    def __init__(
        self,
        fleet: AsicFleet,
        *,
        clock: Clock | None = None,
        request_timeout_s: float = 3.0,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        session_ttl_s: float = SESSION_TTL_S,
    ) -> None:
        super().__init__(fleet, clock=clock, request_timeout_s=request_timeout_s)
        self.api = CgminerApi(fleet, session_ttl_s=session_ttl_s)
        self.max_request_bytes = max_request_bytes

    async def serve_connection(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request, oversized = await self._read_request(reader)
        if oversized:
            reply = self.api.error_reply(index, CODE_INVALID_JSON,
                                         f"Invalid JSON: request over {self.max_request_bytes} bytes", now=self.now())
        elif request is None:
            return  # nothing arrived before the timeout: hang up, as cgminer does
        else:
            reply = self.api.reply(index, request, now=self.now())
        writer.write(reply)
        await asyncio.wait_for(writer.drain(), self.request_timeout_s)
        if oversized or request_kind(request or b"") not in ("json", "plain"):
            # A client sending garbage may still be sending: half-close, then swallow its input.
            if writer.can_write_eof():
                writer.write_eof()
            await self.discard_input(reader)

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[bytes | None, bool]:
        """Read until the buffer holds a complete request, EOF, the size limit or the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.request_timeout_s
        buf = bytearray()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return (bytes(buf) if buf else None), False
            try:
                chunk = await asyncio.wait_for(reader.read(65536), remaining)
            except TimeoutError:
                return (bytes(buf) if buf else None), False
            if not chunk:
                return (bytes(buf) if buf else None), False
            buf += chunk
            if len(buf) > self.max_request_bytes:
                return None, True
            if request_kind(buf) != "incomplete":
                return bytes(buf), False
