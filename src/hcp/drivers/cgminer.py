"""ASICs over the CGMiner/BMMiner API (TCP 4028) and their web UI, through pyasic.

pyasic is the field's own client: it tells stock Antminer firmware from LuxOS, Braiins and the
rest, and reads each in its own dialect. This driver adds what a fleet poller needs around it:
every call bounded by a timeout (pyasic's RPC has no connect timeout of its own), one cached
pyasic object per miner, a cheap reading every poll and the web API's details (board
temperatures, errors, work mode) at a slower cadence on firmware where they cost HTTP digest
round trips, and workarounds for pyasic 0.79's quirks, each noted where it is applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import warnings
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from hcp.drivers.base import (
    Capability,
    CommandFailed,
    Driver,
    Reading,
    UnitIdentity,
    UnitRef,
    UnitUnreachable,
    Unsupported,
)

T = TypeVar("T")

RPC_PORT = 4028
WEB_PORT = 80

# Nameplate power (W) of models whose stock firmware reports no wattage.
NOMINAL_POWER_W: dict[str, float] = {
    "S21": 3500.0, "S21 Pro": 3510.0, "S21 XP": 3645.0, "T21": 3610.0,
    "S19": 3250.0, "S19 Pro": 3250.0, "S19j Pro": 3068.0, "S19 XP": 3010.0, "S19k Pro": 2760.0,
}
MAKES = {"AntMiner": "Antminer", "WhatsMiner": "Whatsminer", "AvalonMiner": "Avalonminer"}


@cache
def pyasic_modules() -> dict[str, Any]:
    """pyasic, imported on first use: its models still use pydantic's class-based config, and the
    SSH client it imports (asyncssh) names DSA keys, which cryptography 51 deprecates; both warn
    once at import, and neither warning is ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="DSA is deprecated")
        import pyasic
        from pyasic.miners.data import DataOptions
        from pyasic.web.antminer import AntminerModernWebAPI

    class PortAwareAntminerWebAPI(AntminerModernWebAPI):  # type: ignore[misc]
        """pyasic 0.79's multicommand builds `http://ip/...` and drops `self.port`: a miner whose
        web UI is not on port 80 (a simulated one without root) would be read from the wrong port."""

        async def _handle_multicommand(self, client: Any, command: str) -> dict[str, Any]:
            import httpx

            try:
                ret = await client.get(f"http://{self.ip}:{self.port}/cgi-bin/{command}.cgi",
                                       auth=httpx.DigestAuth(self.username, self.pwd))
            except httpx.HTTPError:
                return {command: {}}
            if ret.status_code == 200:
                with contextlib.suppress(ValueError):
                    return {command: ret.json()}
            return {command: {}}

    d = DataOptions
    return {
        "pyasic": pyasic,
        "PortAwareWeb": PortAwareAntminerWebAPI,
        "ModernWeb": AntminerModernWebAPI,
        "identity": [d.MAC, d.SERIAL_NUMBER, d.HOSTNAME, d.EXPECTED_HASHRATE, d.WATTAGE_LIMIT, d.FW_VERSION],
        # The CGMiner API alone: a few milliseconds of CPU per miner.
        "fast": [d.HASHRATE, d.EXPECTED_HASHRATE, d.WATTAGE, d.WATTAGE_LIMIT, d.FANS, d.UPTIME],
        "detail": [d.HASHRATE, d.EXPECTED_HASHRATE, d.WATTAGE, d.WATTAGE_LIMIT, d.FANS, d.UPTIME,
                   d.HASHBOARDS, d.ERRORS, d.IS_MINING],
    }


@dataclass
class _Miner:
    """One miner as this process knows it: pyasic's object and when its details were last read."""

    handle: Any
    detail_due: float = float("-inf")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _model_name(handle: Any) -> str:
    make = MAKES.get(str(handle.make), str(handle.make or "").strip() or "Unknown")
    return f"{make} {handle.raw_model}".strip() if handle.raw_model else make


def _firmware(handle: Any) -> str:
    value = getattr(handle.firmware, "value", handle.firmware)
    return str(value or "unknown").lower()


