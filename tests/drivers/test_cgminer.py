"""The cgminer driver against the simulated Antminer S21s (stock and LuxOS) over real TCP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from tests.conftest import free_port
from tests.drivers.conftest import subnet_ips, web_options

from hcp.drivers.base import Capability, UnitRef, UnitUnreachable, Unsupported
from hcp.drivers.cgminer import CgminerDriver
from hcp.sim.asic.device import AsicFleet, Mode
from hcp.sim.asic.luxos import luxos_profiles
from hcp.sim.asic.server import RunningMiners

Serve = Callable[..., Awaitable[RunningMiners]]


@pytest.fixture
async def miners(serve: Serve) -> RunningMiners:
    return await serve(AsicFleet(3, seed=7, firmware=["stock", "stock", "luxos"]))


def ref(miners: RunningMiners, index: int) -> UnitRef:
    return UnitRef(id=f"unit-{index}", address=miners.ips[index], options=web_options(miners, index))


async def test_identifies_a_stock_s21(miners: RunningMiners) -> None:
    fleet = miners.fleet
    found = await CgminerDriver().identify(miners.ips[0], options=web_options(miners, 0))
    assert found is not None
    assert (found.kind, found.model, found.driver, found.firmware) == ("asic", "Antminer S21", "cgminer", "stock")
    assert found.mac == fleet.mac(0) and found.serial == fleet.serial_number(0)
    assert found.hostname == fleet.hostname(0)
    assert found.hashrate_ths == 200.0 and found.power_w == 3500.0
    assert Capability.MINING in found.capabilities and Capability.POWER_TARGET not in found.capabilities
    assert found.key == f"mac:{fleet.mac(0)}"


async def test_identifies_a_luxos_s21_with_its_mac(miners: RunningMiners) -> None:
    found = await CgminerDriver().identify(miners.ips[2])
    assert found is not None and found.firmware == "luxos"
    # pyasic 0.79 cannot read a LuxOS MAC; the driver reads `config` itself.
    assert found.mac == miners.fleet.mac(2)
    assert Capability.POWER_TARGET in found.capabilities


async def test_nothing_at_an_address_is_not_a_miner() -> None:
    [empty] = subnet_ips(1)
    assert await CgminerDriver(timeout_s=2).identify(empty) is None
    with pytest.raises(UnitUnreachable):
        await CgminerDriver(timeout_s=2).read_telemetry(UnitRef(id="x", address=empty))


async def test_reads_cheaply_every_poll_and_details_on_their_cadence(miners: RunningMiners) -> None:
    fleet = miners.fleet
    driver = CgminerDriver(detail_interval_s=3600)
    first = await driver.read_telemetry(ref(miners, 0))
    assert first.metrics["hashrate_ths"] == pytest.approx(fleet.hashrate_ths[0], rel=0.05)
    assert first.metrics["temp_c"] == pytest.approx(fleet.chip_temp_c[0].max(), abs=2)
    assert first.metrics["fan_min_rpm"] > 1000 and first.metrics["expected_hashrate_ths"] == 200
    assert first.mode == "mining" and first.errors == ()
    assert "power_w" not in first.metrics  # stock firmware reports no wattage
    second = await driver.read_telemetry(ref(miners, 0))
    assert "temp_c" not in second.metrics and second.errors is None  # the web API waits its turn
    assert second.metrics["hashrate_ths"] > 0 and second.mode == "mining"
    luxos = await driver.read_telemetry(ref(miners, 2))
    again = await driver.read_telemetry(ref(miners, 2))
    # LuxOS answers everything over the CGMiner API: the full reading every time.
    assert luxos.metrics["power_w"] == pytest.approx(fleet.power_w[2], rel=0.02) and "temp_c" in again.metrics


async def test_web_ui_on_another_port(serve: Serve) -> None:
    fleet = AsicFleet(1, seed=8)
    running = await serve(fleet, web_port=free_port(), web_fallback_port=None)
    options = web_options(running, 0)
    assert options["web_port"] != 80
    driver = CgminerDriver()
    found = await driver.identify(running.ips[0], options=options)
    assert found is not None and found.mac == fleet.mac(0) and found.options == options
    reading = await driver.read_telemetry(UnitRef(id="u", address=running.ips[0], options=options))
    # Board temperatures come from the web API's stats: read from the right port.
    assert reading.metrics["temp_c"] > 40 and reading.metrics["boards_alive"] == 3


async def test_stop_and_start_mining_a_stock_unit(miners: RunningMiners) -> None:
    fleet, driver = miners.fleet, CgminerDriver(detail_interval_s=3600)
    await driver.stop_mining(ref(miners, 1))
    assert fleet.mode[1] == Mode.SLEEPING
    fleet.tick(2.0)
    reading = await driver.read_telemetry(ref(miners, 1))
    assert reading.mode == "curtailed" and reading.metrics["hashrate_ths"] == 0
    await driver.start_mining(ref(miners, 1))
    assert fleet.mode[1] == Mode.MINING


async def test_power_target_only_where_the_firmware_takes_one(miners: RunningMiners) -> None:
    driver = CgminerDriver()
    with pytest.raises(Unsupported, match="power target"):
        await driver.set_power_target(ref(miners, 0), 3000)
    taken = await driver.set_power_target(ref(miners, 2), 3000)
    expected = max(p["Watts"] for p in luxos_profiles(3500) if p["Watts"] <= 3000)
    assert taken == expected and miners.fleet.power_target_w[2] == expected


async def test_luxos_commands_survive_an_expired_session(miners: RunningMiners) -> None:
    driver = CgminerDriver()
    await driver.read_telemetry(ref(miners, 2))
    handle = driver._miners[miners.ips[2]].handle
    handle.rpc.session_token = "expired-long-ago"  # LuxOS forgets sessions after 60 s idle
    await driver.stop_mining(ref(miners, 2))
    assert miners.fleet.mode[2] == Mode.SLEEPING
    await driver.start_mining(ref(miners, 2))
    assert miners.fleet.mode[2] == Mode.MINING


async def test_an_offline_unit_is_unreachable_and_comes_back(miners: RunningMiners) -> None:
    fleet, driver = miners.fleet, CgminerDriver()
    await driver.read_telemetry(ref(miners, 1))
    fleet.inject_fault(1, "OFFLINE")
    with pytest.raises(UnitUnreachable):
        await driver.read_telemetry(ref(miners, 1))
    fleet.clear_fault(1, "OFFLINE")
    await miners.settle()
    assert (await driver.read_telemetry(ref(miners, 1))).metrics["hashrate_ths"] > 0


async def test_a_silent_host_costs_the_timeout_not_more() -> None:
    # Accepts TCP on 4028 and never answers: pyasic alone would wait on it.
    [address] = subnet_ips(1)
    held: list[asyncio.StreamWriter] = []

    async def accept_and_ignore(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    silent = await asyncio.start_server(accept_and_ignore, address, 4028)
    try:
        driver = CgminerDriver(timeout_s=0.5)
        started = time.monotonic()
        with pytest.raises(UnitUnreachable, match="no answer"):
            await driver.read_telemetry(UnitRef(id="x", address=address))
        assert time.monotonic() - started < 1.5
    finally:
        for writer in held:
            writer.close()
        silent.close()
        await silent.wait_closed()
