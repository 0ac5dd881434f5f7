"""The fleet as the planner sees it, read from the resource manager, plus nominal unit curves.

A unit the resource manager reports offline, in maintenance or critically unhealthy is left
out of the plan. ASICs whose firmware takes power targets are offered points along their
model's efficiency curve; others mine at stock power or are curtailed. A GPU that holds an
allocation carries its workload and tenant: the planner treats it as a fixed commitment.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

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
