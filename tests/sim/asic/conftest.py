"""Fixtures for the ASIC simulator: loopback addresses of this test session, and running miners.

pyasic always dials port 4028 and port 80, so each simulated miner needs its own address. A
session takes a random 127.0.R.0/24 (R in 50..250: never 127.0.1.x, where a demo may run) and
hands out addresses that it has checked it can bind.
"""

from __future__ import annotations

import random
import socket
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

# pyasic's models use pydantic's class-based Config, deprecated in pydantic 2: a warning at
# import time only, which the suite's filterwarnings=error would turn into a collection error.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import pyasic  # noqa: F401

from hcp.sim.asic.device import AsicFleet
from hcp.sim.asic.server import RunningMiners, start_miners

PYASIC_PORTS = (4028, 80)


class LoopbackPool:
    """Addresses 127.0.R.1, 127.0.R.2, ... for this session, each checked bindable on 4028 and 80."""

    def __init__(self, rng: random.Random) -> None:
        self._third = rng.randint(50, 250)
        self._last = 0

    def _next(self) -> str:
        self._last += 1
        if self._last > 254:
            self._third = 50 + (self._third - 49) % 201
            self._last = 1
        return f"127.0.{self._third}.{self._last}"

    def claim(self, n: int) -> list[str]:
        ips: list[str] = []
        for _ in range(n * 20 + 20):
            ip = self._next()
            if _bindable(ip):
                ips.append(ip)
                if len(ips) == n:
                    return ips
        raise RuntimeError(f"could not find {n} bindable loopback addresses")


def _bindable(ip: str) -> bool:
    for port in PYASIC_PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((ip, port))
            except OSError:
                return False
    return True


@pytest.fixture(scope="session")
def loopback_pool() -> LoopbackPool:
    return LoopbackPool(random.Random())


@pytest.fixture
def claim_ips(loopback_pool: LoopbackPool) -> Callable[[int], list[str]]:
    return loopback_pool.claim


@pytest.fixture
async def serve(claim_ips: Callable[[int], list[str]]) -> AsyncIterator[Callable[..., Awaitable[RunningMiners]]]:
    """`await serve(fleet)` starts every unit of `fleet` on fresh addresses; closed after the test."""
    started: list[RunningMiners] = []

    async def start(fleet: AsicFleet, **kwargs: Any) -> RunningMiners:
        running = await start_miners(fleet, claim_ips(fleet.n), **kwargs)
        started.append(running)
        return running

    yield start
    for running in started:
        await running.close()
