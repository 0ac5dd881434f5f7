"""The health monitor: polls every unit through its driver, judges its health, records telemetry.

One round reads every unit concurrently (bounded), then writes the whole round in one
transaction: each unit's state and latest reading (one executemany), the raw samples (one
batch), and a `unit.state` event through the outbox for each unit whose status, health, mode
or reasons changed, and only those. A unit that stops answering is retried once at once, so it
is marked offline within one poll interval; a unit under maintenance keeps that status whatever
the poll says. Units whose agents push readings (`unit.telemetry`) are judged the same way, and
go offline when their readings stop.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import JSON, String, Table, bindparam, case, select, update

from hcp.core.bus import Bus
from hcp.core.clock import Clock
from hcp.core.db import Database, UTCDateTime
from hcp.core.leadership import Leadership
from hcp.core.outbox import add_event
from hcp.core.settings import ResourcesSettings
from hcp.drivers.base import DriverError, Drivers, Reading, UnitRef
from hcp.kernel.enums import Health, UnitKind, UnitMode, UnitStatus
from hcp.kernel.events import UnitState, UnitTelemetry
from hcp.resources import service, telemetry
from hcp.resources.models import MODES, Unit

log = structlog.get_logger(__name__)

MONITOR_LOCK_KEY = 0x4843_5001  # one poller per fleet when several replicas run
TELEMETRY_EVENT_BATCH = 1000
NOT_ANSWERING = "not answering"
METRIC_NAME_MAX = 48


@dataclass
class PollResult:
    unit: Unit
    reading: Reading | None
    error: str | None = None
    failed_attempts: int = 0


@dataclass(frozen=True)
class RoundSummary:
    polled: int
    answered: int
    changed: int
    samples: int
    duration_s: float


def assess(
    *, kind: str, metrics: dict[str, Any], errors: Sequence[str], mode: str, nominal_hashrate_ths: float | None,
    settings: ResourcesSettings, ramping: bool = False,
) -> tuple[Health, list[str]]:
    """Health and its reasons from a unit's latest metrics. Reasons name the threshold crossed,
    not the live value, so that they change only when the verdict does."""
    critical: list[str] = []
    warning: list[str] = []
    temp = metrics.get("temp_c")
    hot_warn, hot_crit = ((settings.asic_temp_warning_c, settings.asic_temp_critical_c) if kind == UnitKind.ASIC
                          else (settings.gpu_temp_warning_c, settings.gpu_temp_critical_c))
    if temp is not None:
        if temp >= hot_crit:
            critical.append(f"temperature at or above {hot_crit:g} °C")
        elif temp >= hot_warn:
            warning.append(f"temperature at or above {hot_warn:g} °C")
    if kind == UnitKind.ASIC and mode == UnitMode.MINING:
        expected = metrics.get("expected_hashrate_ths") or nominal_hashrate_ths
        hashrate = metrics.get("hashrate_ths")
        if expected and hashrate is not None and not ramping:
            ratio = hashrate / expected
            if ratio < settings.hashrate_critical_ratio:
                critical.append(f"hashrate below {settings.hashrate_critical_ratio:.0%} of expected")
            elif ratio < settings.hashrate_warning_ratio:
                warning.append(f"hashrate below {settings.hashrate_warning_ratio:.0%} of expected")
        fan = metrics.get("fan_min_rpm")
        if fan is not None and fan < settings.fan_min_rpm:
            warning.append(f"a fan below {settings.fan_min_rpm:g} rpm")
    if kind == UnitKind.GPU and metrics.get("xid"):
        critical.append(f"XID error {int(metrics['xid'])}")
    warning.extend(f"reports: {e}" for e in errors[:5])
    if critical:
        return Health.CRITICAL, critical + warning
    if warning:
        return Health.WARNING, warning
    return Health.OK, []


_t: Table = Unit.__table__  # type: ignore[assignment]
_WRITE_ROUND = (
    update(_t)
    .where(_t.c.id == bindparam("u_id"))
    .values(
        # An operator's maintenance flag outranks what a poll says, even one that raced it.
        status=case((_t.c.status == UnitStatus.MAINTENANCE.value, _t.c.status),
                    else_=bindparam("u_status", type_=String())),
        health=bindparam("u_health"), health_reasons=bindparam("u_reasons", type_=JSON()),
        mode=bindparam("u_mode"), reading=bindparam("u_reading", type_=JSON()),
        reading_at=bindparam("u_reading_at", type_=UTCDateTime()),
        last_seen_at=bindparam("u_last_seen_at", type_=UTCDateTime()),
        missed_polls=bindparam("u_missed"), workload_id=bindparam("u_workload_id", type_=String()),
        updated_at=bindparam("u_updated_at", type_=UTCDateTime()),
    )
)


def _clean(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Finite numbers under names the store takes: what a driver or an agent sends otherwise is
    dropped, not allowed to fail the round (JSON has no NaN; metric names are at most 48 chars)."""
    out: dict[str, float] = {}
    for name, value in metrics.items():
        if not isinstance(name, str) or not 0 < len(name) <= METRIC_NAME_MAX or isinstance(value, bool):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out[name] = number
    return out


