"""Discovery: a subnet scanned over TCP, the miners found through pyasic, registered once."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import AsyncIterator

import pytest
from tests.conftest import random_loopback_subnet

from hcp.core.clock import ScaledClock
from hcp.core.db import Database
from hcp.core.errors import InvalidInput
from hcp.drivers.cgminer import CgminerDriver
from hcp.resources import discovery, service
from hcp.sim.asic.device import AsicFleet
from hcp.sim.asic.server import RunningMiners, start_miners

MINERS = 20


@pytest.fixture
async def subnet() -> AsyncIterator[tuple[str, RunningMiners]]:
    """20 simulated miners scattered over a /24 (every 12th address), the rest of it empty."""
    cidr = random_loopback_subnet()
    hosts = list(ipaddress.ip_network(cidr).hosts())
    ips = [str(hosts[i * 12 + 3]) for i in range(MINERS)]
    fleet = AsicFleet(MINERS, seed=11, firmware=["luxos" if i % 5 == 4 else "stock" for i in range(MINERS)])
    running = await start_miners(fleet, ips, web_fallback_port=0)
    yield cidr, running
    await running.close()


def options_for(running: RunningMiners):  # type: ignore[no-untyped-def]
    by_ip = {ip: running.web_ports[i] for i, ip in running.ips.items()}
    return lambda ip: {"web_port": by_ip[ip]} if by_ip.get(ip, 80) != 80 else None


@pytest.mark.parametrize("cidr, message", [
    ("10.0.0.0/8", "larger than /16"), ("10.0.0.0/15", "larger than /16"), ("10.0.0.300/24", "not a network"),
    ("banana", "not a network"), ("fd00::/120", "IPv4"), ("", "not a network"),
])
def test_bad_networks_are_refused_naming_the_field(cidr: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as refused:
        discovery.parse_cidr(cidr)
    assert refused.value.details[0]["field"] == "cidr"


def test_networks_are_normalised() -> None:
    assert str(discovery.parse_cidr(" 10.1.2.3/24 ")) == "10.1.2.0/24"
    assert discovery.hosts_of(discovery.parse_cidr("10.1.2.3/32")) == ["10.1.2.3"]
    assert len(discovery.hosts_of(discovery.parse_cidr("10.1.0.0/16"))) == 65_534


async def test_a_slash_24_with_20_miners_is_discovered_fast_and_once(
    db: Database, subnet: tuple[str, RunningMiners]
) -> None:
    cidr, running = subnet
    driver, clock = CgminerDriver(), ScaledClock(1.0)
    started = time.monotonic()
    result = await discovery.discover(db=db, driver=driver, cidr=cidr, clock=clock, facility_id="tx-south",
                                      rack_id="tx-south-a01", options_for=options_for(running))
    elapsed = time.monotonic() - started
    assert elapsed < 10.0, f"discovery took {elapsed:.1f} s"
    assert (result.scanned, result.responded, result.found, len(result.added)) == (254, 20, 20, 20)
    async with db.session() as session:
        units, total = await service.list_units(session=session, kind="asic")
    assert total == 20 and {u["mac"] for u in units} == {running.fleet.mac(i) for i in range(MINERS)}
    assert all(u["facility_id"] == "tx-south" and u["rack_id"] == "tx-south-a01" for u in units)
    luxos = [u for u in units if u["firmware"] == "luxos"]
    assert len(luxos) == 4 and all("power_target" in u["capabilities"] for u in luxos)

    # The scans again are about registration, not speed: a connect timeout that a loaded CI box
    # cannot miss (one run there saw none of the 20 answer within the default second).
    again = await discovery.discover(db=db, driver=driver, cidr=cidr, clock=clock, connect_timeout_s=5.0,
                                     options_for=options_for(running))
    # A string, so the reasons every host failed are printed whole (a dict's repr is cut short).
    why = f"found {again.found} of {again.responded} that answered; failed: {again.failed}"
    assert (again.added, again.updated, len(again.unchanged)) == ([], [], 20), why
    running.fleet.set_hostname(0, "renamed-0")
    third = await discovery.discover(db=db, driver=driver, cidr=cidr, clock=clock, connect_timeout_s=5.0,
                                     options_for=options_for(running))
    assert len(third.updated) == 1 and len(third.unchanged) == 19, third.to_dict()
    async with db.session() as session:
        assert (await service.list_units(session=session))[1] == 20


async def test_placement_is_checked_before_scanning(db: Database) -> None:
    with pytest.raises(InvalidInput) as wrong:
        await discovery.discover(db=db, driver=CgminerDriver(), cidr="127.0.0.0/16", clock=ScaledClock(1.0),
                                 facility_id="atlantis")
    assert wrong.value.details[0]["field"] == "facility_id"
