"""The workload loop's Prometheus metrics: switch latency and placements as they happen, and
`hcp_queue_depth`, read from the leading loop's queue at scrape time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from hcp.core.metrics import REGISTRY
from hcp.core.platform import Platform
from hcp.router.scheduler import QUEUE_CLASSES, classify

if TYPE_CHECKING:
    from hcp.orchestrator.loop import OrchestratorLoop

SWITCH_LATENCY = Histogram(
    "hcp_switch_latency_seconds", "GPU workload switch latency, as the orchestrator measured it",
    buckets=(0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 1.0, 2.5), registry=REGISTRY,
)
PLACEMENTS = Counter("hcp_placements_total", "Workloads placed on GPUs by the orchestrator",
                     ["queue_class"], registry=REGISTRY)
QUEUE_CLASS_NAMES = tuple(dict.fromkeys(c.name for c in QUEUE_CLASSES.values()))
RUNNING: list[OrchestratorLoop] = []  # the loops of this process, started and not yet stopped


def depth_of(loop: OrchestratorLoop) -> dict[str, int] | None:
    """Workloads waiting per queue class (None where the loop stands by: the leader knows)."""
    if not loop.leading:
        return None
    depth = dict.fromkeys(QUEUE_CLASS_NAMES, 0)
    for job in list(loop.scheduler.queue.values()):
        depth[classify(job.type).name] += 1
    return depth


def queue_depth(platform: Platform) -> dict[str, int] | None:
    """The queue depth of the workload loop running in this process, if one runs here."""
    loop = next((loop for loop in RUNNING if loop.platform is platform), None)
    return None if loop is None else depth_of(loop)


class QueueDepthCollector(Collector):
    """`hcp_queue_depth`, read from the leading loop's queue at scrape time."""

    def collect(self) -> list[GaugeMetricFamily]:
        family = GaugeMetricFamily("hcp_queue_depth", "Workloads queued, per queue class", labels=["queue_class"])
        for loop in RUNNING[-1:]:
            for queue_class, count in (depth_of(loop) or {}).items():
                family.add_metric([queue_class], count)
        return [family]


REGISTRY.register(QueueDepthCollector())
