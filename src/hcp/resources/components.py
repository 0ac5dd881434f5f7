"""What the resource manager runs: health polling, telemetry intake and the demo's discovery."""

from __future__ import annotations

from hcp.core.component import Component
from hcp.core.platform import Platform
from hcp.resources.runtime import ResourcesRuntime


def components(platform: Platform) -> list[Component]:
    return [ResourcesRuntime(platform)]
