"""The fleet: read from its YAML file, checked against the price history, and grouped into
classes of interchangeable units (ASIC classes, GPU pools, contracted workloads pinned to a pool)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from hcp.core.errors import InvalidInput
from hcp.economics.backtest.defaults import CAP_TOLERANCE_W, MAX_UNITS, FloatArray
from hcp.economics.backtest.history import PriceHistory
from hcp.economics.backtest.schemas import Fleet
from hcp.economics.schemas import UnitIn


class FleetFileError(ValueError):
    """A fleet file that cannot be read; the message names the file and the field."""


def load_fleet(path: str | Path) -> Fleet:
    """Read a fleet YAML (or JSON) file: `facilities`, `units`, optional `workloads`."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FleetFileError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise FleetFileError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise FleetFileError(f"{path}: expected a mapping with facilities, units and workloads")
    try:
        return Fleet.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"]).replace(".[", "[")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise FleetFileError(f"{path}: {where or 'fleet'}: {err['msg']}{more}") from None


# --------------------------------------------------------------------------------------------------
# The fleet as classes of interchangeable units


@dataclass
class AsicClass:
    """ASICs of one facility with the same power options: the hull, the stock point, the members."""

    facility: int
    unit_ids: list[str]
    stock: tuple[float, float]  # (power_w, hashrate_ths) the baselines run at
    hull: FloatArray  # [[power_w, hashrate_ths]]: upper concave hull of the options with (0, 0)

    @property
    def n(self) -> int:
        return len(self.unit_ids)


@dataclass
class GpuPool:
    """GPUs of one facility with the same model, full and idle power."""

    facility: int
    model: str
    power_w: float
    idle_power_w: float
    unit_ids: list[str]

    @property
    def n(self) -> int:
        return len(self.unit_ids)

    @property
    def extra_w(self) -> float:
        return self.power_w - self.idle_power_w


@dataclass
class Gang:
    """A contracted workload, pinned to one pool: all of its GPUs run, or none."""

    workload_id: str
    pool: int
    gpu_count: int
    price_usd_per_gpu_hour: float


@dataclass
class FleetModel:
    facility_ids: list[str]
    market_nodes: list[str]
    cap_w: FloatArray
    idle_floor_w: FloatArray  # every GPU of the facility idling
    classes: list[AsicClass]
    pools: list[GpuPool]
    gangs: list[Gang]
    units: list[UnitIn]  # expanded, one per unit: what the exact path sends to the optimizer
    unit_class: dict[str, int] = field(default_factory=dict)  # ASIC id -> class
    unit_pool: dict[str, int] = field(default_factory=dict)  # GPU id -> pool

    @property
    def asic_count(self) -> int:
        return sum(c.n for c in self.classes)

    @property
    def gpu_count(self) -> int:
        return sum(q.n for q in self.pools)


def upper_hull(points: FloatArray) -> FloatArray:
    """Vertices of the upper concave hull of (0, 0) and `points` ([[power_w > 0, hashrate]]),
    left to right, without (0, 0) and without collinear points.

    A shear (g = h x hashprice - p x price) keeps upper hulls, so whatever the prices, the best
    mix of a class's options in the LP relaxation lies on this hull: its increments are the
    greedy's items, with value per watt falling along it.
    """
    best: dict[float, float] = {}
    for p, h in points.tolist():
        best[p] = max(h, best.get(p, -math.inf))
    hull: list[tuple[float, float]] = [(0.0, 0.0)]
    for p, h in sorted(best.items()):
        while len(hull) >= 2:
            (p0, h0), (p1, h1) = hull[-2], hull[-1]
            if (p1 - p0) * (h - h0) - (h1 - h0) * (p - p0) >= 0:  # not a right turn: p1 is not a vertex
                hull.pop()
            else:
                break
        hull.append((p, h))
    return np.array(hull[1:], dtype=np.float64).reshape(-1, 2)


def build_model(fleet: Fleet, prices: PriceHistory, *, field_prefix: str = "") -> FleetModel:
    """Check the fleet against itself and the price history, expand `count`, group into classes,
    and pin each contracted workload to a pool.

    A workload without `facility_id` goes, dearest first, to the pool of its model with room left
    whose facility had the lowest mean power price over the history: moving a customer's job
    between sites every five minutes is not a plan. Every strategy runs it at every step when
    its facility can power it (`_fixed_gangs`): it is a commitment, not a trade.
    """
    fp = field_prefix
    facility_ids = [f.id for f in fleet.facilities]
    fac_index: dict[str, int] = {}
    for i, facility in enumerate(fleet.facilities):
        if facility.id in fac_index:
            raise InvalidInput(f"{fp}facilities[{i}].id", f"duplicate facility id {facility.id!r}")
        if facility.market_node not in prices.electricity_usd_per_mwh:
            known = ", ".join(prices.electricity_usd_per_mwh) or "none"
            raise InvalidInput(f"{fp}facilities[{i}].market_node", f"no electricity prices for "
                               f"{facility.market_node!r} in the price history (it has: {known})")
        fac_index[facility.id] = i
    if sum(u.count for u in fleet.units) > MAX_UNITS:
        raise InvalidInput(f"{fp}units", f"more than {MAX_UNITS:,} units in all")

    units: list[UnitIn] = []
    seen: set[str] = set()
    asic_groups: dict[tuple[int, bytes, float, float], list[str]] = defaultdict(list)
    asic_points: dict[tuple[int, bytes, float, float], FloatArray] = {}
    pool_groups: dict[tuple[int, str, float, float], list[str]] = defaultdict(list)
    for i, u in enumerate(fleet.units):
        where = f"{fp}units[{i}]"
        f = fac_index.get(u.facility_id)
        if f is None:
            raise InvalidInput(f"{where}.facility_id", f"unknown facility {u.facility_id!r}")
        base = u.model_dump(exclude={"count"})
        width = len(str(u.count))
        ids = [u.id] if u.count == 1 else [f"{u.id}-{k:0{width}d}" for k in range(1, u.count + 1)]
        for uid in ids:
            if uid in seen:
                raise InvalidInput(f"{where}.id", f"duplicate unit id {uid!r}")
            seen.add(uid)
        if u.kind == "gpu":
            if u.model is None:
                raise InvalidInput(f"{where}.model", "a GPU needs its model (e.g. H100)")
            if u.hashrate_ths is not None or u.curve is not None:
                raise InvalidInput(f"{where}.hashrate_ths", "a GPU has no hashrate or curve")
            idle = u.idle_power_w if u.idle_power_w is not None else 0.1 * u.power_w
            if idle > u.power_w:
                raise InvalidInput(f"{where}.idle_power_w", "must not exceed power_w")
            pool_groups[(f, u.model, u.power_w, idle)].extend(ids)
        else:
            if u.idle_power_w is not None:
                raise InvalidInput(f"{where}.idle_power_w", "an ASIC has no idle power; it is curtailed")
            if u.hashrate_ths is None and u.curve is None:
                raise InvalidInput(f"{where}.hashrate_ths", "an ASIC needs hashrate_ths or a curve")
            points = np.asarray(u.curve if u.curve is not None else np.empty((0, 2)), dtype=np.float64)
            if len(points) and ((points[:, 0] <= 0).any() or (points[:, 1] < 0).any()):
                raise InvalidInput(f"{where}.curve", "points are [power_w > 0, hashrate_ths >= 0]")
            if u.hashrate_ths is not None:
                stock = (u.power_w, u.hashrate_ths)
                points = np.vstack([points, [stock]])
            else:  # a curve alone: the point nearest the stated power is the stock setting
                k = int(np.argmin(np.abs(points[:, 0] - u.power_w)))
                stock = (float(points[k, 0]), float(points[k, 1]))
            points = np.unique(points, axis=0)
            key = (f, points.tobytes(), *stock)
            asic_groups[key].extend(ids)
            asic_points[key] = points
        units.extend(UnitIn.model_construct(**{**base, "id": uid}) for uid in ids)

    classes = [AsicClass(key[0], ids, (key[2], key[3]), upper_hull(asic_points[key]))
               for key, ids in asic_groups.items()]
    pools = [GpuPool(key[0], key[1], key[2], key[3], ids) for key, ids in pool_groups.items()]
    cap_w = np.array([f.power_cap_kw * 1000.0 for f in fleet.facilities])
    idle_floor = np.zeros(len(facility_ids))
    for q in pools:
        idle_floor[q.facility] += q.idle_power_w * q.n
    for over in np.flatnonzero(idle_floor > cap_w + CAP_TOLERANCE_W).tolist():
        raise InvalidInput(f"{fp}facilities[{over}].power_cap_kw", f"{facility_ids[over]}'s idle GPUs alone draw "
                           f"{idle_floor[over] / 1000:.3f} kW, over its cap")

    mean_price = np.array([float(np.mean(prices.electricity_usd_per_mwh[f.market_node])) if len(prices) else 0.0
                           for f in fleet.facilities])
    room = [q.n for q in pools]
    gangs: list[Gang] = []
    order = sorted(range(len(fleet.workloads)), key=lambda j: -fleet.workloads[j].price_usd_per_gpu_hour)
    wl_ids: set[str] = set()
    for j in order:
        w = fleet.workloads[j]
        where = f"{fp}workloads[{j}]"
        if w.id in wl_ids or w.id in seen:
            raise InvalidInput(f"{where}.id", f"duplicate id {w.id!r}")
        wl_ids.add(w.id)
        if w.facility_id is not None and w.facility_id not in fac_index:
            raise InvalidInput(f"{where}.facility_id", f"unknown facility {w.facility_id!r}")
        fits = [qi for qi, q in enumerate(pools)
                if (w.gpu_model in ("any", q.model)) and q.n >= w.gpu_count
                and (w.facility_id is None or q.facility == fac_index[w.facility_id])]
        if not fits:
            at = f" at {w.facility_id}" if w.facility_id else ""
            raise InvalidInput(f"{where}.gpu_count",
                               f"no facility{at} has {w.gpu_count} GPUs of model {w.gpu_model!r} to run it")
        roomy = [qi for qi in fits if room[qi] >= w.gpu_count]
        if not roomy:
            raise InvalidInput(f"{where}.gpu_count",
                               f"the contracted workloads dearer than {w.id!r} leave at most "
                               f"{max(room[qi] for qi in fits)} GPUs of model {w.gpu_model!r} in one facility; "
                               f"it needs {w.gpu_count}")
        pool = min(roomy, key=lambda qi: (mean_price[pools[qi].facility], -room[qi], qi))
        room[pool] -= w.gpu_count
        gangs.append(Gang(w.id, pool, w.gpu_count, w.price_usd_per_gpu_hour))

    model = FleetModel(facility_ids=facility_ids, market_nodes=[f.market_node for f in fleet.facilities],
                       cap_w=cap_w, idle_floor_w=idle_floor, classes=classes, pools=pools, gangs=gangs,
                       units=units)
    model.unit_class = {uid: c for c, cls in enumerate(classes) for uid in cls.unit_ids}
    model.unit_pool = {uid: q for q, pool in enumerate(pools) for uid in pool.unit_ids}
    return model
