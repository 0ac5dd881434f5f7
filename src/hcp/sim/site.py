"""The site the digital twin models: the seed's three facilities, their market nodes and racks.

The simulator places its units at these facilities; the demo seeds them as rows and the resource
manager's demo discovery files what it finds into these racks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoFacility:
    id: str
    name: str
    location: str
    power_cap_kw: float
    market_node: str


@dataclass(frozen=True)
class DemoRack:
    id: str
    facility_id: str
    kind: str  # what the rack holds: the demo's discovery places units by kind
    name: str
    position: int


# Caps are sized to the demo fleet (20 S21s at 3.5 kW, 14 S19 XPs at 3.0 kW, 10 Whatsminer M50S
# at 3.3 kW and 10 GPUs at up to 0.7 kW, dealt round the three sites: 46-52 kW each at full
# draw), a little under it: power binds, and the planner curtails the least efficient miners
# (the M50Ss, 26 J/TH) first while prices still pay for mining.
FACILITIES = (
    DemoFacility("tx-north", "Texas North", "Granbury, TX", 48.0, "HB_NORTH"),
    DemoFacility("tx-south", "Texas South", "Garden City, TX", 46.0, "HB_WEST"),
    DemoFacility("nd-ellendale", "North Dakota", "Ellendale, ND", 42.0, "MISO_MINN_HUB"),
)

# One row of miners and one GPU rack per site.
RACKS = tuple(
    rack
    for f in FACILITIES
    for rack in (
        DemoRack(f"{f.id}-a01", f.id, "asic", "ASIC row A, rack 01", 1),
        DemoRack(f"{f.id}-g01", f.id, "gpu", "GPU pod G, rack 01", 2),
    )
)

__all__ = ["FACILITIES", "RACKS", "DemoFacility", "DemoRack"]
