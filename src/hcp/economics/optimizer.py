"""The fleet optimizer: what every unit should do this hour, under each facility's power cap.

A pure function of prices, fleet and queued workloads (`POST /economics/optimize`). Each ASIC
mines at one point of its power curve or is curtailed; each workload is placed whole on GPUs
of its model in one facility, or not at all; a GPU left over is rented on spot or idles.
Objective: USD per hour = mining revenue + workload and spot revenue - energy - switching.
Longer than 600 lines because the model's variables, constraints and the reading of its
solution share index tables; split, each half would need the other's.

Admitted customer work (`committed`) is a constraint with its SLO, not revenue to trade: it
goes first (a premium larger than anything else a GPU or its watts could earn), so it is
placed whenever GPUs and power allow. Switching is priced against each unit's current mode:
an ASIC's start-up ramp and a GPU's switch lose what the unit would earn meanwhile, spread
over the horizon a decision holds for.

How it scales: identical units are interchangeable, so the problem is solved over classes
(ASICs with the same facility and curve; GPUs with the same facility, model and power;
workloads with the same model, size and price) with integer counts, not one variable per
unit. That reduced problem is small whatever the fleet size, and is solved exactly by HiGHS
(branch and bound to a 1e-6 relative gap); the counts are then dealt back to concrete units.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from hcp.core.errors import InvalidInput
from hcp.economics.schemas import Assignment, FacilityPower, OptimizeRequest, OptimizeResponse
from hcp.kernel.enums import PlanMode
from hcp.kernel.hashprice import hashprice_usd_per_th_day

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CURTAILED, MINING, WORKLOAD, SPOT, IDLE = 0, 1, 2, 3, 4
# Members, not plain text: assignments are built unvalidated (model_construct) for speed.
MODE_NAMES: tuple[str, ...] = (PlanMode.CURTAILED, PlanMode.MINING, PlanMode.WORKLOAD, PlanMode.SPOT, PlanMode.IDLE)
ANY_MODEL = "any"
MIP_REL_GAP = 1e-6


class InfeasiblePlan(InvalidInput):
    """Even with every ASIC curtailed and every GPU idle, a facility is over its cap."""


@dataclass
class Problem:
    """The request as arrays: one row per unit, facility and GPU model as small integers."""

    hashprice: float
    facility_ids: list[str]
    cap_w: FloatArray
    usd_per_wh: FloatArray  # electricity price per facility, USD per watt-hour
    unit_ids: list[str]
    is_gpu: npt.NDArray[np.bool_]
    facility: IntArray
    power_w: FloatArray
    hashrate_ths: FloatArray
    idle_power_w: FloatArray
    model: IntArray  # index into models; -1 for ASICs
    models: list[str]
    curves: dict[int, FloatArray]  # unit row -> [[power_w, hashrate_ths], ...] for ASICs with a curve
    workload_ids: list[str]
    workload_model: list[str]
    workload_count: IntArray
    workload_price: FloatArray
    spot_usd_per_hour: dict[str, float]
    workload_committed: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    current: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # mode code, -1 unknown
    asic_ramp_h: float = 0.0  # hours of revenue an ASIC start loses, per hour of horizon
    gpu_switch_h: float = 0.0  # the same for a GPU's change of role


@dataclass
class Solution:
    mode: npt.NDArray[np.int8]
    power_w: FloatArray
    hashrate_ths: FloatArray
    workload: IntArray  # workload row per unit, -1 if none
    placed: npt.NDArray[np.bool_]  # per workload
    solve_ms: float = 0.0


def build_problem(req: OptimizeRequest) -> Problem:
    """Check the references between parts of the request and lay it out as arrays."""
    facility_ids = [f.id for f in req.facilities]
    fac_index = {fid: i for i, fid in enumerate(facility_ids)}
    if len(fac_index) != len(facility_ids):
        dup = next(i for i, f in enumerate(facility_ids) if facility_ids.index(f) != i)
        raise InvalidInput(f"facilities[{dup}].id", f"duplicate facility id {facility_ids[dup]!r}")
    n = len(req.units)
    seen: set[str] = set()
    models: list[str] = []
    model_index: dict[str, int] = {}
    facility = np.empty(n, dtype=np.int64)
    is_gpu = np.empty(n, dtype=bool)
    power = np.empty(n)
    hashrate = np.zeros(n)
    idle = np.zeros(n)
    model = np.full(n, -1, dtype=np.int64)
    curves: dict[int, FloatArray] = {}
    for i, u in enumerate(req.units):
        if u.id in seen:
            raise InvalidInput(f"units[{i}].id", f"duplicate unit id {u.id!r}")
        seen.add(u.id)
        f = fac_index.get(u.facility_id)
        if f is None:
            raise InvalidInput(f"units[{i}].facility_id", f"unknown facility {u.facility_id!r}")
        facility[i], power[i] = f, u.power_w
        if u.kind == "gpu":
            is_gpu[i] = True
            if u.model is None:
                raise InvalidInput(f"units[{i}].model", "a GPU needs its model (e.g. H100)")
            if u.hashrate_ths is not None or u.curve is not None:
                raise InvalidInput(f"units[{i}].hashrate_ths", "a GPU has no hashrate or curve")
            if u.model not in model_index:
                model_index[u.model] = len(models)
                models.append(u.model)
            model[i] = model_index[u.model]
            idle_w = u.idle_power_w if u.idle_power_w is not None else 0.1 * u.power_w
            if idle_w > u.power_w:
                raise InvalidInput(f"units[{i}].idle_power_w", "must not exceed power_w")
            idle[i] = idle_w
        else:
            is_gpu[i] = False
            if u.model is not None and u.model == ANY_MODEL:
                raise InvalidInput(f"units[{i}].model", '"any" is not a model')
            if u.idle_power_w is not None:
                raise InvalidInput(f"units[{i}].idle_power_w", "an ASIC has no idle power; it is curtailed")
            if u.hashrate_ths is None and u.curve is None:
                raise InvalidInput(f"units[{i}].hashrate_ths", "an ASIC needs hashrate_ths or a curve")
            hashrate[i] = u.hashrate_ths if u.hashrate_ths is not None else 0.0
            if u.curve is not None:
                points = np.asarray(u.curve, dtype=np.float64)
                if (points[:, 0] <= 0).any() or (points[:, 1] < 0).any() or not np.isfinite(points).all():
                    raise InvalidInput(f"units[{i}].curve", "points are [power_w > 0, hashrate_ths >= 0]")
                if u.hashrate_ths is not None:
                    points = np.vstack([points, [[u.power_w, u.hashrate_ths]]])
                curves[i] = np.unique(points, axis=0)
    current = np.array([-1 if u.current_mode is None else MODE_NAMES.index(u.current_mode) for u in req.units],
                       dtype=np.int64)
    workload_ids: list[str] = []
    for j, w in enumerate(req.workloads):
        if w.id in seen:
            raise InvalidInput(f"workloads[{j}].id", f"duplicate id {w.id!r}")
        seen.add(w.id)
        workload_ids.append(w.id)
    for name, price in req.gpu_spot_usd_per_hour.items():
        if not (np.isfinite(price) and price >= 0):
            raise InvalidInput(f"gpu_spot_usd_per_hour.{name}", "must be a finite price >= 0")
    return Problem(
        hashprice=hashprice_usd_per_th_day(req.btc_usd, req.network_difficulty, req.fees_btc_per_block),
        facility_ids=facility_ids,
        cap_w=np.array([f.power_cap_kw * 1000.0 for f in req.facilities]),
        usd_per_wh=np.array([f.electricity_usd_per_mwh / 1e6 for f in req.facilities]),
        unit_ids=[u.id for u in req.units],
        is_gpu=is_gpu, facility=facility, power_w=power, hashrate_ths=hashrate,
        idle_power_w=idle, model=model, models=models, curves=curves,
        workload_ids=workload_ids,
        workload_model=[w.gpu_model for w in req.workloads],
        workload_count=np.array([w.gpu_count for w in req.workloads], dtype=np.int64),
        workload_price=np.array([w.price_usd_per_gpu_hour for w in req.workloads]),
        spot_usd_per_hour=dict(req.gpu_spot_usd_per_hour),
        workload_committed=np.array([w.committed for w in req.workloads], dtype=bool),
        current=current,
        asic_ramp_h=0.0 if req.switching is None else req.switching.asic_ramp_s / 3600 / req.switching.horizon_h,
        gpu_switch_h=0.0 if req.switching is None else req.switching.gpu_switch_s / 3600 / req.switching.horizon_h,
    )


def _group(keys: FloatArray, rows: IntArray) -> tuple[FloatArray, list[IntArray]]:
    """Distinct key rows, and for each the unit rows that share it (in their original order)."""
    if len(rows) == 0:
        return np.empty((0, keys.shape[1])), []
    distinct, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    return distinct, np.split(rows[order], np.cumsum(counts)[:-1])


@dataclass
class _Columns:
    """The reduced MILP being assembled: objective, bounds, and the sparse rows."""

    cost: list[float] = field(default_factory=list)  # USD/h gained per unit of the variable
    upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    cols: list[int] = field(default_factory=list)
    vals: list[float] = field(default_factory=list)
    row_lb: list[float] = field(default_factory=list)
    row_ub: list[float] = field(default_factory=list)

    def var(self, gain: float, upper: float, *, integer: bool = True) -> int:
        self.cost.append(gain)
        self.upper.append(upper)
        self.integer.append(integer)
        return len(self.cost) - 1

    def row(self, terms: list[tuple[int, float]], lb: float, ub: float) -> None:
        r = len(self.row_lb)
        for c, v in terms:
            self.rows.append(r)
            self.cols.append(c)
            self.vals.append(v)
        self.row_lb.append(lb)
        self.row_ub.append(ub)


@dataclass
class _AsicClass:
    facility: int
    options: FloatArray  # [[power_w, hashrate_ths]] worth running, by rising power
    members: IntArray
    cols: list[int] = field(default_factory=list)
    starting: bool = False  # curtailed now: mining means a start-up ramp


def _was_mining(p: Problem, rows: IntArray) -> npt.NDArray[np.bool_]:
    """Rows that mine now (or whose mode is unknown: no switch is charged for them)."""
    if not len(p.current):
        return np.ones(len(rows), dtype=bool)
    mining: npt.NDArray[np.bool_] = p.current[rows] != CURTAILED
    return mining


@dataclass
class _Pool:
    facility: int
    model: int
    power_w: float
    idle_w: float
    members: IntArray
    current: int = -1  # mode code the members are in now (-1 unknown)
    spot_col: int = -1

    def switch_h(self, p: Problem, mode: int) -> float:
        """Hours of the new role's earnings a change into `mode` loses, per hour of horizon."""
        return 0.0 if self.current == mode else p.gpu_switch_h


