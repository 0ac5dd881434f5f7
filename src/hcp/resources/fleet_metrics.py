"""Fleet aggregates: hashrate, power by facility and mode, GPU use, queue depth and plan profit,
published as one `fleet.metrics` event every `metrics.interval_s` and exposed at /metrics.

The fleet's state is in the units table: one query sums it in the database, grouped by facility,
kind, status and mode, so Python sees a few dozen rows whether the fleet has 30 units or 100k.
The snapshot is refreshed once per interval and shared by the stream and the gauges; the queue
depth is in the orchestrator's memory and is read at scrape time. One replica publishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.core.leadership import Leadership
from hcp.core.metrics import REGISTRY
from hcp.core.platform import Platform
from hcp.core.tasks import cancel_tasks
from hcp.resources.capacity import IDLE_ASIC_W, UNASSIGNED
from hcp.resources.models import Unit

log = structlog.get_logger(__name__)

SUBJECT: Final = "fleet.metrics"
STATE_KEY: Final = "resources.fleet_metrics"
FLEET_METRICS_LOCK_KEY: Final = 0x4843_5046  # "HCPF": one publisher of `fleet.metrics` per deployment
POWER_MODES: Final = ("mining", "ai", "idle", "curtailed")
GPU_STATES: Final = ("busy", "idle", "unavailable")
# A unit's mode as the power it draws is spent: a GPU running a workload (or rented on the spot
# market) serves AI; a unit whose mode is not known yet draws power for nothing.
POWER_MODE_OF: Final[dict[str, str]] = {
    "mining": "mining", "workload": "ai", "spot": "ai", "idle": "idle", "unknown": "idle",
    "curtailed": "curtailed",
}
ONLINE: Final = ("online", "switching")


def _reading(key: str) -> Any:
    return Unit.reading[key].as_float().label(f"reading_{key}")


# Each reading is extracted from its JSON once per unit: the CTE is materialized, so the
# expressions below, which name a reading several times, do not parse the document each time.
_UNITS = select(
    Unit.facility_id, Unit.kind, Unit.status, Unit.mode, Unit.workload_id.is_not(None).label("holds"),
    Unit.power_w, Unit.hashrate_ths, _reading("power_w"), _reading("hashrate_ths"),
    _reading("expected_hashrate_ths"), _reading("util_pct"),
).cte("fleet_units").prefix_with("MATERIALIZED")
_u = _UNITS.c


def estimated_power_w() -> Any:
    """Each unit's power now, as `capacity.estimated_power_w` estimates it, as a SQL expression:
    the unit's reported power, else (ASICs) its nameplate power scaled by the share of its
    expected hashrate it delivers while mining and its control board's draw otherwise."""
    hashrate = _u.reading_hashrate_ths
    # `reading.expected_hashrate_ths or nominal`: a missing or zero expectation falls back.
    expected = func.coalesce(func.nullif(_u.reading_expected_hashrate_ths, 0.0), _u.hashrate_ths)
    # Compared before dividing: PostgreSQL raises on a quotient that overflows.
    share = case((and_(hashrate.is_not(None), expected.is_not(None), expected != 0.0),
                  case((hashrate >= expected, 1.0), else_=hashrate / expected)), else_=1.0)
    nominal = func.coalesce(_u.power_w, 0.0)
    return case(
        (_u.reading_power_w.is_not(None), _u.reading_power_w),
        (and_(_u.kind == "asic", _u.mode != "mining"), IDLE_ASIC_W),
        (_u.kind == "asic", nominal * share),
        else_=nominal,
    )


def _utilization() -> Any:
    util = _u.reading_util_pct
    return case((util > 100.0, 1.0), (util < 0.0, 0.0), else_=util / 100.0)


@dataclass(frozen=True)
class UnitGroup:
    """Units alike in what the aggregates tell apart, summed by the database."""

    facility_id: str | None
    kind: str
    status: str
    mode: str
    holds_workload: bool
    units: int
    power_w: float
    hashrate_ths: float
    utilization_sum: float  # over the units that report their utilisation
    utilization_n: int


async def unit_groups(*, session: AsyncSession) -> list[UnitGroup]:
    """One query, grouped in the database: a handful of rows whatever the fleet's size."""
    util = _utilization()
    keys = (_u.facility_id, _u.kind, _u.status, _u.mode, _u.holds)
    stmt = (
        select(*keys, func.count(), func.sum(estimated_power_w()), func.sum(_u.reading_hashrate_ths), func.sum(util),
               func.count(util))
        .group_by(*keys)
    )
    return [UnitGroup(f, k, st, m, bool(h), int(n), float(p or 0.0), float(hr or 0.0), float(us or 0.0), int(un))
            for f, k, st, m, h, n, p, hr, us, un in (await session.execute(stmt)).all()]


