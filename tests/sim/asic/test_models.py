"""The demo's miner models: an Antminer S19 XP and a Whatsminer M50S beside the S21s.

Each answers in its own firmware's dialect, pyasic identifies each by model over the network, and
the planner, given their nameplates as discovery reports them, curtails the least efficient first.
"""

from __future__ import annotations

import ipaddress
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest
from pyasic.miners.antminer.bmminer.X19.S19 import BMMinerS19XP
from pyasic.miners.whatsminer.btminer.M5X.M50S import BTMinerM50SVH30
from tests.conftest import free_port, random_loopback_subnet

from hcp.core.clock import ScaledClock
from hcp.core.settings import Settings
from hcp.drivers.base import UnitIdentity
from hcp.drivers.cgminer import CgminerDriver
from hcp.economics.planner import FacilityState, Hysteresis, Prices, UnitState, decide
from hcp.resources.discovery import DiscoveryResult, scan
from hcp.sim.asic.btminer import md5_crypt
from hcp.sim.asic.device import MODELS, AsicFleet, Firmware, Mode
from hcp.sim.asic.server import RunningMiners
from hcp.sim.hybrid import HybridSimulator
from hcp.sim.site import FACILITIES

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from passlib.handlers.md5_crypt import md5_crypt as passlib_md5_crypt

T0 = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
PRICES = Prices(btc_usd=65_000, network_difficulty=8.3e13, fees_btc_per_block=0.04,
                gpu_spot_usd_per_hour={}, ts=T0)


@pytest.mark.parametrize(("password", "salt"), [("admin", "BQ5hoXV9"), ("", "abc"), ("x" * 40, "./Zz09")])
def test_md5_crypt_is_the_one_pyasic_signs_tokens_with(password: str, salt: str) -> None:
    assert md5_crypt(password, salt) == passlib_md5_crypt.using(salt=salt).hash(password)


def test_each_model_mines_at_its_nameplate_and_the_s21_is_the_most_efficient() -> None:
    fleet = AsicFleet(3, seed=7, models=["S21", "S19 XP", "M50S"])
    for _ in range(400):
        fleet.tick(1.0)
    assert fleet.firmware.tolist() == [Firmware.STOCK, Firmware.STOCK, Firmware.BTMINER]
    for i, key in enumerate(["S21", "S19 XP", "M50S"]):
        model = MODELS[key]
        assert fleet.hashrate_ths[i] == pytest.approx(model.hashrate_ths, rel=0.03)
        assert fleet.power_w[i] == pytest.approx(model.power_w, rel=0.01)
    j_per_th = fleet.power_w / fleet.hashrate_ths
    assert j_per_th[0] < j_per_th[1] < j_per_th[2]
    assert j_per_th[1] == pytest.approx(21.3, abs=0.5) and j_per_th[2] == pytest.approx(26.0, abs=0.7)


@pytest.fixture
async def three_models() -> Any:
    sim = HybridSimulator(clock=ScaledClock(1.0), facilities=[("tx-north", "HB_NORTH")], gpus=0, asics=1,
                          asic_models={"S19 XP": 1, "M50S": 1}, asic_subnet=random_loopback_subnet(),
                          asic_web_port=free_port())
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


async def discover(sim: HybridSimulator) -> dict[str, UnitIdentity]:
    assert sim.miners is not None
    web_ports = {sim.asic_addresses[i]: port for i, port in sim.miners.web_ports.items()}
    network = ipaddress.ip_network(sim.asic_addresses[0] + "/29", strict=False)
    assert isinstance(network, ipaddress.IPv4Network)
    driver = CgminerDriver(timeout_s=5.0)
    found = await scan(network=network, driver=driver, concurrency=16, connect_timeout_s=1.0,
                       identify_timeout_s=10.0, options_for=lambda a: {"web_port": web_ports[a]},
                       result=DiscoveryResult(cidr=str(network)))
    await driver.close()
    return {i.address: i for i in found}


async def test_discovery_identifies_each_model_and_the_planner_curtails_the_least_efficient_first(
    three_models: HybridSimulator
) -> None:
    sim = three_models
    found = await discover(sim)
    s21, s19xp, m50s = (found[a] for a in sim.asic_addresses)
    assert (s21.model, s19xp.model, m50s.model) == ("Antminer S21", "Antminer S19 XP", "Whatsminer M50S VH30")
    assert (s21.hashrate_ths, s19xp.hashrate_ths, m50s.hashrate_ths) == (200.0, 141.0, 126.0)
    assert (s21.power_w, s19xp.power_w, m50s.power_w) == (3500.0, 3010.0, 3276.0)
    assert sim.asic is not None and m50s.mac == sim.asic.mac(2)
    assert m50s.hostname == "m50s-00002" and m50s.firmware == "stock"

    # The plan, from the nameplates discovery reported: a cap 2.8 kW under the three's draw.
    units = [UnitState(f"asic-{n}", "asic", "tx-north", i.model, i.power_w or 0.0, i.hashrate_ths)
             for n, i in enumerate((s21, s19xp, m50s))]
    def plan(cap_kw: float) -> dict[str, str]:
        made = decide(now=T0, prices=PRICES, facilities=[FacilityState("tx-north", "Texas North", cap_kw, "HB_NORTH",
                                                                        30.0)],
                      units=units, workloads=[], events=[], previous=None, last_change={},
                      hysteresis=Hysteresis(min_gain_usd_per_hour=0.0, min_dwell_s=0))
        return {d.unit_id: d.mode for d in made.decisions.values()}

    assert set(plan(20.0).values()) == {"mining"}
    modes = plan(7.0)
    assert modes == {"asic-0": "mining", "asic-1": "mining", "asic-2": "curtailed"}


