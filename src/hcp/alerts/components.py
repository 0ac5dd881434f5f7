"""What the alerts domain runs: the engine that judges events against the rules."""

from __future__ import annotations

from hcp.alerts.service import AlertEngine
from hcp.core.component import Component
from hcp.core.platform import Platform


def components(platform: Platform) -> list[Component]:
    return [AlertEngine(platform)] if platform.settings.realtime.alerts.run else []