@dataclass(frozen=True)
class FleetAggregates:
    hashrate_ths: float
    asics_mining: int
    # (facility, power mode) -> watts, every mode of every facility present (zeros included).
    power_w: dict[tuple[str, str], float]
    gpus: dict[tuple[str, str], int]  # (facility, busy|idle|unavailable) -> GPUs
    # Mean utilisation (0..1) of the online GPUs that report it, per facility and overall.
    gpu_utilization: dict[str, float]
    gpu_utilization_fleet: float | None

    def power_by_mode(self) -> dict[str, float]:
        out = dict.fromkeys(POWER_MODES, 0.0)
        for (_, mode), watts in self.power_w.items():
            out[mode] += watts
        return out

    def power_by_facility(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for (facility, _), watts in self.power_w.items():
            out[facility] = out.get(facility, 0.0) + watts
        return out

    @property
    def gpus_total(self) -> int:
        return sum(self.gpus.values())

    @property
    def gpus_busy(self) -> int:
        return sum(n for (_, state), n in self.gpus.items() if state == "busy")


def aggregate(groups: Iterable[UnitGroup]) -> FleetAggregates:
    """Totals of the fleet's online units (offline ones draw and hash nothing that we know of)."""
    power: dict[tuple[str, str], float] = {}
    gpus: dict[tuple[str, str], int] = {}
    util: dict[str, list[float]] = {}
    hashrate, mining = 0.0, 0
    for g in groups:
        facility = g.facility_id or UNASSIGNED
        online = g.status in ONLINE
        mode = POWER_MODE_OF.get(g.mode, "idle")
        for m in POWER_MODES:
            power.setdefault((facility, m), 0.0)
        if online:
            power[(facility, mode)] += g.power_w
        if g.kind == "asic" and online:
            hashrate += g.hashrate_ths
            mining += g.units if g.mode == "mining" else 0
        if g.kind == "gpu":
            for state in GPU_STATES:
                gpus.setdefault((facility, state), 0)
            state = ("busy" if mode == "ai" or g.holds_workload else "idle") if online else "unavailable"
            gpus[(facility, state)] += g.units
            if online and g.utilization_n:
                sums = util.setdefault(facility, [0.0, 0.0])
                sums[0] += g.utilization_sum
                sums[1] += g.utilization_n
    total_n = sum(n for _, n in util.values())
    return FleetAggregates(
        hashrate_ths=hashrate, asics_mining=mining, power_w=power, gpus=gpus,
        gpu_utilization={f: total / n for f, (total, n) in util.items()},
        gpu_utilization_fleet=sum(total for total, _ in util.values()) / total_n if total_n else None,
    )


def queue_depth(platform: Platform) -> dict[str, int] | None:
    """Workloads waiting per queue class, as the orchestrator of this process knows them (None
    when the workload loop runs in another process: split mode's orchestrator exposes
    `hcp_queue_depth` there)."""
    from hcp.orchestrator.service import queue_depth as orchestrator_queue_depth

    return orchestrator_queue_depth(platform)


@dataclass(frozen=True)
class FleetSnapshot:
    ts: datetime
    fleet: FleetAggregates
    profit_usd_per_hour: float | None
    queue_depth: dict[str, int] | None
    computed_in_s: float = field(default=0.0, compare=False)

    def payload(self) -> dict[str, Any]:
        """The body of a `fleet.metrics` event."""
        f = self.fleet
        power = {mode: round(w, 1) for mode, w in f.power_by_mode().items()}
        power["total"] = round(sum(f.power_by_mode().values()), 1)
        return {
            "ts": self.ts.isoformat(),
            "hashrate_ths": round(f.hashrate_ths, 3),
            "power_w": power,
            "power_w_by_facility": {k: round(v, 1) for k, v in sorted(f.power_by_facility().items())},
            "gpu_utilization": None if f.gpu_utilization_fleet is None else round(f.gpu_utilization_fleet, 4),
            "gpus_busy": f.gpus_busy,
            "gpus_total": f.gpus_total,
            "asics_mining": f.asics_mining,
            "profit_usd_per_hour": None if self.profit_usd_per_hour is None else round(self.profit_usd_per_hour, 2),
            "queue_depth": self.queue_depth,
        }


class FleetMetrics:
    """Refreshes the snapshot every interval; publishes it while this replica holds the lock."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.settings = platform.settings.metrics
        self.leadership = Leadership(platform.db, key=FLEET_METRICS_LOCK_KEY)
        self.snapshot: FleetSnapshot | None = None
        self.published = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        _SOURCES.append(self)
        self._task = asyncio.create_task(self._run(), name="resources-fleet-metrics")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_tasks([self._task])
            self._task = None
        with contextlib.suppress(ValueError):
            _SOURCES.remove(self)
        await self.leadership.release()

    async def refresh(self) -> FleetSnapshot:
        from hcp.economics.metrics import latest_plan_profit

        started = time.perf_counter()
        async with self.platform.db.session() as session:
            fleet = aggregate(await unit_groups(session=session))
            plan = await latest_plan_profit(session=session)
        self.snapshot = FleetSnapshot(
            ts=self.platform.clock.now(), fleet=fleet, profit_usd_per_hour=None if plan is None else plan[1],
            queue_depth=queue_depth(self.platform), computed_in_s=time.perf_counter() - started,
        )
        return self.snapshot

    async def publish_once(self) -> bool:
        """Refresh, and publish if this replica leads; whether it published."""
        snapshot = await self.refresh()
        if not (self.settings.publish and await self.leadership.hold()):
            return False
        await self.platform.bus.emit(SUBJECT, snapshot.payload(), ts=snapshot.ts)
        self.published += 1
        return True

    async def _run(self) -> None:
        # The quickest of the last three rounds sets the pace (the interval until three are timed):
        # a round slowed once by other work (the start-up, a burst of writes) does not stall the
        # stream for seconds; a fleet too large for the interval does stretch it.
        recent: deque[float] = deque(maxlen=3)
        while True:
            started = time.monotonic()
            try:
                await self.publish_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed round costs one sample of the stream, not the loop
                log.warning("fleet metrics round failed", exc_info=True)
            recent.append(time.monotonic() - started)
            took = min(recent) if len(recent) == recent.maxlen else 0.0
            await asyncio.sleep(next_wait(self.settings.interval_s, took))


def next_wait(interval_s: float, took_s: float) -> float:
    """Seconds until the next round: the interval, stretched so that a fleet too large for it
    (a second per round at 100k units on SQLite) costs at most a fifth of the database's time."""
    return max(interval_s - took_s, 4.0 * took_s, 0.0)


# --- /metrics ----------------------------------------------------------------------------------
_SOURCES: list[FleetMetrics] = []


def _families() -> dict[str, GaugeMetricFamily]:
    return {
        "hashrate": GaugeMetricFamily("hcp_fleet_hashrate_ths", "Hashrate of the fleet's online ASICs (TH/s)"),
        "power": GaugeMetricFamily("hcp_power_watts", "Power drawn by online units, per facility and mode "
                                   "(mining, ai, idle, curtailed)", labels=["facility", "mode"]),
        "util": GaugeMetricFamily("hcp_gpu_utilization_ratio", "Mean utilisation (0..1) of the online GPUs",
                                  labels=["facility"]),
        "gpus": GaugeMetricFamily("hcp_gpus", "GPUs per facility and state (busy, idle, unavailable)",
                                  labels=["facility", "state"]),
        "mining": GaugeMetricFamily("hcp_asics_mining", "ASICs online and mining"),
        "compute": GaugeMetricFamily("hcp_fleet_metrics_refresh_seconds",
                                 "Seconds the latest refresh of the fleet aggregates took"),
    }


class FleetCollector(Collector):
    """The latest snapshot of the fleet."""

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return list(_families().values())

    def collect(self) -> Iterable[GaugeMetricFamily]:
        families = _families()
        source = _SOURCES[-1] if _SOURCES else None
        snapshot = source.snapshot if source is not None else None
        if snapshot is not None:
            fleet = snapshot.fleet
            families["hashrate"].add_metric([], fleet.hashrate_ths)
            families["mining"].add_metric([], fleet.asics_mining)
            for (facility, mode), watts in sorted(fleet.power_w.items()):
                families["power"].add_metric([facility, mode], watts)
            for facility, ratio in sorted(fleet.gpu_utilization.items()):
                families["util"].add_metric([facility], ratio)
            for (facility, state), count in sorted(fleet.gpus.items()):
                families["gpus"].add_metric([facility, state], count)
            families["compute"].add_metric([], snapshot.computed_in_s)
        return list(families.values())


REGISTRY.register(FleetCollector())


# --- the domain's start/stop -------------------------------------------------------------------
async def start(platform: Platform) -> None:
    metrics = FleetMetrics(platform)
    platform.state[STATE_KEY] = metrics
    await metrics.start()


async def stop(platform: Platform) -> None:
    metrics = platform.state.pop(STATE_KEY, None)
    if isinstance(metrics, FleetMetrics):
        await metrics.stop()