# pyasic signs btminer tokens with passlib's deprecated `md5_crypt.hash(salt=...)`.
@pytest.mark.filterwarnings("ignore:passing settings to md5_crypt:DeprecationWarning")
async def test_a_whatsminer_obeys_pyasic_through_its_signed_api(three_models: HybridSimulator) -> None:
    import pyasic

    sim = three_models
    assert sim.asic is not None
    stock = await pyasic.get_miner(sim.asic_addresses[1])
    whatsminer = await pyasic.get_miner(sim.asic_addresses[2])
    assert isinstance(stock, BMMinerS19XP)
    # BTMiner picks its API v2 or v3 backend per unit: a class of the same name, built on the fly.
    assert type(whatsminer).__name__ == BTMinerM50SVH30.__name__ and str(whatsminer.raw_model) == "M50S VH30"
    data = await whatsminer.get_data()
    assert float(data.hashrate) == pytest.approx(sim.asic.hashrate_ths[2], rel=0.05)
    assert float(data.expected_hashrate) == 126.0 and data.wattage_limit == 3276
    assert data.wattage == pytest.approx(sim.asic.power_w[2], abs=1.0)
    assert [b.chips for b in data.hashboards] == [156, 156, 156] and data.is_mining is True
    assert data.serial_number == sim.asic.serial_number(2) and data.errors == []

    assert await whatsminer.stop_mining() and sim.asic.mode[2] == Mode.SLEEPING
    sim.asic.tick(2.0)
    data = await whatsminer.get_data()
    assert data.is_mining is False and float(data.hashrate) == 0.0
    assert await whatsminer.resume_mining() and sim.asic.mode[2] == Mode.MINING
    assert await whatsminer.set_power_limit(3000) and sim.asic.power_target_w[2] == 3000.0

    sim.asic.inject_fault(2, "FAN_FAILURE", fan=3)
    data = await whatsminer.get_data()
    assert [e.error_message for e in data.errors] == ["Exhaust fan speed error."]

    # Signed with the wrong password, a write is refused and changes nothing.
    whatsminer.rpc.pwd, whatsminer.rpc.token = "not-the-password", None
    assert not await whatsminer.stop_mining() and sim.asic.mode[2] == Mode.MINING


async def test_the_miner_servers_answer_each_model_in_its_own_dialect(serve: Any) -> None:
    fleet = AsicFleet(2, seed=3, models=["S19 XP", "M50S"])
    running: RunningMiners = await serve(fleet)
    import pyasic

    s19 = await pyasic.get_miner(running.ips[0])
    assert isinstance(s19, BMMinerS19XP)
    data = await s19.get_data()
    assert float(data.expected_hashrate) == pytest.approx(141.0)
    assert [b.chips for b in data.hashboards] == [110, 110, 110]


def test_the_demo_runs_fifty_units_of_four_models_and_explicit_counts_mean_what_they_say() -> None:
    demo = Settings(demo=True)
    sim = HybridSimulator(clock=ScaledClock(1.0), facilities=[(f.id, f.market_node) for f in FACILITIES],
                          gpus=demo.sim.gpus, asics=demo.sim.asics,
                          asic_models=demo.sim.asic_models(demo=demo.demo), asic_subnet=None)
    models = [u.model for u in sim.units.values()]
    assert len(models) >= 50 and demo.sim.asic_count(demo=True) == len(models) - demo.sim.gpus
    assert {m: models.count(m) for m in set(models) if not m.startswith(("H100", "A100"))} == {
        "Antminer S21": 20, "Antminer S19 XP": 14, "Whatsminer M50S": 10}
    for f in FACILITIES:  # every site has some of each model, and power to curtail some
        here = [u for u in sim.units.values() if u.facility_id == f.id and u.kind == "asic"]
        assert {u.model for u in here} == {"Antminer S21", "Antminer S19 XP", "Whatsminer M50S"}
        assert sim.asic is not None
        draw_kw = sum(MODELS[sim.asic.model(u.index).key].power_w for u in here) / 1000
        assert 0 < draw_kw - f.power_cap_kw < sum(
            MODELS["M50S"].power_w for u in here if u.model == "Whatsminer M50S") / 1000

    assert Settings(demo=True, sim={"asics": 20}).sim.asic_count(demo=True) == 20
    assert Settings(demo=False).sim.asic_count(demo=False) == 20
    assert Settings(demo=True, sim={"asic_mix": {"M50S": 3}}).sim.asic_models(demo=True) == {"M50S": 3}
    with pytest.raises(ValueError, match="asic_mix"):
        Settings(sim={"asic_mix": {"S9": 3}})
