"""The fleet at a glance: hashrate, power by facility and mode, GPU use, queue depth and plan
profit, published as one `fleet.metrics` event every `metrics.interval_s` and exposed at /metrics.

The aggregates come from the resource manager (one grouped query), the queue depth from this
process's workload loop, the profit from the latest plan. The snapshot is refreshed once per
interval and shared by the stream and the gauges. One replica publishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.core.component import tasks_health
from hcp.core.leadership import Leadership
from hcp.core.metrics import REGISTRY
from hcp.core.platform import Platform
from hcp.core.settings import Settings
from hcp.core.tasks import cancel_tasks
from hcp.economics.metrics import latest_plan_profit
from hcp.kernel.events import FleetMetricsSnapshot
from hcp.orchestrator.metrics import queue_depth as orchestrator_queue_depth
from hcp.orchestrator.schemas import FleetHistory, FleetPoint
from hcp.resources import telemetry
from hcp.resources.fleet_metrics import FleetAggregates, aggregate, unit_groups
from hcp.resources.telemetry import Sample, to_ms, write_samples

log = structlog.get_logger(__name__)

SUBJECT: Final = FleetMetricsSnapshot.subject
# The snapshot is also kept as telemetry of a pseudo-unit, so the resources domain's samples,
# one-minute rollups and retention give the fleet a history (GET /api/v1/fleet/history).
FLEET_UNIT: Final = "_fleet"
FACILITY_PREFIX: Final = "power_w.facility."
FLEET_METRICS_LOCK_KEY: Final = 0x4843_5046  # "HCPF": one publisher of `fleet.metrics` per deployment


def queue_depth(platform: Platform) -> dict[str, int] | None:
    """Workloads waiting per queue class, as the workload loop of this process knows them (None
    when it does not run here)."""
    return orchestrator_queue_depth(platform)


@dataclass(frozen=True)
class FleetSnapshot:
    ts: datetime
    fleet: FleetAggregates
    profit_usd_per_hour: float | None
    queue_depth: dict[str, int] | None
    computed_in_s: float = field(default=0.0, compare=False)

    def samples(self) -> list[Sample]:
        """The snapshot as telemetry samples of FLEET_UNIT: hashrate, power in total, by mode and
        by facility, GPU use."""
        body, ts = self.payload(), to_ms(self.ts)
        values = {"hashrate_ths": body.hashrate_ths, "gpus_busy": float(body.gpus_busy),
                  "gpus_total": float(body.gpus_total)}
        values.update({f"power_w.{mode}": watts for mode, watts in body.power_w.items()})
        values.update({f"{FACILITY_PREFIX}{facility}"[:48]: watts
                       for facility, watts in body.power_w_by_facility.items()})
        if body.gpu_utilization is not None:
            values["gpu_utilization"] = body.gpu_utilization
        return [(FLEET_UNIT, metric, ts, float(value)) for metric, value in values.items()]

    def payload(self) -> FleetMetricsSnapshot:
        """The body of a `fleet.metrics` event."""
        f = self.fleet
        power = {mode: round(w, 1) for mode, w in f.power_by_mode().items()}
        power["total"] = round(sum(f.power_by_mode().values()), 1)
        return FleetMetricsSnapshot.model_validate({
            "ts": self.ts,
            "hashrate_ths": round(f.hashrate_ths, 3),
            "power_w": power,
            "power_w_by_facility": {k: round(v, 1) for k, v in sorted(f.power_by_facility().items())},
            "gpu_utilization": None if f.gpu_utilization_fleet is None else round(f.gpu_utilization_fleet, 4),
            "gpus_busy": f.gpus_busy,
            "gpus_total": f.gpus_total,
            "asics_mining": f.asics_mining,
            "profit_usd_per_hour": None if self.profit_usd_per_hour is None else round(self.profit_usd_per_hour, 2),
            "queue_depth": self.queue_depth,
        })


class FleetMetrics:
    """Refreshes the snapshot every interval; publishes it while this replica holds the lock."""

    name = "fleet-metrics"

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.settings = platform.settings.metrics
        self.leadership = Leadership(platform.db, key=FLEET_METRICS_LOCK_KEY)
        self.snapshot: FleetSnapshot | None = None
        self.published = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        _SOURCES.append(self)
        self._task = asyncio.create_task(self._run(), name="fleet-metrics")

    def health(self) -> str:
        return tasks_health([self._task]) if self._task is not None else "stopped"

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_tasks([self._task])
            self._task = None
        with contextlib.suppress(ValueError):
            _SOURCES.remove(self)
        await self.leadership.release()

    async def refresh(self) -> FleetSnapshot:
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
        await self.platform.bus.emit(snapshot.payload(), ts=snapshot.ts)
        async with self.platform.db.transaction() as session:
            await write_samples(session=session, samples=snapshot.samples())
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


async def history(*, session: AsyncSession, settings: Settings, now: datetime, window_s: int,
                  step_s: int) -> FleetHistory:
    """The stored snapshots of the last `window_s`, averaged per `step_s`: raw samples while the
    resources domain keeps them, its one-minute rollups beyond."""
    until_ms = to_ms(now)
    raw_since_ms = to_ms(now - timedelta(hours=settings.resources.telemetry_retention_h))
    found = await telemetry.query(session=session, raw_since_ms=raw_since_ms, q=telemetry.SeriesQuery(
        unit_id=FLEET_UNIT, since_ms=until_ms - window_s * 1000, until_ms=until_ms, step_s=step_s, metrics=None))
    points: dict[datetime, dict[str, Any]] = {}
    for series in found["series"]:
        metric: str = series["metric"]
        for point in series["points"]:
            row = points.setdefault(point["ts"], {"ts": point["ts"], "power_w": {}, "power_w_by_facility": {}})
            value = None if point["value"] is None else round(point["value"], 4)
            if metric.startswith(FACILITY_PREFIX):
                row["power_w_by_facility"][metric[len(FACILITY_PREFIX):]] = value
            elif metric.startswith("power_w."):
                row["power_w"][metric[len("power_w."):]] = value
            else:
                row[metric] = value
    return FleetHistory(window_s=window_s, step_s=step_s, source=found["source"], points=[
        FleetPoint.model_validate({"hashrate_ths": None, "gpu_utilization": None, "gpus_busy": None,
                                   "gpus_total": None, **row})
        for _, row in sorted(points.items())])


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