@dataclass
class _Placement:
    """Workloads of one group placed on one facility's GPUs of one model."""

    ranked: list[int]  # the group's workloads, dearest first
    count: int  # GPUs per workload
    col: int  # how many of the group go here
    split: list[tuple[int, int]]  # (pool, GPUs-from-pool column), or [(pool, -1)] for a lone pool


def _asic_classes(p: Problem) -> list[_AsicClass]:
    asic_rows = np.flatnonzero(~p.is_gpu)
    plain = asic_rows[~np.isin(asic_rows, np.fromiter(p.curves, dtype=np.int64, count=len(p.curves)))]
    keys = np.column_stack([p.facility[plain], p.power_w[plain], p.hashrate_ths[plain],
                            _was_mining(p, plain)]).astype(np.float64)
    distinct, members = _group(keys, plain)
    classes = [_AsicClass(int(k[0]), np.array([[k[1], k[2]]]), m, starting=not k[3])
               for k, m in zip(distinct, members, strict=True)]
    by_curve: dict[tuple[int, bytes, bool], list[int]] = defaultdict(list)
    for r, pts in p.curves.items():
        mining = bool(_was_mining(p, np.array([r]))[0])
        by_curve[(int(p.facility[r]), pts.tobytes(), mining)].append(r)
    for (fac, _, mining), rows in by_curve.items():
        classes.append(_AsicClass(fac, p.curves[rows[0]], np.array(rows, dtype=np.int64), starting=not mining))
    # Only points that earn more than curtailing and more than every cheaper point can be optimal.
    for c in classes:
        opts = c.options[np.argsort(c.options[:, 0], kind="stable")]
        gain = _asic_gain(p, c, opts)
        keep, best = [], 0.0
        for i, g in enumerate(gain):
            if g > best + 1e-12:
                keep.append(i)
                best = g
        c.options = opts[keep]
    return [c for c in classes if len(c.options)]


