"""What the orchestrator runs: the workload loop, the fleet metrics stream and, in demo mode,
simulated customer demand."""

from __future__ import annotations

from hcp.core.component import Component
from hcp.core.platform import Platform
from hcp.orchestrator.demand import DemoDemand
from hcp.orchestrator.fleet_metrics import FleetMetrics
from hcp.orchestrator.loop import OrchestratorLoop


def components(platform: Platform) -> list[Component]:
    settings = platform.settings
    made: list[Component] = [FleetMetrics(platform)]
    if settings.orchestrator.run:
        made.append(OrchestratorLoop(platform))
        if settings.demo and settings.orchestrator.demo_demand:
            made.append(DemoDemand(platform))
    return made
