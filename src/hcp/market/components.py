"""What the market domain runs: the tick ingester and, where configured, the live price feeds."""

from __future__ import annotations

from hcp.core.component import Component
from hcp.core.platform import Platform
from hcp.market.ingest import MarketRuntime


def components(platform: Platform) -> list[Component]:
    return [MarketRuntime(platform)]
