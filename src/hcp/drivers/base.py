"""What the platform can ask of any unit, whatever speaks to it: the driver interface.

A driver serves many units of one protocol (CGMiner API, NVML, the in-process simulator). It is
addressed with a `UnitRef` (where the unit is and how to reach it) and answers with plain values:
`UnitIdentity` when it finds a unit, `Reading` when it reads one. What a unit cannot do raises
`Unsupported`; a unit that does not answer raises `UnitUnreachable`; a command the unit refused
raises `CommandFailed`. Capabilities are flags, so callers can ask before they try.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar


class Capability(enum.Flag):
    TELEMETRY = enum.auto()
    MINING = enum.auto()  # start and stop mining (curtail)
    POWER_TARGET = enum.auto()
    WORKLOADS = enum.auto()  # load and unload AI workloads
    IDENTIFY = enum.auto()

    @classmethod
    def from_names(cls, names: list[str] | tuple[str, ...]) -> Capability:
        flags = cls(0)
        for name in names:
            flags |= cls[name.upper()]
        return flags

    def names(self) -> list[str]:
        return [c.name.lower() for c in Capability if c in self and c.name is not None]


class DriverError(Exception):
    """Base of everything a driver raises on purpose."""


class UnitUnreachable(DriverError):
    """The unit did not answer (connection refused, timeout, off the bus, no driver library)."""


class Unsupported(DriverError):
    """The unit (or its firmware, or this driver) cannot do what was asked."""


class CommandFailed(DriverError):
    """The unit answered but refused or failed the command."""


@dataclass(frozen=True)
class UnitRef:
    """How to reach one unit: its id, its address in the driver's terms, and driver options
    (a miner's web port when it is not 80, ...)."""

    id: str
    address: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UnitIdentity:
    """What a driver learns about a unit it finds: enough to register it once and only once."""

    kind: str  # "asic" | "gpu"
    model: str
    address: str
    driver: str
    mac: str | None = None
    serial: str | None = None
    hostname: str | None = None
    firmware: str | None = None
    hashrate_ths: float | None = None  # nominal
    memory_mib: int | None = None
    power_w: float | None = None  # nominal
    capabilities: Capability = Capability.TELEMETRY
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The stable identity a rescan finds again: the MAC, else the serial, else the address."""
        if self.mac:
            return f"mac:{self.mac.upper()}"
        if self.serial:
            return f"serial:{self.driver}:{self.serial}"
        return f"address:{self.driver}:{self.address}"


@dataclass(frozen=True)
class Reading:
    """One poll of one unit. Metric names carry their unit (`hashrate_ths`, `power_w`, `temp_c`:
    the hottest die, chip or GPU); `mode` is what the unit does, when the driver can tell."""

    metrics: Mapping[str, float]
    mode: str | None = None  # mining | curtailed | workload | idle
    switching: bool = False
    # What the unit reports as wrong; None when this reading did not ask (not the same as "none").
    errors: tuple[str, ...] | None = None
    workload_id: str | None = None


class Driver(ABC):
    """One protocol to many units. Every method may raise `UnitUnreachable`."""

    name: ClassVar[str]

    @abstractmethod
    def capabilities(self, unit: UnitRef) -> Capability:
        """What this unit can do through this driver, as far as the driver knows now."""

    @abstractmethod
    async def identify(self, address: str, *, options: Mapping[str, Any] | None = None) -> UnitIdentity | None:
        """The unit at `address`, or None when nothing this driver understands answers there."""

    @abstractmethod
    async def read_telemetry(self, unit: UnitRef) -> Reading: ...

    def _unsupported(self, unit: UnitRef, what: str) -> Unsupported:
        return Unsupported(f"{unit.id} ({self.name}) cannot {what}")

    async def start_mining(self, unit: UnitRef) -> None:
        raise self._unsupported(unit, "mine")

    async def stop_mining(self, unit: UnitRef) -> None:
        raise self._unsupported(unit, "stop mining")

    async def set_power_target(self, unit: UnitRef, watts: float) -> float:
        """Apply a power target; returns the target the unit actually took (firmware may round)."""
        raise self._unsupported(unit, "take a power target")

    async def load_workload(self, unit: UnitRef, workload_id: str, *, workload_type: str | None = None) -> float:
        """Load a workload; returns the switch latency in milliseconds."""
        raise self._unsupported(unit, "run workloads")

    async def unload_workload(self, unit: UnitRef) -> float:
        raise self._unsupported(unit, "run workloads")

    def switch_phases(self, unit: UnitRef) -> dict[str, float] | None:
        """The phases (ms) of the unit's latest switch, where the driver can tell them."""
        return None

    async def close(self) -> None:  # noqa: B027 - most drivers hold nothing
        """Release what the driver holds (connections, library handles)."""

    def forget(self, unit: UnitRef) -> None:  # noqa: B027 - most drivers cache nothing
        """Drop what the driver caches about a unit (it moved, or was re-registered)."""


class Drivers:
    """The drivers of one process, by name."""

    def __init__(self, drivers: list[Driver] | None = None) -> None:
        self._by_name: dict[str, Driver] = {}
        for driver in drivers or []:
            self.add(driver)

    def add(self, driver: Driver) -> None:
        self._by_name[driver.name] = driver

    def get(self, name: str) -> Driver | None:
        return self._by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        return sorted(self._by_name)

    async def close(self) -> None:
        for driver in self._by_name.values():
            await driver.close()
