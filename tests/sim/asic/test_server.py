"""Starting a fleet's servers: addresses, ports, the physics ticker, and the memory they cost."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import tracemalloc
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from hcp.core.clock import SteppedClock
from hcp.sim.asic.device import AsicFleet
from hcp.sim.asic.server import loopback_ips, start_miners


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def version_of(ip: str) -> bytes:
    reader, writer = await asyncio.open_connection(ip, 4028)
    writer.write(b'{"command":"version"}')
    await writer.drain()
    reply = await reader.read()
    writer.close()
    await writer.wait_closed()
    return reply


def test_loopback_ips_counts_up_and_stays_in_127_8() -> None:
    assert loopback_ips(3) == ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
    assert loopback_ips(2, base="127.0.1.255") == ["127.0.1.255", "127.0.2.0"]
    with pytest.raises(ValueError):
        loopback_ips(2, base="127.255.255.255")


async def test_twenty_miners_serve_in_under_100_mb(claim_ips: Callable[[int], list[str]]) -> None:
    ips = claim_ips(20)
    gc.collect()
    rss_before = rss_bytes()
    tracemalloc.start()
    try:
        fleet = AsicFleet(20, seed=99, firmware=["stock", "luxos"] * 10)
        running = await start_miners(fleet, ips)
        try:
            replies = await asyncio.gather(*(version_of(ip) for ip in ips))
            async with httpx.AsyncClient() as client:
                pages = await asyncio.gather(*(client.get(f"http://{ip}/") for ip in ips))
            _, peak = tracemalloc.get_traced_memory()
            rss_after = rss_bytes()
        finally:
            await running.close()
    finally:
        tracemalloc.stop()
    assert all(b"Antminer S21" in reply for reply in replies)
    assert [page.status_code for page in pages] == [401, 200] * 10
    assert peak < 100 * 1024 * 1024
    assert rss_after - rss_before < 100 * 1024 * 1024
    print(f"20 miners: tracemalloc peak {peak / 1e6:.1f} MB, RSS delta {(rss_after - rss_before) / 1e6:.1f} MB")


async def test_units_map_to_addresses_and_close_is_idempotent(claim_ips: Any) -> None:
    fleet = AsicFleet(5, seed=3, hostname_prefix="texas")
    ips = claim_ips(2)
    running = await start_miners(fleet, ips, indices=[4, 2])
    try:
        assert running.ips == {4: ips[0], 2: ips[1]}
        async with httpx.AsyncClient() as client:
            auth = httpx.DigestAuth("root", "root")
            info = await client.get(f"http://{ips[0]}/cgi-bin/get_system_info.cgi", auth=auth)
        assert info.json()["hostname"] == "texas-00004"
    finally:
        await running.close()
        await running.close()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(ips[0], 4028)
    with pytest.raises(ValueError):
        await start_miners(fleet, ips, indices=[0])


async def test_web_falls_back_to_another_port_when_80_is_taken(claim_ips: Any) -> None:
    ip = claim_ips(1)[0]
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind((ip, 80))
        squatter.listen(1)
        fleet = AsicFleet(1, seed=4)
        with pytest.raises(OSError):
            await start_miners(fleet, [ip])
        running = await start_miners(fleet, [ip], web_fallback_port=0)
        try:
            port = running.web_ports[0]
            assert port != 80
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"http://{ip}:{port}/")).status_code == 401
        finally:
            await running.close()


async def test_physics_ticks_on_the_platform_clock(serve: Any) -> None:
    clock = SteppedClock()
    fleet = AsicFleet(2, seed=5)
    elapsed = fleet.elapsed_s.copy()
    await serve(fleet, clock=clock, tick_interval_s=1.0)
    await asyncio.sleep(0)
    await clock.advance(30.0)
    assert fleet.elapsed_s == pytest.approx(elapsed + 30.0)
    assert fleet.accepted.sum() > 0