def _asic_gain(p: Problem, c: _AsicClass, options: FloatArray) -> FloatArray:
    """USD/h of one unit of the class at each option, less its start-up ramp if it is curtailed now."""
    revenue = options[:, 1] * p.hashprice / 24.0
    gain: FloatArray = revenue - options[:, 0] * p.usd_per_wh[c.facility]
    if c.starting:
        gain = gain - revenue * p.asic_ramp_h
    return gain


def _pools(p: Problem) -> list[_Pool]:
    gpu_rows = np.flatnonzero(p.is_gpu)
    now = p.current[gpu_rows] if len(p.current) else np.full(len(gpu_rows), -1)
    keys = np.column_stack([p.facility[gpu_rows], p.model[gpu_rows], p.power_w[gpu_rows],
                            p.idle_power_w[gpu_rows], now]).astype(np.float64)
    distinct, members = _group(keys, gpu_rows)
    return [_Pool(int(k[0]), int(k[1]), float(k[2]), float(k[3]), m, current=int(k[4]))
            for k, m in zip(distinct, members, strict=True)]


def _commitment_premium(p: Problem) -> float:
    """USD/h per GPU that puts committed work ahead of anything else: more than a GPU could earn
    on spot plus what its watts could earn mining (or any workload's price)."""
    per_w = 0.0
    for i in np.flatnonzero(~p.is_gpu):
        opts = p.curves.get(int(i), np.array([[p.power_w[i], p.hashrate_ths[i]]]))
        per_w = max(per_w, float(np.max(opts[:, 1] * p.hashprice / 24.0 / opts[:, 0])))
    gpu_w = float(p.power_w[p.is_gpu].max()) if p.is_gpu.any() else 0.0
    spot = max(p.spot_usd_per_hour.values(), default=0.0)
    price = float(p.workload_price.max()) if len(p.workload_price) else 0.0
    return 10.0 * (per_w * gpu_w + spot + price) + 1.0


