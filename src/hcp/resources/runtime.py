"""What the resource manager runs in a process: its drivers, the health monitor, telemetry
upkeep (rollups and retention), the consumer of pushed readings, and in demo mode the discovery
of the simulated fleet at start. Also the commands an operator (or the orchestrator) sends to a
unit through its driver, with the unit's state kept in step.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select

from hcp.core.bus import Event, Subscription
from hcp.core.component import tasks_health
from hcp.core.errors import Conflict, InvalidInput, NotFound, Unavailable
from hcp.core.platform import Platform
from hcp.core.tasks import cancel_tasks
from hcp.drivers.base import (
    Capability,
    CommandFailed,
    DriverError,
    Drivers,
    Reading,
    UnitIdentity,
    UnitRef,
    UnitUnreachable,
    Unsupported,
)
from hcp.drivers.cgminer import CgminerDriver
from hcp.drivers.nvml import NvmlDriver
from hcp.drivers.sim import SimDriver
from hcp.kernel.enums import UnitKind, UnitMode, UnitStatus
from hcp.resources import discovery, service, telemetry
from hcp.resources.health import HealthMonitor, PollResult
from hcp.resources.models import Rack, Unit
from hcp.sim.components import Simulator
from hcp.sim.hybrid import HybridSimulator

log = structlog.get_logger(__name__)

SIMULATOR_WAIT_S = 60.0
ACTIONS = ("start_mining", "stop_mining", "set_power_target", "load_workload", "unload_workload")
_NEEDS: dict[str, Capability] = {
    "start_mining": Capability.MINING, "stop_mining": Capability.MINING,
    "set_power_target": Capability.POWER_TARGET, "load_workload": Capability.WORKLOADS,
    "unload_workload": Capability.WORKLOADS,
}


class ResourcesRuntime:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.settings = platform.settings.resources
        self.drivers = Drivers([
            CgminerDriver(timeout_s=self.settings.poll_timeout_s,
                          detail_interval_s=self.settings.asic_detail_interval_s),
            SimDriver(lambda: simulator_of(platform)),
            NvmlDriver(),
        ])
        self.monitor = HealthMonitor(db=platform.db, drivers=self.drivers, settings=self.settings,
                                     clock=platform.clock, bus=platform.bus)
        self._tasks: list[asyncio.Task[None]] = []
        self._subscription: Subscription | None = None
        self._push_units: dict[str, float] = {}  # unit id -> when the cache was refreshed
        self._push_refreshed = 0.0
        self.bootstrap: asyncio.Task[discovery.DiscoveryResult | None] | None = None

    name = "resources"

    def health(self) -> str:
        return tasks_health(self._tasks) if self._tasks else "stopped"

    async def start(self) -> None:
        if self.settings.monitor:
            self._tasks.append(asyncio.create_task(self.monitor.run(), name="resources-health"))
        self._tasks.append(asyncio.create_task(self._telemetry_upkeep(), name="resources-telemetry-upkeep"))
        self._subscription = await self.platform.bus.subscribe(
            "unit.telemetry", self._on_telemetry, durable="resources-telemetry", deliver="new"
        )
        s = self.platform.settings
        if s.demo and s.sim.enabled and self.settings.discover_simulator:
            self.bootstrap = asyncio.create_task(self.discover_simulator(), name="resources-demo-discovery")

    async def stop(self) -> None:
        await cancel_tasks([*self._tasks, *([self.bootstrap] if self.bootstrap else [])])
        self._tasks.clear()
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.stop()
        await self.drivers.close()

    # --- demo: the simulated fleet is discovered, not inserted ----------------------------------
    async def discover_simulator(self) -> discovery.DiscoveryResult | None:
        """Find the simulator's miners on its subnet through pyasic, and register its GPUs as their
        agents would. Waits for the simulator, which starts after this domain."""
        if self.platform.settings.server.service not in (None, "simulator"):
            return await self._discover_remote_simulator()
        deadline = time.monotonic() + SIMULATOR_WAIT_S
        sim = simulator_of(self.platform)
        while sim is None:
            if time.monotonic() > deadline:
                log.warning("no simulator in this process: the demo fleet is not discovered")
                return None
            await asyncio.sleep(0.05)
            sim = simulator_of(self.platform)
        by_address = {u.address: u for u in sim.units.values() if u.kind == UnitKind.ASIC and u.address}
        web_ports = sim.miners.web_ports if sim.miners is not None else {}

        def options_for(address: str) -> Mapping[str, Any] | None:
            unit = by_address.get(address)
            return {"web_port": web_ports[unit.index]} if unit is not None and unit.index in web_ports else None

        racks = await self._demo_racks()
        driver = self.drivers.get("cgminer")
        assert driver is not None
        result = await discovery.discover(
            db=self.platform.db, driver=driver, cidr=self.platform.settings.sim.asic_subnet,
            clock=self.platform.clock, concurrency=self.settings.discovery_concurrency,
            connect_timeout_s=self.settings.discovery_connect_timeout_s,
            identify_timeout_s=self.settings.discovery_identify_timeout_s,
            facility_for=lambda a: by_address[a].facility_id if a in by_address else None,
            rack_for=lambda a: racks.get((by_address[a].facility_id, UnitKind.ASIC)) if a in by_address else None,
            options_for=options_for, requested_by="demo",
        )
        sim_driver = self.drivers.get("sim")
        assert isinstance(sim_driver, SimDriver)
        for address in sim_driver.gpu_addresses():
            unit_id = address.removeprefix("sim://")
            await self.register_agent(
                unit_id=unit_id, driver="sim", address=address, facility_id=sim.units[unit_id].facility_id,
                rack_id=racks.get((sim.units[unit_id].facility_id, UnitKind.GPU)),
            )
        log.info("demo fleet discovered", miners=result.found, gpus=len(sim_driver.gpu_addresses()))
        return result

    async def _discover_remote_simulator(self) -> discovery.DiscoveryResult | None:
        """Split mode: the simulator is another process, its miners still answer on their subnet.
        Scan until they all do (the simulator may start after this service). Its GPUs are
        reachable only in its own process, so they are not registered here."""
        driver = self.drivers.get("cgminer")
        assert driver is not None
        deadline = time.monotonic() + SIMULATOR_WAIT_S
        result = None
        while time.monotonic() < deadline:
            result = await discovery.discover(
                db=self.platform.db, driver=driver, cidr=self.platform.settings.sim.asic_subnet,
                clock=self.platform.clock, concurrency=self.settings.discovery_concurrency,
                connect_timeout_s=self.settings.discovery_connect_timeout_s,
                identify_timeout_s=self.settings.discovery_identify_timeout_s, requested_by="demo",
            )
            settings = self.platform.settings
            if result.found >= settings.sim.asic_count(demo=settings.demo):
                break
            await asyncio.sleep(2.0)
        log.info("demo miners discovered over the network", found=result.found if result else 0)
        return result

    async def _demo_racks(self) -> dict[tuple[str, str], str]:
        from hcp.sim.site import RACKS

        async with self.platform.db.session() as session:
            existing = set((await session.execute(select(Rack.id))).scalars())
        return {(r.facility_id, r.kind): r.id for r in RACKS if r.id in existing}

    # --- agents ---------------------------------------------------------------------------------
    async def register_agent(
        self, *, driver: str, address: str, unit_id: str | None = None, facility_id: str | None = None,
        rack_id: str | None = None, push: bool = False, described: UnitIdentity | None = None,
    ) -> tuple[dict[str, Any], str]:
        """A GPU agent announces its unit. A driver this process has identifies the unit itself;
        an agent that pushes its readings (`push`) describes it instead."""
        local = self.drivers.get(driver)
        identity = None
        if local is not None and not push:
            identity = await local.identify(address)
            if identity is None:
                raise InvalidInput("address", f"the {driver} driver finds no unit at {address}")
        elif push and described is not None:
            identity = described
        else:
            raise InvalidInput("push", f"the {driver} driver does not run in this process: "
                                       "register with push=true and describe the unit")
        async with self.platform.db.transaction() as session:
            unit, outcome = await service.register_unit(
                session=session, identity=identity, unit_id=unit_id, facility_id=facility_id, rack_id=rack_id,
                push=push, at=self.platform.clock.now(),
            )
            view = service.unit_view(unit)
        if push:
            self._push_units[unit.id] = time.monotonic()
        return view, outcome

    async def _on_telemetry(self, event: Event) -> None:
        """Readings pushed by agents. The simulator's and this monitor's own events carry units
        that are polled, and are skipped."""
        if event.data.get("source") == "resources":
            return
        rows = event.data.get("units") or []
        await self._refresh_push_units()
        wanted = {r.get("unit_id"): r for r in rows if r.get("unit_id") in self._push_units}
        if not wanted:
            return
        async with self.platform.db.session() as session:
            units = (await session.execute(select(Unit).where(Unit.id.in_(list(wanted))))).scalars().all()
        results = []
        for unit in units:
            row = wanted[unit.id]
            metrics = row.get("metrics")
            if row.get("online") and isinstance(metrics, dict):
                # The monitor keeps what it can store: finite numbers, known modes.
                mode = row.get("mode") if isinstance(row.get("mode"), str) else None
                results.append(PollResult(unit, Reading(metrics=metrics, mode=mode)))
            else:
                results.append(PollResult(unit, None, "agent reports the unit down", 1))
        await self.monitor.apply(results)

    async def _refresh_push_units(self) -> None:
        if time.monotonic() - self._push_refreshed < 5.0:
            return
        async with self.platform.db.session() as session:
            rows = (await session.execute(select(Unit.id, Unit.driver_options))).all()
        now = time.monotonic()
        self._push_units = {uid: now for uid, options in rows if (options or {}).get("push")}
        self._push_refreshed = now

    # --- telemetry upkeep -----------------------------------------------------------------------
    async def _telemetry_upkeep(self) -> None:
        while True:
            await asyncio.sleep(self.settings.telemetry_maintenance_s)
            try:
                await self.upkeep_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("telemetry upkeep failed", exc_info=True)

    async def upkeep_once(self) -> None:
        now = self.platform.clock.now()
        now_ms = telemetry.to_ms(now)
        async with self.platform.db.transaction() as session:
            since = await telemetry.rollup_watermark(session=session)
            if since is not None:
                await telemetry.roll_up(session=session, since_ms=since, until_ms=now_ms)
            await telemetry.prune(
                session=session,
                samples_before_ms=telemetry.to_ms(now - timedelta(hours=self.settings.telemetry_retention_h)),
                rollups_before_ms=telemetry.to_ms(now - timedelta(days=self.settings.rollup_retention_days)),
            )

    def raw_since_ms(self) -> int:
        """Raw samples are kept from here on (older ranges come from the rollups)."""
        return telemetry.to_ms(self.platform.clock.now() - timedelta(hours=self.settings.telemetry_retention_h))

    async def observe(self, unit_ids: Sequence[str]) -> dict[str, Reading | None]:
        """What each unit's driver reports right now (its mode and loaded workload); None for a
        unit whose driver does not run in this process or that does not answer."""
        async with self.platform.db.session() as session:
            units = (await session.execute(select(Unit).where(Unit.id.in_(list(unit_ids))))).scalars().all()
        sem = asyncio.Semaphore(self.settings.poll_concurrency)

        async def read(unit: Unit) -> Reading | None:
            driver = self.drivers.get(unit.driver)
            if driver is None or unit.address is None:
                return None
            ref = UnitRef(id=unit.id, address=unit.address, options=dict(unit.driver_options or {}))
            try:
                async with sem:
                    return await asyncio.wait_for(driver.read_telemetry(ref), self.settings.poll_timeout_s)
            except (DriverError, TimeoutError):
                return None

        readings = await asyncio.gather(*(read(u) for u in units))
        out: dict[str, Reading | None] = dict.fromkeys(unit_ids)
        out.update({u.id: r for u, r in zip(units, readings, strict=True)})
        return out

    # --- commands -------------------------------------------------------------------------------
    async def command(
        self, *, unit_id: str, action: str, power_target_w: float | None = None, workload_id: str | None = None,
        workload_type: str | None = None,
    ) -> dict[str, Any]:
        """Carry out `action` on a unit through its driver and record what it changed."""
        if action not in ACTIONS:
            raise InvalidInput("action", f"one of {', '.join(ACTIONS)}")
        db, clock = self.platform.db, self.platform.clock
        async with db.session() as session:
            unit = await session.get(Unit, unit_id)
        if unit is None:
            raise NotFound(f"no unit {unit_id}")
        if unit.status == UnitStatus.OFFLINE or unit.address is None:
            raise Conflict(f"{unit_id} is offline", code="unit_offline")
        if _NEEDS[action].names()[0] not in (unit.capabilities or []):
            raise Conflict(f"{unit_id} ({unit.model}, {unit.firmware}) cannot {action.replace('_', ' ')}",
                           code="unsupported")
        if action == "set_power_target" and power_target_w is None:
            raise InvalidInput("power_target_w", "required for set_power_target")
        if action == "load_workload" and not workload_id:
            raise InvalidInput("workload_id", "required for load_workload")
        driver = self.drivers.get(unit.driver)
        if driver is None:
            raise Unavailable(f"the {unit.driver} driver does not run in this process")
        ref = UnitRef(id=unit.id, address=unit.address, options=dict(unit.driver_options or {}))
        switching = action in ("load_workload", "unload_workload")
        if switching:
            await self._set_state(unit_id, status=UnitStatus.SWITCHING)
        result: dict[str, Any] = {"action": action}
        try:
            if action == "start_mining":
                await driver.start_mining(ref)
            elif action == "stop_mining":
                await driver.stop_mining(ref)
            elif action == "set_power_target":
                assert power_target_w is not None
                result["power_target_w"] = await driver.set_power_target(ref, power_target_w)
            elif action == "load_workload":
                assert workload_id is not None
                result["latency_ms"] = await driver.load_workload(ref, workload_id, workload_type=workload_type)
            else:
                result["latency_ms"] = await driver.unload_workload(ref)
            if switching:
                result["phases"] = driver.switch_phases(ref)
        except UnitUnreachable as exc:
            if switching:
                await self._set_state(unit_id, status=unit.status)
            raise Unavailable(f"{unit_id} did not answer: {exc}") from None
        except (CommandFailed, Unsupported) as exc:
            if switching:
                await self._set_state(unit_id, status=unit.status)
            raise Conflict(str(exc), code="command_failed") from None
        mode = {"start_mining": UnitMode.MINING, "stop_mining": UnitMode.CURTAILED, "load_workload": UnitMode.WORKLOAD,
                "unload_workload": UnitMode.IDLE}.get(action)
        changes: dict[str, Any] = {}
        if switching:
            changes["status"] = UnitStatus.ONLINE
            changes["workload_id"] = workload_id if action == "load_workload" else None
        if mode is not None:
            changes["mode"] = mode
        view = await self._set_state(unit_id, **changes) if changes else None
        if view is None:
            async with db.session() as session:
                view = await service.get_unit_view(session=session, unit_id=unit_id)
        log.info("unit command", unit_id=unit_id, at=clock.now().isoformat(), **result)
        return {"unit": view, "result": result}

    async def _set_state(self, unit_id: str, **changes: Any) -> dict[str, Any]:
        async with self.platform.db.transaction() as session:
            unit = await service.get_unit(session=session, unit_id=unit_id)
            previous = service.state_of(unit)
            for name, value in changes.items():
                if name == "status" and unit.status == UnitStatus.MAINTENANCE:
                    continue
                setattr(unit, name, value)
            await session.flush()
            if service.state_of(unit) != previous:
                service.publish_state(session, unit, previous=previous, at=self.platform.clock.now())
            return await service.get_unit_view(session=session, unit_id=unit_id)


def runtime_of(platform: Platform) -> ResourcesRuntime:
    return platform.components.require(ResourcesRuntime)


def simulator_of(platform: Platform) -> HybridSimulator | None:
    """The digital twin running in this process, if one does (it starts after this domain)."""
    component = platform.components.get(Simulator)
    return None if component is None else component.sim
