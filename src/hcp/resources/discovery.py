"""Discovery: scan a subnet for miners over the CGMiner API and register what answers.

A cheap TCP connect to port 4028 (short timeout, bounded concurrency) weeds out the empty
addresses; pyasic identifies each host that accepts, and every miner found is registered by its
identity (MAC first), so a rescan updates units instead of adding them twice. The scan holds no
database transaction; the registration is one short transaction at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError

from hcp.core.clock import Clock
from hcp.core.db import Database
from hcp.core.errors import InvalidInput
from hcp.drivers.base import Driver, UnitIdentity
from hcp.drivers.cgminer import RPC_PORT
from hcp.resources import service

log = structlog.get_logger(__name__)

MIN_PREFIX = 16  # a /16 is 65,536 addresses: larger scans are split by the caller
REGISTER_ATTEMPTS = 3


def parse_cidr(cidr: str) -> ipaddress.IPv4Network:
    """The network to scan, or `InvalidInput` naming `cidr`."""
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        raise InvalidInput("cidr", f"{cidr!r} is not a network in CIDR notation (e.g. 10.0.1.0/24)") from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise InvalidInput("cidr", "miners speak IPv4: give an IPv4 network")
    if network.prefixlen < MIN_PREFIX:
        raise InvalidInput("cidr", f"/{network.prefixlen} is larger than /{MIN_PREFIX} "
                                   f"({network.num_addresses:,} addresses): scan it in /{MIN_PREFIX} pieces")
    return network


def hosts_of(network: ipaddress.IPv4Network) -> list[str]:
    hosts = [str(h) for h in network.hosts()]
    return hosts or [str(network.network_address)]


@dataclass
class DiscoveryResult:
    cidr: str
    scanned: int = 0
    responded: int = 0
    found: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    duration_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "cidr": self.cidr, "scanned": self.scanned, "responded": self.responded, "found": self.found,
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged, "failed": self.failed,
            "duration_ms": round(self.duration_ms, 1),
        }


async def _port_open(host: str, port: int, timeout_s: float) -> bool:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=timeout_s)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def scan(
    *, network: ipaddress.IPv4Network, driver: Driver, concurrency: int, connect_timeout_s: float,
    identify_timeout_s: float, options_for: Callable[[str], Mapping[str, Any] | None] | None = None,
    result: DiscoveryResult,
) -> list[UnitIdentity]:
    sem = asyncio.Semaphore(concurrency)
    hosts = hosts_of(network)
    result.scanned = len(hosts)

    async def probe(host: str) -> UnitIdentity | None:
        async with sem:
            if not await _port_open(host, RPC_PORT, connect_timeout_s):
                return None
            result.responded += 1
            try:
                options = options_for(host) if options_for else None
                return await asyncio.wait_for(driver.identify(host, options=options), identify_timeout_s)
            except Exception as exc:  # one odd host must not sink the scan
                result.failed.append({"address": host, "error": f"{type(exc).__name__}: {exc}"[:200]})
                return None

    found = await asyncio.gather(*(probe(h) for h in hosts))
    identities = [i for i in found if i is not None]
    result.found = len(identities)
    return identities


async def discover(
    *, db: Database, driver: Driver, cidr: str, clock: Clock, facility_id: str | None = None,
    rack_id: str | None = None, concurrency: int = 256, connect_timeout_s: float = 1.0,
    identify_timeout_s: float = 10.0, facility_for: Callable[[str], str | None] | None = None,
    rack_for: Callable[[str], str | None] | None = None,
    options_for: Callable[[str], Mapping[str, Any] | None] | None = None, requested_by: str | None = None,
) -> DiscoveryResult:
    """Scan `cidr` and register every miner found in `facility_id` / `rack_id` (or where
    `facility_for` / `rack_for` place each address)."""
    network = parse_cidr(cidr)
    started = time.perf_counter()
    result = DiscoveryResult(cidr=str(network))
    # Placement is checked before the scan, so a wrong facility costs no scan.
    async with db.session() as session:
        await service.check_placement(session=session, facility_id=facility_id, rack_id=rack_id)
    identities = await scan(
        network=network, driver=driver, concurrency=concurrency, connect_timeout_s=connect_timeout_s,
        identify_timeout_s=identify_timeout_s, options_for=options_for, result=result,
    )
    for attempt in range(REGISTER_ATTEMPTS):
        outcome: dict[str, list[str]] = {"added": [], "updated": [], "unchanged": []}
        try:
            async with db.transaction() as session:
                for identity in sorted(identities, key=lambda i: ipaddress.IPv4Address(i.address)):
                    where = facility_for(identity.address) if facility_for else None
                    rack = rack_for(identity.address) if rack_for else None
                    unit, what = await service.register_unit(
                        session=session, identity=identity, facility_id=facility_id or where,
                        rack_id=rack_id or rack, at=clock.now(),
                    )
                    outcome[what].append(unit.id)
            break
        except IntegrityError:
            # Two scans registered the same miner at once (PostgreSQL); the retry finds it.
            if attempt + 1 == REGISTER_ATTEMPTS:
                raise
    result.added, result.updated, result.unchanged = outcome["added"], outcome["updated"], outcome["unchanged"]
    result.duration_ms = (time.perf_counter() - started) * 1000
    log.info("discovery done", cidr=result.cidr, scanned=result.scanned, found=result.found,
             added=len(result.added), updated=len(result.updated), requested_by=requested_by,
             ms=round(result.duration_ms))
    return result
