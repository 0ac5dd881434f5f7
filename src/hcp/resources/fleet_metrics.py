"""Fleet aggregates: hashrate, power by facility and mode, GPU use, from the units table.

One query sums the fleet in the database, grouped by facility, kind, status and mode, so Python
sees a few dozen rows whether the fleet has 30 units or 100k. `hcp.orchestrator.fleet_metrics`
joins them with the queue and the plan's profit and publishes `fleet.metrics`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import structlog
from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.resources.capacity import IDLE_ASIC_W, UNASSIGNED
from hcp.resources.models import Unit

log = structlog.get_logger(__name__)

POWER_MODES: Final = ("mining", "ai", "idle", "curtailed")
GPU_STATES: Final = ("busy", "idle", "unavailable")
# A unit's mode as the power it draws is spent: a GPU running a workload (or rented on the spot
# market) serves AI; a unit whose mode is not known yet draws power for nothing.
POWER_MODE_OF: Final[dict[str, str]] = {
    "mining": "mining", "workload": "ai", "spot": "ai", "idle": "idle", "unknown": "idle",
    "curtailed": "curtailed",
}
ONLINE: Final = ("online", "switching")


def _reading(key: str) -> Any:
    return Unit.reading[key].as_float().label(f"reading_{key}")


# Each reading is extracted from its JSON once per unit: the CTE is materialized, so the
# expressions below, which name a reading several times, do not parse the document each time.
_UNITS = select(
    Unit.facility_id, Unit.kind, Unit.status, Unit.mode, Unit.workload_id.is_not(None).label("holds"),
    Unit.power_w, Unit.hashrate_ths, _reading("power_w"), _reading("hashrate_ths"),
    _reading("expected_hashrate_ths"), _reading("util_pct"),
).cte("fleet_units").prefix_with("MATERIALIZED")
_u = _UNITS.c


def estimated_power_w() -> Any:
    """Each unit's power now, as `capacity.estimated_power_w` estimates it, as a SQL expression:
    the unit's reported power, else (ASICs) its nameplate power scaled by the share of its
    expected hashrate it delivers while mining and its control board's draw otherwise."""
    hashrate = _u.reading_hashrate_ths
    # `reading.expected_hashrate_ths or nominal`: a missing or zero expectation falls back.
    expected = func.coalesce(func.nullif(_u.reading_expected_hashrate_ths, 0.0), _u.hashrate_ths)
    # Compared before dividing: PostgreSQL raises on a quotient that overflows.
    share = case((and_(hashrate.is_not(None), expected.is_not(None), expected != 0.0),
                  case((hashrate >= expected, 1.0), else_=hashrate / expected)), else_=1.0)
    nominal = func.coalesce(_u.power_w, 0.0)
    return case(
        (_u.reading_power_w.is_not(None), _u.reading_power_w),
        (and_(_u.kind == "asic", _u.mode != "mining"), IDLE_ASIC_W),
        (_u.kind == "asic", nominal * share),
        else_=nominal,
    )


def _utilization() -> Any:
    util = _u.reading_util_pct
    return case((util > 100.0, 1.0), (util < 0.0, 0.0), else_=util / 100.0)


@dataclass(frozen=True)
class UnitGroup:
    """Units alike in what the aggregates tell apart, summed by the database."""

    facility_id: str | None
    kind: str
    status: str
    mode: str
    holds_workload: bool
    units: int
    power_w: float
    hashrate_ths: float
    utilization_sum: float  # over the units that report their utilisation
    utilization_n: int


async def unit_groups(*, session: AsyncSession) -> list[UnitGroup]:
    """One query, grouped in the database: a handful of rows whatever the fleet's size."""
    util = _utilization()
    keys = (_u.facility_id, _u.kind, _u.status, _u.mode, _u.holds)
    stmt = (
        select(*keys, func.count(), func.sum(estimated_power_w()), func.sum(_u.reading_hashrate_ths), func.sum(util),
               func.count(util))
        .group_by(*keys)
    )
    return [UnitGroup(f, k, st, m, bool(h), int(n), float(p or 0.0), float(hr or 0.0), float(us or 0.0), int(un))
            for f, k, st, m, h, n, p, hr, us, un in (await session.execute(stmt)).all()]


@dataclass(frozen=True)
class FleetAggregates:
    hashrate_ths: float
    asics_mining: int
    # (facility, power mode) -> watts, every mode of every facility present (zeros included).
    power_w: dict[tuple[str, str], float]
    gpus: dict[tuple[str, str], int]  # (facility, busy|idle|unavailable) -> GPUs
    # Mean utilisation (0..1) of the online GPUs that report it, per facility and overall.
    gpu_utilization: dict[str, float]
    gpu_utilization_fleet: float | None

    def power_by_mode(self) -> dict[str, float]:
        out = dict.fromkeys(POWER_MODES, 0.0)
        for (_, mode), watts in self.power_w.items():
            out[mode] += watts
        return out

    def power_by_facility(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for (facility, _), watts in self.power_w.items():
            out[facility] = out.get(facility, 0.0) + watts
        return out

    @property
    def gpus_total(self) -> int:
        return sum(self.gpus.values())

    @property
    def gpus_busy(self) -> int:
        return sum(n for (_, state), n in self.gpus.items() if state == "busy")


def aggregate(groups: Iterable[UnitGroup]) -> FleetAggregates:
    """Totals of the fleet's online units (offline ones draw and hash nothing that we know of)."""
    power: dict[tuple[str, str], float] = {}
    gpus: dict[tuple[str, str], int] = {}
    util: dict[str, list[float]] = {}
    hashrate, mining = 0.0, 0
    for g in groups:
        facility = g.facility_id or UNASSIGNED
        online = g.status in ONLINE
        mode = POWER_MODE_OF.get(g.mode, "idle")
        for m in POWER_MODES:
            power.setdefault((facility, m), 0.0)
        if online:
            power[(facility, mode)] += g.power_w
        if g.kind == "asic" and online:
            hashrate += g.hashrate_ths
            mining += g.units if g.mode == "mining" else 0
        if g.kind == "gpu":
            for state in GPU_STATES:
                gpus.setdefault((facility, state), 0)
            state = ("busy" if mode == "ai" or g.holds_workload else "idle") if online else "unavailable"
            gpus[(facility, state)] += g.units
            if online and g.utilization_n:
                sums = util.setdefault(facility, [0.0, 0.0])
                sums[0] += g.utilization_sum
                sums[1] += g.utilization_n
    total_n = sum(n for _, n in util.values())
    return FleetAggregates(
        hashrate_ths=hashrate, asics_mining=mining, power_w=power, gpus=gpus,
        gpu_utilization={f: total / n for f, (total, n) in util.items()},
        gpu_utilization_fleet=sum(total for total, _ in util.values()) / total_n if total_n else None,
    )


