"""What the economics domain runs: the fleet planner (on market ticks and demand) and the
economics gauges. The app injects where queued work comes from (the workloads' domain)."""

from __future__ import annotations

from hcp.core.component import Component
from hcp.core.platform import Platform
from hcp.economics.fleet import fleet_from_resources
from hcp.economics.metrics import EconomicsMetrics
from hcp.economics.planner import Hysteresis
from hcp.economics.service import PlanLoop, WorkloadSource, no_workloads


def components(platform: Platform, *, workloads: WorkloadSource = no_workloads) -> list[Component]:
    made: list[Component] = [EconomicsMetrics(platform)]
    s = platform.settings.economics
    if s.plan:
        made.append(PlanLoop(
            platform, fleet=fleet_from_resources, workloads=workloads,
            hysteresis=Hysteresis(min_gain_usd_per_hour=s.min_gain_usd_per_hour, min_dwell_s=s.min_dwell_s,
                                  asic_ramp_s=s.asic_ramp_s, gpu_switch_s=s.gpu_switch_s,
                                  spot_notice_s=s.spot_notice_s),
            min_interval_s=s.plan_interval_s, replan_s=s.replan_s,
        ))
    return made