def _capabilities(handle: Any) -> Capability:
    caps = Capability.TELEMETRY | Capability.IDENTIFY
    if getattr(handle, "supports_shutdown", False):
        caps |= Capability.MINING
    # Stock firmware offers work modes only; power targets need LuxOS, Braiins OS, VNish, ...
    if _firmware(handle) != "stock":
        caps |= Capability.POWER_TARGET
    return caps


class CgminerDriver(Driver):
    name = "cgminer"

    def __init__(self, *, timeout_s: float = 5.0, detail_interval_s: float = 60.0) -> None:
        self.timeout_s = timeout_s
        self.detail_interval_s = detail_interval_s
        self._miners: dict[str, _Miner] = {}

    # --- plumbing ---------------------------------------------------------------------------
    async def _bounded(self, awaitable: Awaitable[T], what: str, address: str) -> T:
        try:
            return await asyncio.wait_for(awaitable, timeout=self.timeout_s)
        except TimeoutError:
            raise UnitUnreachable(f"{address}: no answer to {what} within {self.timeout_s:g} s") from None
        except OSError as exc:
            raise UnitUnreachable(f"{address}: {what}: {exc}") from None

    def _web_port(self, options: Mapping[str, Any] | None) -> int:
        return int((options or {}).get("web_port") or WEB_PORT)

    async def _handle(self, address: str, options: Mapping[str, Any] | None) -> _Miner:
        cached = self._miners.get(address)
        if cached is not None:
            return cached
        mods = pyasic_modules()
        handle = await self._bounded(mods["pyasic"].get_miner(address), "identification", address)
        if handle is None:
            raise UnitUnreachable(f"{address}: no miner answers on the CGMiner API")
        port = self._web_port(options)
        if port != WEB_PORT and isinstance(handle.web, mods["ModernWeb"]):
            web = mods["PortAwareWeb"](address)
            web.port = port
            handle.web = web
        elif handle.web is not None:
            handle.web.port = port
        miner = _Miner(handle)
        self._miners[address] = miner
        return miner

    def forget(self, unit: UnitRef) -> None:
        self._miners.pop(unit.address, None)

    def capabilities(self, unit: UnitRef) -> Capability:
        miner = self._miners.get(unit.address)
        return _capabilities(miner.handle) if miner is not None else Capability.TELEMETRY

    # --- identify and read ------------------------------------------------------------------
    async def identify(self, address: str, *, options: Mapping[str, Any] | None = None) -> UnitIdentity | None:
        self._miners.pop(address, None)  # identification always asks the unit afresh
        try:
            miner = await self._handle(address, options)
        except UnitUnreachable:
            return None
        handle = miner.handle
        data = await self._bounded(handle.get_data(include=pyasic_modules()["identity"]), "get_data", address)
        mac = data.mac
        if mac is None and handle.rpc is not None and _firmware(handle) == "luxos":
            # pyasic 0.79's LUXMiner._get_mac returns before it parses `config`; read it ourselves.
            with contextlib.suppress(Exception):
                config = await self._bounded(handle.rpc.config(), "config", address)
                mac = config["CONFIG"][0]["MACAddr"]
        expected = float(data.expected_hashrate) if data.expected_hashrate is not None else None
        power = NOMINAL_POWER_W.get(str(handle.raw_model))
        if power is None and data.wattage_limit:
            power = float(data.wattage_limit)
        port = self._web_port(options)
        return UnitIdentity(
            kind="asic", model=_model_name(handle), address=address, driver=self.name,
            mac=mac.upper() if mac else None, serial=data.serial_number, hostname=data.hostname,
            firmware=_firmware(handle), hashrate_ths=expected, power_w=power,
            capabilities=_capabilities(handle), options={"web_port": port} if port != WEB_PORT else {},
        )

    async def read_telemetry(self, unit: UnitRef) -> Reading:
        miner = await self._handle(unit.address, unit.options)
        handle = miner.handle
        now = time.monotonic()
        # Where everything comes over the CGMiner API (LuxOS) details cost nothing extra.
        detail = handle.web is None or now >= miner.detail_due
        mods = pyasic_modules()
        data = await self._bounded(
            handle.get_data(include=mods["detail" if detail else "fast"]), "get_data", unit.address
        )
        if data.raw_hashrate is None and data.uptime is None and not any(b.hashrate for b in data.hashboards):
            # pyasic swallows connection errors and returns an empty reading.
            self._miners.pop(unit.address, None)
            raise UnitUnreachable(f"{unit.address}: the CGMiner API did not answer")
        if detail:
            # Jittered, so that a fleet polled together does not read its web APIs in one burst.
            miner.detail_due = now + self.detail_interval_s * random.uniform(0.5, 1.5)
        return _reading(data, detail=detail)

    # --- commands ---------------------------------------------------------------------------
    async def _command(self, unit: UnitRef, what: str, call: Any) -> Any:
        miner = await self._handle(unit.address, unit.options)
        async with miner.lock:
            rpc = miner.handle.rpc
            if rpc is not None and hasattr(rpc, "session_token"):
                # LuxOS drops a session after 60 s idle; pyasic would reuse the dead token.
                rpc.session_token = None
            result = await self._bounded(call(miner.handle), what, unit.address)
            miner.detail_due = float("-inf")  # the next poll reads the work mode afresh
            return result

    async def start_mining(self, unit: UnitRef) -> None:
        await self._require(unit, Capability.MINING, "start mining")
        if not await self._command(unit, "resume_mining", lambda h: h.resume_mining()):
            raise CommandFailed(f"{unit.id}: the miner refused to resume mining")

    async def stop_mining(self, unit: UnitRef) -> None:
        await self._require(unit, Capability.MINING, "stop mining")
        if not await self._command(unit, "stop_mining", lambda h: h.stop_mining()):
            raise CommandFailed(f"{unit.id}: the miner refused to stop mining")

    async def set_power_target(self, unit: UnitRef, watts: float) -> float:
        await self._require(unit, Capability.POWER_TARGET, "take a power target (stock firmware has work modes only)")
        if not await self._command(unit, "set_power_limit", lambda h: h.set_power_limit(int(watts))):
            raise CommandFailed(f"{unit.id}: the miner has no power profile at or under {watts:g} W")
        handle = self._miners[unit.address].handle
        data = await self._bounded(handle.get_data(include=pyasic_modules()["fast"]), "get_data", unit.address)
        return float(data.wattage_limit) if data.wattage_limit is not None else float(watts)

    async def _require(self, unit: UnitRef, capability: Capability, what: str) -> None:
        miner = await self._handle(unit.address, unit.options)
        if capability not in _capabilities(miner.handle):
            raise Unsupported(f"{unit.id} ({_model_name(miner.handle)}, {_firmware(miner.handle)}) cannot {what}")

    async def close(self) -> None:
        self._miners.clear()


