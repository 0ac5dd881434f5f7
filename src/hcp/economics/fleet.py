"""The fleet as the planner sees it, read from the resource manager, plus nominal unit curves.

A unit the resource manager reports offline, in maintenance or critically unhealthy is left
out of the plan. ASICs whose firmware takes power targets are offered points along their
model's efficiency curve; others mine at stock power or are curtailed. A GPU that holds an
allocation carries its workload and tenant: the planner treats it as a fixed commitment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from hcp.economics.backtest.schemas import Fleet, FleetFacility, FleetUnit
from hcp.economics.planner import UnitState
from hcp.resources import service as resources

# Nominal efficiency curves, (power_w, hashrate_ths) from the lowest useful power to stock:
# hashrate ~ P^0.66 below stock, as undervolted S21s measure (lower power, better J/TH).
ASIC_CURVES: Final[dict[str, tuple[tuple[float, float], ...]]] = {
    "Antminer S21": ((2000.0, 138.5), (2500.0, 160.0), (3000.0, 181.0), (3500.0, 200.0)),
}
STOCK: Final[dict[str, tuple[float, float]]] = {
    "Antminer S21": (3500.0, 200.0),
    "Antminer S19": (3250.0, 95.0),
}
GPU_POWER_W: Final[dict[str, tuple[float, float]]] = {  # full load, idle
    "H100": (700.0, 80.0),
    "A100": (400.0, 55.0),
}
FLEET_LIMIT = 1_000_000


def unit_state(view: dict[str, object]) -> UnitState | None:
    """A unit as the planner needs it, from the resource manager's view of it."""
    nominal = view.get("nominal") or {}
    assert isinstance(nominal, dict)
    kind, model = str(view["kind"]), str(view["model"])
    facility = view.get("facility_id")
    if facility is None:
        return None  # not placed in a facility: no cap or price to plan it under
    available = view.get("status") == "online" and view.get("health") != "critical"
    if kind == "asic":
        stock_w, stock_ths = STOCK.get(model, (3500.0, 200.0))
        power = float(nominal.get("power_w") or stock_w)
        hashrate = float(nominal.get("hashrate_ths") or stock_ths)
        caps = view.get("capabilities") or []
        curve = ASIC_CURVES.get(model) if isinstance(caps, list) and "power_target" in caps else None
        return UnitState(str(view["id"]), "asic", str(facility), model, power, hashrate, curve=curve,
                         available=available)
    full_w, idle_w = GPU_POWER_W.get(model, (float(nominal.get("power_w") or 700.0), 80.0))
    held = view.get("allocation")  # the allocations table: the unit is a workload's commitment
    workload_id = tenant_id = None
    if isinstance(held, dict):
        workload_id, tenant_id = str(held["workload_id"]), held.get("tenant_id")
    return UnitState(str(view["id"]), "gpu", str(facility), model, float(nominal.get("power_w") or full_w),
                     idle_power_w=idle_w, available=available, workload_id=workload_id,
                     tenant_id=None if tenant_id is None else str(tenant_id))


async def fleet_from_resources(session: AsyncSession) -> list[UnitState]:
    views, _ = await resources.list_units(session=session, limit=FLEET_LIMIT)
    return [u for u in (unit_state(v) for v in views) if u is not None]


class FacilityLike(Protocol):
    id: str
    power_cap_kw: float
    market_node: str


def backtest_fleet(facilities: Iterable[FacilityLike], units: Iterable[UnitState]) -> Fleet:
    """The fleet as it stands, in the backtest's format: identical units of a facility become one
    row with a `count` (named `<facility>-<model>`), with no contracted work."""
    groups: dict[tuple[object, ...], tuple[UnitState, int]] = {}
    for u in units:
        key = (u.facility_id, u.kind, u.model, u.power_w, u.hashrate_ths, u.curve, u.idle_power_w)
        first, count = groups.get(key, (u, 0))
        groups[key] = (first, count + 1)
    rows: list[FleetUnit] = []
    taken: set[str] = set()
    for u, count in groups.values():
        base = re.sub(r"[^A-Za-z0-9]+", "-", f"{u.facility_id}-{u.model}").strip("-").lower()[:100] or u.kind
        name, n = base, 1
        while name in taken:  # the same model at another power: a second row
            n += 1
            name = f"{base}-v{n}"
        taken.add(name)
        rows.append(FleetUnit(
            id=name, kind="asic" if u.kind == "asic" else "gpu", facility_id=u.facility_id, power_w=u.power_w,
            hashrate_ths=u.hashrate_ths if u.kind == "asic" else None,
            curve=list(u.curve) if u.curve else None, model=u.model if u.kind == "gpu" else None,
            idle_power_w=u.idle_power_w if u.kind == "gpu" else None, count=count))
    return Fleet(facilities=[FleetFacility(id=f.id, power_cap_kw=f.power_cap_kw, market_node=f.market_node)
                             for f in facilities], units=rows)
