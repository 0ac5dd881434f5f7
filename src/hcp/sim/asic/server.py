"""Start the network face of a simulated fleet: each miner's API (4028) and web (80) on its own IP.

A demo gives every unit a loopback address (127.0.1.N; Linux routes all of 127/8 to lo), so
pyasic reaches a simulated miner exactly as a real one: a change of address, not of code.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

from hcp.core.clock import Clock
from hcp.core.tasks import cancel_tasks
from hcp.sim.asic.cgminer_server import CgminerApiServer
from hcp.sim.asic.device import AsicFleet
from hcp.sim.asic.web import MinerWebServer

log = logging.getLogger(__name__)

RPC_PORT = 4028
WEB_PORT = 80


def loopback_ips(n: int, *, base: str = "127.0.1.1") -> list[str]:
    """`n` consecutive addresses from `base` (127.0.1.1, 127.0.1.2, ...), staying inside 127/8."""
    start = ipaddress.IPv4Address(base)
    ips = [start + k for k in range(n)]
    if n and (ips[-1] not in ipaddress.IPv4Network("127.0.0.0/8") or start not in ipaddress.IPv4Network("127.0.0.0/8")):
        raise ValueError(f"{n} addresses from {base} leave the loopback network 127.0.0.0/8")
    return [str(ip) for ip in ips]


@dataclass
class RunningMiners:
    """Handle on a fleet's servers; `close()` (or `async with`) stops them all."""

    fleet: AsicFleet
    ips: dict[int, str]
    rpc: CgminerApiServer
    web: MinerWebServer
    web_ports: dict[int, int]
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def settle(self) -> None:
        """Wait for listeners that units coming back up are reopening."""
        await self.rpc.settle()
        await self.web.settle()

    async def close(self) -> None:
        await cancel_tasks(self._tasks)
        self._tasks.clear()
        await self.rpc.close()
        await self.web.close()

    async def __aenter__(self) -> RunningMiners:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def start_miners(
    fleet: AsicFleet,
    ips: Sequence[str],
    *,
    indices: Sequence[int] | None = None,
    rpc_port: int = RPC_PORT,
    web_port: int = WEB_PORT,
    web_fallback_port: int | None = None,
    clock: Clock | None = None,
    tick_interval_s: float | None = None,
    request_timeout_s: float = 3.0,
) -> RunningMiners:
    """Serve unit `indices[k]` (default k) of `fleet` at `ips[k]`: API on `rpc_port`, web on
    `web_port`, or on `web_fallback_port` where binding `web_port` fails (port 80 needs root).

    With `tick_interval_s`, the physics is ticked on `clock` (real time by default) until close.
    """
    chosen = list(range(len(ips))) if indices is None else list(indices)
    if len(chosen) != len(ips):
        raise ValueError(f"{len(ips)} addresses for {len(chosen)} units")
    rpc = CgminerApiServer(fleet, clock=clock, request_timeout_s=request_timeout_s)
    web = MinerWebServer(fleet, clock=clock, request_timeout_s=request_timeout_s)
    running = RunningMiners(fleet=fleet, ips={}, rpc=rpc, web=web, web_ports={})
    try:
        for index, ip in zip(chosen, ips, strict=True):
            await rpc.add(index, ip, rpc_port)
            try:
                running.web_ports[index] = await web.add(index, ip, web_port)
            except OSError:
                if web_fallback_port is None:
                    raise
                log.warning("cannot bind %s:%s for unit %s; web on port %s", ip, web_port, index, web_fallback_port)
                running.web_ports[index] = await web.add(index, ip, web_fallback_port)
            running.ips[index] = ip
        if tick_interval_s is not None:
            running._tasks.append(asyncio.create_task(run_physics(fleet, clock, interval_s=tick_interval_s)))
    except BaseException:
        await running.close()
        raise
    return running


async def run_physics(fleet: AsicFleet, clock: Clock | None = None, *, interval_s: float = 1.0) -> None:
    """Tick `fleet` every `interval_s` of `clock` time, by the time that really passed, forever."""
    loop = asyncio.get_running_loop()

    def now() -> float:
        return clock.time() if clock is not None else loop.time()

    last = now()
    while True:
        if clock is not None:
            await clock.sleep(interval_s)
        else:
            await asyncio.sleep(interval_s)
        current = now()
        fleet.tick(max(current - last, 0.0))
        last = current
