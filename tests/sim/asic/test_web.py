"""The miner web interface on port 80: digest auth, the CGI endpoints pyasic uses, LuxOS's page."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from hcp.sim.asic.device import AsicFleet, Mode
from hcp.sim.asic.server import RunningMiners

AUTH = httpx.DigestAuth("root", "root")


@pytest.fixture
async def miners(serve: Any) -> RunningMiners:
    fleet = AsicFleet(2, seed=77, firmware=["stock", "luxos"])
    running: RunningMiners = await serve(fleet, request_timeout_s=1.0)
    return running


async def cgi(ip: str, name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        url = f"http://{ip}/cgi-bin/{name}.cgi"
        response = await (client.post(url, auth=AUTH, json=payload) if payload else client.get(url, auth=AUTH))
    assert response.status_code == 200, response.text
    value = response.json()
    assert isinstance(value, dict)
    return value


async def test_unauthenticated_requests_get_the_antminer_realm(miners: RunningMiners) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://{miners.ips[0]}/")
        assert response.status_code == 401
        assert 'realm="antMiner' in response.headers["www-authenticate"]
        assert response.headers["www-authenticate"].startswith("Digest ")
        wrong = await client.get(f"http://{miners.ips[0]}/cgi-bin/get_system_info.cgi",
                                 auth=httpx.DigestAuth("root", "hunter2"))
        assert wrong.status_code == 401
        basic = await client.get(f"http://{miners.ips[0]}/cgi-bin/get_system_info.cgi", auth=("root", "root"))
        assert basic.status_code == 401


async def test_kaonsu_brief_is_not_json_so_pyasic_does_not_see_mara_firmware(miners: RunningMiners) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://{miners.ips[0]}/kaonsu/v1/brief", auth=AUTH)
    assert response.status_code == 404
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


async def test_system_info_and_network(miners: RunningMiners) -> None:
    fleet = miners.fleet
    info = await cgi(miners.ips[0], "get_system_info")
    assert info["minertype"] == "Antminer S21"
    assert info["macaddr"] == fleet.mac(0)
    assert info["hostname"] == fleet.hostname(0)
    assert info["serinum"] == fleet.serial_number(0)
    assert info["ipaddress"] == miners.ips[0]
    assert info["firmware_type"] == "Release"
    renamed = await cgi(miners.ips[0], "set_network_conf", {"ipHost": "rack7-slot3", "ipPro": 1})
    assert renamed["code"] == "N000" and fleet.hostname(0) == "rack7-slot3"
    assert (await cgi(miners.ips[0], "get_network_info"))["conf_hostname"] == "rack7-slot3"


async def test_summary_lists_faults_as_non_s_statuses(miners: RunningMiners) -> None:
    fleet = miners.fleet
    healthy = await cgi(miners.ips[0], "summary")
    assert all(item["status"] == "s" for item in healthy["SUMMARY"][0]["status"])
    fleet.inject_fault(0, "FAN_FAILURE", fan=1)
    fleet.inject_fault(0, "POOL_DOWN")
    summary = await cgi(miners.ips[0], "summary")
    failing = {item["type"]: item["msg"] for item in summary["SUMMARY"][0]["status"] if item["status"] != "s"}
    assert set(failing) == {"fans", "network"}
    assert "Fan 2" in failing["fans"]


async def test_stats_and_pools_cgi(miners: RunningMiners) -> None:
    stats = await cgi(miners.ips[0], "stats")
    chains = stats["STATS"][0]["chain"]
    assert len(chains) == 3
    assert sum(c["rate_real"] for c in chains) == pytest.approx(miners.fleet.hashrate_ths[0] * 1000, rel=1e-4)
    pools = await cgi(miners.ips[0], "pools")
    assert pools["POOLS"][0]["status"] == "Alive"


async def test_miner_conf_round_trip_changes_the_work_mode(miners: RunningMiners) -> None:
    fleet = miners.fleet
    conf = await cgi(miners.ips[0], "get_miner_conf")
    assert conf["bitmain-work-mode"] == "0" and len(conf["pools"]) == 3
    assert conf["pools"][0]["url"] == "stratum+tcp://pool.example.invalid:3333"
    assert (await cgi(miners.ips[0], "set_miner_conf", {**conf, "miner-mode": 1}))["code"] == "M000"
    assert fleet.mode[0] == Mode.SLEEPING
    assert (await cgi(miners.ips[0], "get_miner_conf"))["bitmain-work-mode"] == "1"
    await cgi(miners.ips[0], "set_miner_conf", {"miner-mode": "3"})
    assert fleet.mode[0] == Mode.LOW_POWER
    await cgi(miners.ips[0], "set_miner_conf", {"miner-mode": 0, "bitmain-fan-ctrl": True, "bitmain-fan-pwm": "80"})
    assert fleet.mode[0] == Mode.MINING and fleet.fan_manual_pct[0] == 80.0
    bad = await cgi(miners.ips[0], "set_miner_conf", {"miner-mode": 7})
    assert bad["code"] == "M001" and fleet.mode[0] == Mode.MINING


async def test_blink_and_reboot(miners: RunningMiners) -> None:
    fleet = miners.fleet
    assert (await cgi(miners.ips[0], "blink", {"blink": "true"}))["code"] == "B000"
    assert (await cgi(miners.ips[0], "get_blink_status"))["blink"] is True
    assert (await cgi(miners.ips[0], "blink", {"blink": "false"}))["code"] == "B100"
    assert fleet.fault_light[0] == False  # noqa: E712 (numpy bool)
    await cgi(miners.ips[0], "reboot")
    assert not fleet.is_reachable(0)
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://{miners.ips[0]}/")


async def test_luxos_serves_its_own_page_without_the_antminer_realm(miners: RunningMiners) -> None:
    async with httpx.AsyncClient() as client:
        page = await client.get(f"http://{miners.ips[1]}/")
        assert page.status_code == 200 and "Luxor Firmware" in page.text
        assert "www-authenticate" not in page.headers
        assert (await client.get(f"http://{miners.ips[1]}/cgi-bin/get_system_info.cgi", auth=AUTH)).status_code == 404


async def raw_http(ip: str, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(ip, 80)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 5.0)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


async def test_malformed_http_is_answered_and_harmless(miners: RunningMiners) -> None:
    ip = miners.ips[0]
    assert (await raw_http(ip, b"HELLO\r\n\r\n")).startswith(b"HTTP/1.1 400 ")
    too_big = b"POST /cgi-bin/set_miner_conf.cgi HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"
    assert (await raw_http(ip, too_big)).startswith(b"HTTP/1.1 413 ")
    huge_header = b"GET / HTTP/1.1\r\nX-Junk: " + b"a" * 100_000 + b"\r\n\r\n"
    assert (await raw_http(ip, huge_header)).startswith(b"HTTP/1.1 431 ")
    assert await raw_http(ip, b"GET / HTTP/1.1\r\nHost:") == b""  # half a request, then the timeout
    assert (await cgi(ip, "get_system_info"))["minertype"] == "Antminer S21"