class HealthMonitor:
    def __init__(
        self, *, db: Database, drivers: Drivers, settings: ResourcesSettings, clock: Clock, bus: Bus | None = None
    ) -> None:
        self.db, self.drivers, self.settings, self.clock, self.bus = db, drivers, settings, clock, bus
        self.leadership = Leadership(db, MONITOR_LOCK_KEY)
        self._sem = asyncio.Semaphore(settings.poll_concurrency)
        self._ramp_until: dict[str, float] = {}
        # One round at a time: two rounds judging the same snapshot would publish a change twice.
        self._round = asyncio.Lock()
        self.rounds = 0
        self.last_round: RoundSummary | None = None

    async def run(self) -> None:
        try:
            while True:
                started = time.monotonic()
                try:
                    if await self.leadership.hold():
                        self.last_round = await self.poll_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("health poll round failed")
                await asyncio.sleep(max(0.0, self.settings.poll_interval_s - (time.monotonic() - started)))
        finally:
            await self.leadership.release()

    # --- one round ------------------------------------------------------------------------------
    async def poll_once(self) -> RoundSummary:
        async with self._round:
            return await self._poll_round()

    async def _poll_round(self) -> RoundSummary:
        started = time.monotonic()
        async with self.db.session() as session:
            units = (await session.execute(select(Unit).where(Unit.address.is_not(None)))).scalars().all()
        polled = [u for u in units if u.driver in self.drivers and not (u.driver_options or {}).get("push")]
        results = list(await asyncio.gather(*(self._poll(u) for u in polled)))
        results.extend(self._stale_push_units([u for u in units if (u.driver_options or {}).get("push")]))
        changed, samples = await self.apply(results)
        self.rounds += 1
        return RoundSummary(polled=len(results), answered=sum(r.reading is not None for r in results),
                            changed=changed, samples=samples, duration_s=time.monotonic() - started)

    async def _poll(self, unit: Unit) -> PollResult:
        driver = self.drivers.get(unit.driver)
        assert driver is not None and unit.address is not None
        ref = UnitRef(id=unit.id, address=unit.address, options=dict(unit.driver_options or {}))
        tries = 1
        if unit.status != UnitStatus.OFFLINE and unit.missed_polls + 1 < self.settings.offline_after_missed_polls:
            tries = 2  # confirm a failure before counting it twice
        error = None
        for attempt in range(tries):
            try:
                async with self._sem:
                    reading = await asyncio.wait_for(driver.read_telemetry(ref), self.settings.poll_timeout_s)
                return PollResult(unit, reading, None, attempt)
            except TimeoutError:
                error = f"no answer within {self.settings.poll_timeout_s:g} s"
            except DriverError as exc:
                error = str(exc)
            except Exception as exc:  # a driver bug must not stop the round for everyone else
                log.warning("poll failed", unit_id=unit.id, exc_info=True)
                error = f"{type(exc).__name__}: {exc}"
            if attempt + 1 < tries:
                await asyncio.sleep(self.settings.confirm_retry_s)
        return PollResult(unit, None, error, tries)

    def _stale_push_units(self, units: Sequence[Unit]) -> list[PollResult]:
        now = self.clock.now()
        window = timedelta(seconds=self.settings.poll_interval_s * max(self.clock.speed, 1.0))
        return [PollResult(u, None, "no readings pushed", 1) for u in units
                if u.status != UnitStatus.OFFLINE and (u.last_seen_at is None or now - u.last_seen_at > window)]

    # --- judging and writing --------------------------------------------------------------------
    async def apply(self, results: Sequence[PollResult]) -> tuple[int, int]:
        """Write a round (or a pushed batch): states, readings, samples and change events."""
        if not results:
            return 0, 0
        now = self.clock.now()
        now_ms = telemetry.to_ms(now)
        rows: list[dict[str, Any]] = []
        samples: list[telemetry.Sample] = []
        changed: list[tuple[Unit, dict[str, Any]]] = []
        for result in results:
            unit = result.unit
            previous = service.state_of(unit)
            metrics = _clean(result.reading.metrics) if result.reading else {}
            self._judge(unit, result, metrics, now)
            samples.extend((unit.id, name, now_ms, value) for name, value in metrics.items())
            rows.append({
                "u_id": unit.id, "u_status": unit.status, "u_health": unit.health,
                "u_reasons": unit.health_reasons, "u_mode": unit.mode, "u_reading": unit.reading,
                "u_reading_at": unit.reading_at, "u_last_seen_at": unit.last_seen_at,
                "u_missed": unit.missed_polls, "u_workload_id": unit.workload_id, "u_updated_at": now,
            })
            if service.state_of(unit) != previous:
                changed.append((unit, previous))
        async with self.db.transaction() as session:
            await session.execute(_WRITE_ROUND, rows, execution_options={"synchronize_session": False})
            await telemetry.write_samples(session=session, samples=samples)
            held = await service.active_allocations(session=session, unit_ids=[u.id for u, _ in changed])
            for unit, previous in changed:
                add_event(session, UnitState.model_validate(
                    {**service.unit_view(unit, held.get(unit.id)), "previous": previous}), ts=now)
        for unit, previous in changed:
            log.info("unit state changed", unit_id=unit.id, status=unit.status, health=unit.health,
                     mode=unit.mode, was=previous["status"], reasons=unit.health_reasons)
        await self._emit_telemetry(results, now)
        return len(changed), len(samples)

    def _judge(self, unit: Unit, result: PollResult, metrics: dict[str, float], now: datetime) -> None:
        """Apply a poll's outcome to the (detached) unit: status, health, mode, reading."""
        reading = result.reading
        if reading is None:
            unit.missed_polls = unit.missed_polls + max(result.failed_attempts, 1)
            if unit.missed_polls >= self.settings.offline_after_missed_polls and unit.status != UnitStatus.MAINTENANCE:
                unit.status, unit.health, unit.health_reasons = UnitStatus.OFFLINE, Health.CRITICAL, [NOT_ANSWERING]
            return
        mode = reading.mode if reading.mode in MODES else unit.mode
        if unit.mode == UnitMode.CURTAILED and mode == UnitMode.MINING:
            self._ramp_until[unit.id] = time.monotonic() + self.settings.mining_ramp_s
        ramping = self._ramp_until.get(unit.id, 0.0) > time.monotonic()
        latest = {**(unit.reading or {}), **metrics}
        health, reasons = assess(
            kind=unit.kind, metrics=latest, errors=reading.errors or (), mode=mode,
            nominal_hashrate_ths=unit.hashrate_ths, settings=self.settings, ramping=ramping,
        )
        if unit.status != UnitStatus.MAINTENANCE:
            unit.status = UnitStatus.SWITCHING if reading.switching else UnitStatus.ONLINE
        unit.health, unit.health_reasons, unit.mode = health, reasons, mode
        unit.reading, unit.reading_at, unit.last_seen_at, unit.missed_polls = latest, now, now, 0
        if reading.workload_id is not None or reading.mode == UnitMode.IDLE:
            unit.workload_id = reading.workload_id

    async def _emit_telemetry(self, results: Sequence[PollResult], now: datetime) -> None:
        if self.bus is None:
            return
        rows = [{"unit_id": r.unit.id, "kind": r.unit.kind, "online": r.reading is not None,
                 "metrics": dict(r.reading.metrics) if r.reading else None} for r in results]
        for start in range(0, len(rows), TELEMETRY_EVENT_BATCH):
            try:
                await self.bus.emit(UnitTelemetry.model_validate(
                    {"source": "resources", "units": rows[start:start + TELEMETRY_EVENT_BATCH]}), ts=now)
            except Exception:  # telemetry is a live feed: a bus hiccup costs one batch, not the round
                log.warning("publishing unit.telemetry failed", exc_info=True)
                return