def _reading(data: Any, *, detail: bool) -> Reading:
    metrics: dict[str, float] = {}
    if data.hashrate is not None:
        metrics["hashrate_ths"] = round(float(data.hashrate), 3)
    if data.expected_hashrate is not None:
        metrics["expected_hashrate_ths"] = round(float(data.expected_hashrate), 3)
    if data.wattage is not None:
        metrics["power_w"] = float(data.wattage)
    if data.wattage_limit is not None:
        metrics["power_limit_w"] = float(data.wattage_limit)
    if data.uptime is not None:
        metrics["uptime_s"] = float(data.uptime)
    speeds = [float(f.speed) for f in data.fans if f.speed is not None]
    if speeds:
        metrics["fan_min_rpm"] = min(speeds)
    boards = [b for b in data.hashboards if not b.missing]
    chip = [float(b.chip_temp) for b in boards if b.chip_temp]
    pcb = [float(b.temp) for b in boards if b.temp]
    if chip:
        metrics["temp_c"] = max(chip)
    if pcb:
        metrics["board_temp_c"] = max(pcb)
    if detail and data.hashboards:
        metrics["boards_alive"] = float(sum(1 for b in data.hashboards if b.chips))
    errors: tuple[str, ...] | None = None
    mode: str | None = None
    if detail:
        errors = tuple(str(e.error_message) for e in (data.errors or []) if getattr(e, "error_message", None))
        if data.is_mining is not None:
            mode = "mining" if data.is_mining else "curtailed"
    if mode is None and metrics.get("hashrate_ths", 0.0) > 0:
        mode = "mining"
    return Reading(metrics=metrics, mode=mode, errors=errors)
