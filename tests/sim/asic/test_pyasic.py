"""Acceptance: pyasic, the field's own client, takes the simulated miners for real ones."""

from __future__ import annotations

from typing import Any

import pyasic
import pytest
from pyasic.device.firmware import MinerFirmware
from pyasic.miners.antminer.bmminer.X21.S21 import BMMinerS21
from pyasic.miners.antminer.luxos.X21.S21 import LUXMinerS21

from hcp.sim.asic.device import AsicFleet, Mode
from hcp.sim.asic.luxos import luxos_profiles
from hcp.sim.asic.server import RunningMiners


@pytest.fixture
async def miners(serve: Any) -> RunningMiners:
    fleet = AsicFleet(3, seed=2024, firmware=["stock", "stock", "luxos"])
    running: RunningMiners = await serve(fleet)
    return running


async def test_stock_unit_is_an_antminer_s21_with_all_its_data(miners: RunningMiners) -> None:
    fleet = miners.fleet
    miner = await pyasic.get_miner(miners.ips[0])
    assert isinstance(miner, BMMinerS21)
    assert miner.model == "S21 (Stock)"
    assert miner.firmware == MinerFirmware.STOCK

    data = await miner.get_data()
    assert data.hashrate is not None
    assert float(data.hashrate) == pytest.approx(fleet.hashrate_ths[0], rel=0.05)
    assert float(data.expected_hashrate) == pytest.approx(200.0)
    assert data.mac == fleet.mac(0)
    assert data.hostname == fleet.hostname(0)
    assert data.serial_number == fleet.serial_number(0)
    assert data.uptime == int(fleet.elapsed_s[0])
    assert data.is_mining is True
    assert data.errors == []
    assert len(data.hashboards) == 3
    for board in data.hashboards:
        assert board.chips == 108 and not board.missing
        assert board.temp == pytest.approx(fleet.board_temp_c[0, board.slot], abs=1.0)
        assert board.chip_temp == pytest.approx(fleet.chip_temp_c[0, board.slot], abs=1.0)
    assert [fan.speed for fan in data.fans] == [round(r) for r in fleet.fan_rpm[0]]
    assert data.pools[0].url is not None and data.pools[0].url.host == "pool.example.invalid"
    assert data.pools[0].user == fleet.worker(0) and data.pools[0].alive and data.pools[0].active
    assert data.wattage is None  # stock S21 firmware reports no power


async def test_injected_faults_show_up_as_pyasic_errors(miners: RunningMiners) -> None:
    fleet = miners.fleet
    fleet.inject_fault(1, "BOARD_FAILURE", board=0)
    fleet.tick(1.0)
    data = await (await pyasic.get_miner(miners.ips[1])).get_data()
    assert any("Chain 0" in e.error_message for e in data.errors)
    assert float(data.hashrate) == pytest.approx(fleet.hashrate_ths[1], rel=0.05)
    assert float(data.hashrate) == pytest.approx(fleet.hashrate_ths[0] * 2 / 3, rel=0.05)
    assert data.hashboards[0].chips == 0

    fleet.inject_fault(1, "OVERHEAT")
    for _ in range(120):
        fleet.tick(5.0)
    data = await (await pyasic.get_miner(miners.ips[1])).get_data()
    assert any("temperature" in e.error_message for e in data.errors)
    assert max(b.chip_temp or 0 for b in data.hashboards) > 95


async def test_stop_and_resume_mining_through_pyasic(miners: RunningMiners) -> None:
    fleet = miners.fleet
    miner = await pyasic.get_miner(miners.ips[0])
    assert await miner.stop_mining()
    assert fleet.mode[0] == Mode.SLEEPING
    fleet.tick(2.0)
    data = await miner.get_data()
    assert data.is_mining is False and float(data.hashrate) == 0.0
    assert await miner.resume_mining()
    assert fleet.mode[0] == Mode.MINING and fleet.ramp[0] == 0.0
    assert fleet.pools(0)[0][0] == "stratum+tcp://pool.example.invalid:3333"  # config survived the round trip


async def test_fault_light_through_pyasic(miners: RunningMiners) -> None:
    miner = await pyasic.get_miner(miners.ips[0])
    assert await miner.fault_light_on() is True
    assert miners.fleet.fault_light[0]
    assert await miner.fault_light_off() is False
    assert not miners.fleet.fault_light[0]


async def test_luxos_unit_is_identified_and_reports_wattage(miners: RunningMiners) -> None:
    fleet = miners.fleet
    miner = await pyasic.get_miner(miners.ips[2])
    assert isinstance(miner, LUXMinerS21)
    assert miner.firmware == MinerFirmware.LUXOS
    data = await miner.get_data()
    assert data.wattage == round(fleet.power_w[2])
    assert data.wattage_limit == 3500
    assert float(data.hashrate) == pytest.approx(fleet.hashrate_ths[2], rel=0.05)
    assert [fan.speed for fan in data.fans] == [round(r) for r in fleet.fan_rpm[2]]
    assert all(board.chips == 108 and board.temp and board.chip_temp for board in data.hashboards)
    assert data.fw_ver and data.pools[0].alive


async def test_luxos_power_limit_and_curtailment_through_pyasic(miners: RunningMiners) -> None:
    fleet = miners.fleet
    miner = await pyasic.get_miner(miners.ips[2])
    # pyasic picks the highest LuxOS profile at or under the limit.
    expected = max(p["Watts"] for p in luxos_profiles(3500) if p["Watts"] <= 3000)
    assert await miner.set_power_limit(3000)
    assert fleet.power_target_w[2] == expected
    for _ in range(60):
        fleet.tick(1.0)
    data = await miner.get_data()
    assert data.wattage_limit == expected
    assert data.wattage == pytest.approx(expected, rel=0.02)

    assert await miner.stop_mining()
    assert fleet.mode[2] == Mode.SLEEPING
    assert await miner.resume_mining()
    assert fleet.mode[2] == Mode.MINING


async def test_offline_unit_is_unreadable_without_raising(miners: RunningMiners) -> None:
    fleet = miners.fleet
    miner = await pyasic.get_miner(miners.ips[1])
    fleet.inject_fault(1, "OFFLINE")
    assert await pyasic.get_miner(miners.ips[1]) is None
    data = await miner.get_data()
    assert data.hashrate is None and data.mac is None
    assert isinstance(await pyasic.get_miner(miners.ips[0]), BMMinerS21)  # its neighbours carry on
    fleet.clear_fault(1, "OFFLINE")
    await miners.settle()
    assert isinstance(await pyasic.get_miner(miners.ips[1]), BMMinerS21)
