"""Simulated miners for driver tests, each on its own loopback address of a random /24 (never
the demo's 127.0.1.x), web UI on port 80 where this process may bind it, else on a free port."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from tests.conftest import random_loopback_subnet

from hcp.sim.asic.device import AsicFleet
from hcp.sim.asic.server import RunningMiners, start_miners


def subnet_ips(n: int) -> list[str]:
    hosts = ipaddress.ip_network(random_loopback_subnet()).hosts()
    return [str(next(hosts)) for _ in range(n)]


def web_options(running: RunningMiners, index: int) -> dict[str, Any]:
    """The driver options that reach unit `index`'s web UI (its port, when not 80)."""
    port = running.web_ports[index]
    return {} if port == 80 else {"web_port": port}


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[RunningMiners]]]:
    """`await serve(fleet)` serves every unit of `fleet` on fresh addresses until the test ends."""
    started: list[RunningMiners] = []

    async def start(fleet: AsicFleet, **kwargs: Any) -> RunningMiners:
        kwargs.setdefault("web_fallback_port", 0)
        running = await start_miners(fleet, subnet_ips(fleet.n), **kwargs)
        started.append(running)
        return running

    yield start
    for running in started:
        await running.close()
