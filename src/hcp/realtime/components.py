"""What the realtime domain runs: the hub that fans bus events out to WebSocket clients."""

from __future__ import annotations

from hcp.core.component import Component
from hcp.core.platform import Platform
from hcp.realtime.hub import Hub


def components(platform: Platform) -> list[Component]:
    return [Hub(platform.bus, platform.settings.realtime)]
