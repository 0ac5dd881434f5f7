"""The sim driver over the hybrid simulator's GPUs (no network: the miners are not served)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hcp.core.bus import MemoryBus
from hcp.core.clock import ScaledClock
from hcp.drivers.base import Capability, CommandFailed, UnitRef, UnitUnreachable, Unsupported
from hcp.drivers.sim import SimDriver, address_of
from hcp.sim.hybrid import HybridSimulator


@pytest.fixture
async def sim() -> AsyncIterator[HybridSimulator]:
    simulator = HybridSimulator(clock=ScaledClock(50.0), facilities=[("tx-north", "HB_NORTH")], gpus=3, asics=2,
                                asic_subnet=None)
    bus = MemoryBus()
    await bus.connect()
    await simulator.start(bus=bus, serve_miners=False)
    yield simulator
    await simulator.stop()
    await bus.close()


def gpu(uid: str) -> UnitRef:
    return UnitRef(id=uid, address=address_of(uid))


async def test_identifies_simulated_gpus_only(sim: HybridSimulator) -> None:
    driver = SimDriver(lambda: sim)
    assert driver.gpu_addresses() == ["sim://gpu-001", "sim://gpu-002", "sim://gpu-003"]
    found = await driver.identify("sim://gpu-001")
    assert found is not None
    assert (found.kind, found.model, found.memory_mib, found.power_w) == ("gpu", "H100", 81559, 700.0)
    assert Capability.WORKLOADS in found.capabilities and found.key == "serial:sim:SIM-gpu-001"
    assert await driver.identify("sim://asic-001") is None
    assert await driver.identify("sim://nope") is None
    assert await driver.identify("10.0.0.1") is None


async def test_reads_dcgm_fields_as_platform_metrics(sim: HybridSimulator) -> None:
    reading = await SimDriver(lambda: sim).read_telemetry(gpu("gpu-002"))
    assert reading.mode == "idle" and not reading.switching and reading.errors == ()
    assert 50 < reading.metrics["power_w"] < 100 and reading.metrics["power_limit_w"] == 700
    assert reading.metrics["mem_free_mib"] == 81559 and reading.metrics["xid"] == 0
    with pytest.raises(Unsupported):
        await SimDriver(lambda: sim).read_telemetry(UnitRef(id="a", address="sim://asic-001"))


async def test_workloads_switch_through_the_simulator(sim: HybridSimulator) -> None:
    driver = SimDriver(lambda: sim)
    latency = await driver.load_workload(gpu("gpu-001"), "llama-70b", workload_type="ai_inference")
    assert 350 <= latency <= 480
    reading = await driver.read_telemetry(gpu("gpu-001"))
    assert reading.mode == "workload" and reading.workload_id == "llama-70b"
    assert sim.switching_stats()["count"] == 1  # one record of every switch, in the twin
    await driver.unload_workload(gpu("gpu-001"))
    assert (await driver.read_telemetry(gpu("gpu-001"))).mode == "idle"


async def test_power_targets_and_faults(sim: HybridSimulator) -> None:
    driver = SimDriver(lambda: sim)
    assert await driver.set_power_target(gpu("gpu-003"), 300) == 300  # an A100
    with pytest.raises(CommandFailed, match="within"):
        await driver.set_power_target(gpu("gpu-003"), 5000)
    sim.inject_fault("gpu-002", "xid_error")
    reading = await driver.read_telemetry(gpu("gpu-002"))
    assert reading.metrics["xid"] == 48 and reading.errors == ("xid_error",)
    with pytest.raises(CommandFailed):
        await driver.load_workload(gpu("gpu-002"), "train-job")
    sim.inject_fault("gpu-001", "fallen_off_bus")
    with pytest.raises(UnitUnreachable, match="off the bus"):
        await driver.read_telemetry(gpu("gpu-001"))


async def test_no_simulator_in_the_process() -> None:
    driver = SimDriver(lambda: None)
    assert driver.gpu_addresses() == []
    with pytest.raises(UnitUnreachable, match="not running"):
        await driver.read_telemetry(gpu("gpu-001"))
