"""The CGMiner API on TCP 4028: framing, replies, LuxOS sessions, and abuse that must not hurt."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from hcp.sim.asic.cgminer_api import CgminerApi
from hcp.sim.asic.device import AsicFleet, Mode
from hcp.sim.asic.luxos import luxos_profiles
from hcp.sim.asic.server import RunningMiners

NOW = 1_767_225_600.0


async def exchange(ip: str, payload: bytes, *, half_close: bool = False, timeout: float = 5.0) -> bytes:
    """Send `payload` to ip:4028 and read until the server closes, as pyasic does."""
    reader, writer = await asyncio.open_connection(ip, 4028)
    try:
        writer.write(payload)
        await writer.drain()
        if half_close:
            writer.write_eof()
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


def parse(reply: bytes) -> dict[str, Any]:
    assert reply.endswith(b"\0"), "cgminer ends every reply with a NUL byte"
    value = json.loads(reply[:-1])
    assert isinstance(value, dict)
    return value


async def command(ip: str, name: str, **extra: Any) -> dict[str, Any]:
    return parse(await exchange(ip, json.dumps({"command": name, **extra}).encode()))


@pytest.fixture
async def miners(serve: Any) -> RunningMiners:
    fleet = AsicFleet(3, seed=42, firmware=["stock", "stock", "luxos"])
    running: RunningMiners = await serve(fleet, request_timeout_s=0.5)
    return running


async def assert_serving(running: RunningMiners) -> None:
    for index, ip in running.ips.items():
        reply = await command(ip, "version")
        assert reply["STATUS"][0]["STATUS"] == "S"
        assert reply["VERSION"][0]["Type"] == "Antminer S21", index


async def test_stock_version_summary_stats_pools(miners: RunningMiners) -> None:
    ip = miners.ips[0]
    fleet = miners.fleet
    version = await command(ip, "version")
    assert version["STATUS"][0] | {"When": 0} == {
        "STATUS": "S", "When": 0, "Code": 22, "Msg": "BMMiner versions", "Description": "bmminer 1.0.0"}
    assert version["VERSION"][0]["BMMiner"] and version["id"] == 1

    summary = (await command(ip, "summary"))["SUMMARY"][0]
    assert float(summary["GHS 5s"]) == pytest.approx(fleet.hashrate_ths[0] * 1000, rel=1e-4)
    assert summary["Elapsed"] == int(fleet.elapsed_s[0])

    stats = await command(ip, "stats")
    assert stats["STATUS"][0]["Code"] == 70
    assert stats["STATS"][0]["Type"] == "Antminer S21"
    body = stats["STATS"][1]
    assert body["total_rateideal"] == pytest.approx(200_000.0)
    assert body["rate_unit"] == "GH"
    assert [body[f"fan{k}"] for k in range(1, 5)] == [round(r) for r in fleet.fan_rpm[0]]
    assert [body[f"chain_acn{k}"] for k in range(1, 4)] == [108, 108, 108]

    pools = await command(ip, "pools")
    assert pools["STATUS"][0]["Code"] == 7
    assert pools["POOLS"][0]["URL"] == "stratum+tcp://pool.example.invalid:3333"
    assert pools["POOLS"][0]["Status"] == "Alive" and pools["POOLS"][0]["Stratum Active"] is True
    assert pools["POOLS"][0]["User"] == fleet.worker(0)

    assert (await command(ip, "devs"))["STATUS"][0]["Code"] == 9
    assert (await command(ip, "devdetails"))["STATUS"][0]["Code"] == 69


async def test_new_api_stats_sum_of_chains_is_the_hashrate(miners: RunningMiners) -> None:
    fleet = miners.fleet
    fleet.inject_fault(1, "BOARD_FAILURE", board=2)
    fleet.tick(1.0)
    stats = await command(miners.ips[1], "stats", new_api=True)
    chains = stats["STATS"][0]["chain"]
    assert [c["index"] for c in chains] == [0, 1, 2]
    assert sum(c["rate_real"] for c in chains) == pytest.approx(fleet.hashrate_ths[1] * 1000, rel=1e-4)
    assert chains[2]["rate_real"] == 0 and chains[2]["asic_num"] == 0
    for chain in chains[:2]:
        assert chain["asic_num"] == 108 and len(chain["temp_pcb"]) == 4 and len(chain["temp_chip"]) == 4
        assert chain["sn"]
        assert sum(chain["temp_chip"]) / 4 == pytest.approx(fleet.chip_temp_c[1, chain["index"]], abs=1.0)


async def test_multi_command_answers_each_part_in_a_one_element_list(miners: RunningMiners) -> None:
    reply = await command(miners.ips[0], "version+summary+stats+pools")
    assert set(reply) == {"version", "summary", "stats", "pools", "id"}
    assert reply["id"] == 1
    for name in ("version", "summary", "stats", "pools"):
        assert len(reply[name]) == 1 and reply[name][0]["STATUS"][0]["STATUS"] == "S"
    assert reply["version"][0]["VERSION"][0]["Type"] == "Antminer S21"
    # Only read-only commands join; writes and unknown names get their own error sections.
    mixed = await command(miners.ips[0], "summary+restart+nonsense")
    assert mixed["summary"][0]["STATUS"][0]["STATUS"] == "S"
    assert mixed["restart"][0]["STATUS"][0]["Code"] == 45
    assert mixed["nonsense"][0]["STATUS"][0]["Code"] == 14


async def test_unknown_command_is_an_error_not_a_crash(miners: RunningMiners) -> None:
    reply = await command(miners.ips[0], "frobnicate")
    assert reply["STATUS"][0]["STATUS"] == "E"
    assert reply["STATUS"][0]["Code"] == 14
    assert reply["STATUS"][0]["Msg"] == "Invalid command"
    denied = await command(miners.ips[0], "addpool", parameter="stratum+tcp://evil.invalid:1,u,p")
    assert denied["STATUS"][0]["Code"] == 45
    await assert_serving(miners)


async def test_invalid_json_gets_an_error_reply(miners: RunningMiners) -> None:
    reply = parse(await exchange(miners.ips[0], b'{"command": summary}'))
    assert reply["STATUS"][0]["STATUS"] == "E" and reply["STATUS"][0]["Code"] == 23
    missing = parse(await exchange(miners.ips[0], b'{"parameter": "x"}'))
    assert missing["STATUS"][0]["Code"] == 24
    nested = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    assert parse(await exchange(miners.ips[0], nested))["STATUS"][0]["Code"] == 23
    await assert_serving(miners)


async def test_a_megabyte_of_garbage_gets_an_error_and_harms_nobody(miners: RunningMiners) -> None:
    garbage = bytes(range(256)) * 4096  # 1 MiB, not text
    reply = parse(await exchange(miners.ips[0], garbage, half_close=True))
    assert reply["STATUS"][0]["STATUS"] == "E"
    # Text garbage too, over the 64 KiB limit.
    reply = parse(await exchange(miners.ips[0], b"{" + b"x" * 1_048_576, half_close=True))
    assert reply["STATUS"][0]["STATUS"] == "E" and "over" in reply["STATUS"][0]["Msg"]
    await assert_serving(miners)


async def test_half_a_request_then_hang_up(miners: RunningMiners) -> None:
    _reader, writer = await asyncio.open_connection(miners.ips[1], 4028)
    writer.write(b'{"command": "sum')
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    await assert_serving(miners)


async def test_silent_or_stalled_clients_are_timed_out(miners: RunningMiners) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    silent = await exchange(miners.ips[0], b"", timeout=3.0)
    assert silent == b""  # hung up without a reply after the 0.5 s request timeout
    stalled = parse(await exchange(miners.ips[0], b'{"command": "vers', timeout=3.0))
    assert stalled["STATUS"][0]["Code"] == 23
    assert loop.time() - started < 2.5
    await assert_serving(miners)


async def test_requests_split_across_packets_are_reassembled(miners: RunningMiners) -> None:
    reader, writer = await asyncio.open_connection(miners.ips[0], 4028)
    try:
        for part in (b'{"comm', b'and": "ver', b'sion"}'):
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0.05)
        reply = parse(await asyncio.wait_for(reader.read(), 3.0))
    finally:
        writer.close()
        await writer.wait_closed()
    assert reply["VERSION"][0]["Type"] == "Antminer S21"


async def test_plain_text_commands_as_nc_sends_them(miners: RunningMiners) -> None:
    reply = await exchange(miners.ips[0], b"summary\n")
    text = reply.rstrip(b"\0").decode()
    assert text.startswith("STATUS=S,") and "|SUMMARY," in text and "GHS 5s=" in text


async def test_many_concurrent_clients_on_many_miners(miners: RunningMiners) -> None:
    requests = [command(ip, "summary") for ip in miners.ips.values() for _ in range(30)]
    replies = await asyncio.gather(*requests)
    assert all(r["STATUS"][0]["STATUS"] == "S" for r in replies)


async def test_an_offline_miner_refuses_connections_and_comes_back(miners: RunningMiners) -> None:
    miners.fleet.inject_fault(0, "OFFLINE")
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(miners.ips[0], 4028)
    assert (await command(miners.ips[1], "version"))["STATUS"][0]["STATUS"] == "S"
    miners.fleet.clear_fault(0, "OFFLINE")
    # Re-listening binds synchronously, so the first connection already queues.
    assert (await command(miners.ips[0], "version"))["STATUS"][0]["STATUS"] == "S"
    await miners.settle()


async def test_luxos_identifies_as_luxminer_and_reports_power(miners: RunningMiners) -> None:
    ip = miners.ips[2]
    version = await command(ip, "version")
    assert "LUXminer" in version["VERSION"][0] and version["VERSION"][0]["Type"] == "Antminer S21"
    power = await command(ip, "power")
    assert power["POWER"][0]["Watts"] == round(miners.fleet.power_w[2])
    config = (await command(ip, "config"))["CONFIG"][0]
    assert config["Profile"] == "default"
    assert config["MACAddr"].upper() == miners.fleet.mac(2)
    profiles = (await command(ip, "profiles"))["PROFILES"]
    assert any(p["Profile Name"] == "default" and p["Watts"] == 3500 for p in profiles)
    stats = (await command(ip, "stats"))["STATS"][1]
    assert len(stats["temp_chip1"].split("-")) == 4
    multi = await command(ip, "config+summary+stats+power+profiles+fans+pools+version")
    assert multi["power"][0]["POWER"][0]["Watts"] > 0


async def test_luxos_session_curtail_and_profiles(miners: RunningMiners) -> None:
    ip, fleet = miners.ips[2], miners.fleet
    assert (await command(ip, "session"))["SESSION"][0]["SessionID"] == ""
    denied = await command(ip, "curtail", parameter="nosuchsession,sleep")
    assert denied["STATUS"][0]["STATUS"] == "E"
    session = (await command(ip, "logon"))["SESSION"][0]["SessionID"]
    assert session and (await command(ip, "session"))["SESSION"][0]["SessionID"] == session
    assert (await command(ip, "logon"))["STATUS"][0]["STATUS"] == "E"  # one session at a time

    await command(ip, "curtail", parameter=f"{session},sleep")
    assert fleet.mode[2] == Mode.SLEEPING
    await command(ip, "curtail", parameter=f"{session},wakeup")
    assert fleet.mode[2] == Mode.MINING

    chosen = await command(ip, "profileset", parameter=f"{session},415MHz")
    assert chosen["PROFILE"][0]["Profile"] == "415MHz"
    assert fleet.power_target_w[2] == next(p["Watts"] for p in luxos_profiles(3500) if p["Profile Name"] == "415MHz")
    by_power = await command(ip, "profileset", parameter=f"{session},3000W")
    assert by_power["PROFILE"][0]["Profile"] == "440MHz" and fleet.power_target_w[2] <= 3000
    missing = await command(ip, "profileset", parameter=f"{session},turbo")
    assert missing["STATUS"][0]["STATUS"] == "E"

    # A target set outside the profile steps still shows as the active profile.
    fleet.set_power_target(2, 3100.0)
    assert (await command(ip, "config"))["CONFIG"][0]["Profile"] == "3100W"


def test_luxos_sessions_expire_after_a_quiet_minute() -> None:
    fleet = AsicFleet(1, seed=1, firmware="luxos")
    api = CgminerApi(fleet, session_ttl_s=60.0)
    session = api.answer(0, "logon", now=NOW)["SESSION"][0]["SessionID"]
    assert api.answer(0, "curtail", f"{session},sleep", now=NOW + 50)["STATUS"][0]["STATUS"] == "S"
    # Use refreshed the session: 50 s later it is still valid, 61 s after that it is gone.
    assert api.answer(0, "curtail", f"{session},wakeup", now=NOW + 100)["STATUS"][0]["STATUS"] == "S"
    expired = api.answer(0, "curtail", f"{session},sleep", now=NOW + 161)
    assert expired["STATUS"][0]["Msg"] == "Invalid session id"
    assert fleet.mode[0] == Mode.MINING