def solve(p: Problem, *, time_limit_s: float = 30.0) -> Solution:
    started = time.perf_counter()
    n_fac = len(p.facility_ids)
    classes = _asic_classes(p)
    pools = _pools(p)
    idle_floor = np.zeros(n_fac)
    for q in pools:
        idle_floor[q.facility] += q.idle_w * len(q.members)
    over = np.flatnonzero(idle_floor > p.cap_w + 1e-6)
    if len(over):
        f = int(over[0])
        raise InfeasiblePlan(
            f"facilities[{f}].power_cap_kw",
            f"{p.facility_ids[f]}'s idle GPUs alone draw {idle_floor[f] / 1000:.3f} kW, over its cap",
        )
    m = _Columns()
    power_terms: list[list[tuple[int, float]]] = [[] for _ in range(n_fac)]

    for c in classes:
        for (pw, _hs), gain in zip(c.options, _asic_gain(p, c, c.options), strict=True):
            col = m.var(float(gain), len(c.members))
            c.cols.append(col)
            power_terms[c.facility].append((col, pw))
        if len(c.cols) > 1:
            m.row([(col, 1.0) for col in c.cols], 0.0, len(c.members))

    # GPU columns measure gains against idling: a busy GPU adds (power - idle) watts.
    pool_terms: list[list[tuple[int, float]]] = [[] for _ in pools]
    for qi, q in enumerate(pools):
        e = p.usd_per_wh[q.facility]
        spot = p.spot_usd_per_hour.get(p.models[q.model])
        extra_w = q.power_w - q.idle_w
        if spot is not None and spot * (1 - q.switch_h(p, SPOT)) - extra_w * e > 0:
            q.spot_col = m.var(spot * (1 - q.switch_h(p, SPOT)) - extra_w * e, len(q.members))
            pool_terms[qi].append((q.spot_col, 1.0))
            power_terms[q.facility].append((q.spot_col, extra_w))

    pools_at: dict[tuple[int, int], list[int]] = defaultdict(list)
    for qi, q in enumerate(pools):
        pools_at[(q.facility, q.model)].append(qi)
    gpus_at = {key: sum(len(pools[qi].members) for qi in qis) for key, qis in pools_at.items()}

    # Workloads of one model and size compete for the same GPUs, so a placed one is never
    # cheaper than an unplaced one of its group: per group, decide how many go to each
    # facility (integers), and earn the prices of the dearest that many (a concave sum,
    # modelled by continuous "rank" variables that fill in price order).
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for j in range(len(p.workload_ids)):
        groups[(p.workload_model[j], int(p.workload_count[j]))].append(j)
    model_index = {name: i for i, name in enumerate(p.models)}
    placements: list[_Placement] = []
    value = p.workload_price.copy()
    if len(p.workload_committed) and p.workload_committed.any():
        value[p.workload_committed] += _commitment_premium(p)
    for (wmodel, count), members in groups.items():
        ranked = sorted(members, key=lambda j: -value[j])
        wanted = list(range(len(p.models))) if wmodel == ANY_MODEL else (
            [model_index[wmodel]] if wmodel in model_index else [])
        link: list[tuple[int, float]] = []
        for (fac, mdl), qis in pools_at.items():
            if mdl not in wanted or gpus_at[(fac, mdl)] < count:
                continue
            e = p.usd_per_wh[fac]
            most = min(len(members), gpus_at[(fac, mdl)] // count)
            # A switch loses a moment of the dearest price of the group (small: a GPU switches in < 1 s).
            switch_usd = float(p.workload_price[ranked[0]])
            if len(qis) == 1:
                q = pools[qis[0]]
                n = m.var(-count * ((q.power_w - q.idle_w) * e + switch_usd * q.switch_h(p, WORKLOAD)), most)
                pool_terms[qis[0]].append((n, float(count)))
                power_terms[fac].append((n, count * (q.power_w - q.idle_w)))
                placements.append(_Placement(ranked, count, n, [(qis[0], -1)]))
            else:
                n = m.var(0.0, most)
                gang = [(n, -float(count))]
                split = []
                for qi in qis:
                    q = pools[qi]
                    u = m.var(-((q.power_w - q.idle_w) * e + switch_usd * q.switch_h(p, WORKLOAD)), len(q.members))
                    pool_terms[qi].append((u, 1.0))
                    power_terms[fac].append((u, q.power_w - q.idle_w))
                    gang.append((u, 1.0))
                    split.append((qi, u))
                m.row(gang, 0.0, 0.0)
                placements.append(_Placement(ranked, count, n, split))
            link.append((n, -1.0))
        if not link:
            continue
        prices = value[ranked]
        distinct, start_at = np.unique(-prices, return_index=True)
        sizes = np.diff(np.append(start_at, len(ranked)))
        for price, size in zip(-distinct, sizes, strict=True):
            link.append((m.var(count * float(price), float(size), integer=False), 1.0))
        m.row(link, 0.0, 0.0)

    for qi, terms in enumerate(pool_terms):
        if len(terms) > 1:  # a lone variable is already bounded by the pool's size
            m.row(terms, 0.0, len(pools[qi].members))
    for f, terms in enumerate(power_terms):
        if terms:
            m.row(terms, -np.inf, p.cap_w[f] - idle_floor[f])

    x = _solve_milp(m, time_limit_s)
    solution = _deal(p, classes, pools, placements, x)
    solution.solve_ms = (time.perf_counter() - started) * 1000
    return solution


def _solve_milp(m: _Columns, time_limit_s: float) -> FloatArray:
    n = len(m.cost)
    if n == 0:
        return np.zeros(0)
    c = -np.asarray(m.cost)  # milp minimises
    constraints = []
    if m.row_lb:
        a = sparse.csr_array((m.vals, (m.rows, m.cols)), shape=(len(m.row_lb), n))
        constraints.append(LinearConstraint(a, np.asarray(m.row_lb), np.asarray(m.row_ub)))
    result = milp(
        c, integrality=np.asarray(m.integer, dtype=np.int8),
        bounds=Bounds(np.zeros(n), np.asarray(m.upper, dtype=np.float64)),
        constraints=constraints,
        options={"time_limit": time_limit_s, "mip_rel_gap": MIP_REL_GAP, "presolve": True},
    )
    if result.x is None:
        # Doing nothing (all curtailed, all idle) is always feasible once the idle floor fits.
        return np.zeros(n)
    rounded: FloatArray = np.rint(np.asarray(result.x, dtype=np.float64))
    return rounded


def _deal(
    p: Problem, classes: list[_AsicClass], pools: list[_Pool],
    placements: list[_Placement], x: FloatArray,
) -> Solution:
    """Turn class counts back into a mode per unit and a set of GPUs per placed workload."""
    n = len(p.unit_ids)
    mode = np.where(p.is_gpu, IDLE, CURTAILED).astype(np.int8)
    power = np.where(p.is_gpu, p.idle_power_w, 0.0)
    hashrate = np.zeros(n)
    workload = np.full(n, -1, dtype=np.int64)
    placed = np.zeros(len(p.workload_ids), dtype=bool)

    for c in classes:
        start = 0
        for col, (pw, hs) in zip(c.cols, c.options, strict=True):
            k = int(x[col])
            rows = c.members[start:start + k]
            mode[rows], power[rows], hashrate[rows] = MINING, pw, hs
            start += k

    next_free = [0] * len(pools)
    taken: dict[int, int] = defaultdict(int)  # id(ranked members) -> how many are placed so far

    def take(qi: int, k: int) -> IntArray:
        rows = pools[qi].members[next_free[qi]:next_free[qi] + k]
        next_free[qi] += k
        return rows

    for pl in placements:
        instances = int(x[pl.col])
        if instances == 0:
            continue
        if pl.split[0][1] == -1:
            gpus = take(pl.split[0][0], instances * pl.count)
        else:
            gpus = np.concatenate([take(qi, int(x[u])) for qi, u in pl.split])
        first = taken[id(pl.ranked)]
        for i in range(instances):
            j = pl.ranked[first + i]  # the dearest workloads of the group go first
            rows = gpus[i * pl.count:(i + 1) * pl.count]
            mode[rows], workload[rows], power[rows] = WORKLOAD, j, p.power_w[rows]
            placed[j] = True
        taken[id(pl.ranked)] += instances

    for qi, q in enumerate(pools):
        if q.spot_col >= 0:
            rows = take(qi, int(x[q.spot_col]))
            mode[rows], power[rows] = SPOT, q.power_w
    return Solution(mode=mode, power_w=power, hashrate_ths=hashrate, workload=workload, placed=placed)


def objective_usd_per_hour(p: Problem, s: Solution) -> float:
    """USD/h of a plan, recomputed from the per-unit decisions (not from the solver)."""
    e = p.usd_per_wh[p.facility]
    revenue = s.hashrate_ths.sum() * p.hashprice / 24.0
    busy = s.mode == WORKLOAD
    revenue += float(p.workload_price[s.workload[busy]].sum()) if busy.any() else 0.0
    spot = np.flatnonzero(s.mode == SPOT)
    if len(spot):
        revenue += sum(p.spot_usd_per_hour[p.models[int(mi)]] for mi in p.model[spot])
    return float(revenue - (s.power_w * e).sum())


def facility_usd_per_hour(p: Problem, s: Solution) -> FloatArray:
    """`objective_usd_per_hour` split by facility (where each unit earns and draws)."""
    value = s.hashrate_ths * p.hashprice / 24.0 - s.power_w * p.usd_per_wh[p.facility]
    busy = s.mode == WORKLOAD
    if busy.any():
        value = value + np.where(busy, p.workload_price[np.where(busy, s.workload, 0)], 0.0)
    spot = s.mode == SPOT
    if spot.any():
        price = np.array([p.spot_usd_per_hour.get(m, 0.0) for m in p.models] + [0.0])
        value = value + np.where(spot, price[p.model], 0.0)  # -1 (an ASIC) reads the trailing 0
    return np.bincount(p.facility, weights=value, minlength=len(p.facility_ids)).astype(np.float64)


def switching_usd_per_hour(p: Problem, s: Solution) -> float:
    """What the plan's changes from the current modes cost, spread over the horizon (USD/h)."""
    if not len(p.current):
        return 0.0
    starts = (p.current == CURTAILED) & (s.mode == MINING)
    cost = float(s.hashrate_ths[starts].sum()) * p.hashprice / 24.0 * p.asic_ramp_h
    moved = p.is_gpu & (p.current >= 0) & (s.mode != p.current) & ((s.mode == SPOT) | (s.mode == WORKLOAD))
    for i in np.flatnonzero(moved):
        value = (p.spot_usd_per_hour[p.models[int(p.model[i])]] if s.mode[i] == SPOT
                 else float(p.workload_price[s.workload[i]]))
        cost += value * p.gpu_switch_h
    return cost


def committed_gpus(p: Problem, s: Solution) -> int:
    """GPUs the plan gives to committed (admitted) work: what no trade may lower."""
    if not len(p.workload_committed):
        return 0
    return int(p.workload_count[s.placed & p.workload_committed].sum())


def facility_power_w(p: Problem, s: Solution) -> FloatArray:
    return np.bincount(p.facility, weights=s.power_w, minlength=len(p.facility_ids)).astype(np.float64)


def violations(p: Problem, s: Solution) -> list[str]:
    """Every rule the plan breaks (empty for a valid plan): caps, gangs, one workload per GPU."""
    problems = []
    used = facility_power_w(p, s)
    for f in np.flatnonzero(used > p.cap_w + 1e-6):
        problems.append(f"{p.facility_ids[f]} draws {used[f]:.1f} W over its cap {p.cap_w[f]:.1f} W")
    if ((s.mode == WORKLOAD) & ~p.is_gpu).any() or ((s.mode == MINING) & p.is_gpu).any():
        problems.append("a unit runs a mode its kind cannot")
    for j in np.flatnonzero(s.placed):
        rows = np.flatnonzero(s.workload == j)
        want = p.workload_model[j]
        if len(rows) != p.workload_count[j]:
            problems.append(f"workload {p.workload_ids[j]} holds {len(rows)} GPUs, not {p.workload_count[j]}")
        if len(set(p.facility[rows].tolist())) > 1:
            problems.append(f"workload {p.workload_ids[j]} spans facilities")
        models = {p.models[int(mi)] for mi in p.model[rows]}
        if len(models) > 1 or (want != ANY_MODEL and models != {want}):
            problems.append(f"workload {p.workload_ids[j]} runs on {sorted(models)}, wanted {want}")
    if ((s.workload >= 0) != (s.mode == WORKLOAD)).any():
        problems.append("a GPU's workload and mode disagree")
    return problems


def optimize(req: OptimizeRequest, *, time_limit_s: float = 30.0) -> OptimizeResponse:
    p = build_problem(req)
    s = solve(p, time_limit_s=time_limit_s)
    broken = violations(p, s)
    if broken:  # never hand out a plan that breaks a rule
        raise RuntimeError("optimizer produced an invalid plan: " + "; ".join(broken))
    return to_response(p, s)


def to_response(p: Problem, s: Solution) -> OptimizeResponse:
    modes = s.mode.tolist()
    power = np.round(s.power_w, 3).tolist()
    hashrate = np.round(s.hashrate_ths, 6).tolist()
    wl = s.workload.tolist()
    assignments = []
    for i, uid in enumerate(p.unit_ids):
        mode = modes[i]
        item: dict[str, Any] = {"unit_id": uid, "mode": MODE_NAMES[mode], "power_w": power[i]}
        if mode == MINING:
            item["hashrate_ths"] = hashrate[i]
        elif mode == WORKLOAD:
            item["workload_id"] = p.workload_ids[wl[i]]
        assignments.append(Assignment.model_construct(**item))
    used = facility_power_w(p, s)
    return OptimizeResponse(
        objective_usd_per_hour=round(objective_usd_per_hour(p, s), 6),
        hashprice_usd_per_th_day=p.hashprice,
        assignments=assignments,
        facilities=[FacilityPower(id=fid, power_kw=round(float(used[f]) / 1000, 6),
                                  power_cap_kw=float(p.cap_w[f]) / 1000)
                    for f, fid in enumerate(p.facility_ids)],
        unplaced_workloads=[p.workload_ids[j] for j in np.flatnonzero(~s.placed)],
        solve_ms=round(s.solve_ms, 3),
    )
