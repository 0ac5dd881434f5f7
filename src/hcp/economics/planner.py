"""The live planner: the optimizer's answer, made steady enough to run a fleet on.

On every market tick the optimizer says what would be best now. Acting on every wiggle would
flap units between mining and curtailed, which costs ramp time and wear. So the planner keeps
the current plan unless the new one earns at least `min_gain_usd_per_hour` more, and a unit
that changed mode less than `min_dwell_s` ago keeps its mode (it is pinned) unless a power
cap leaves no other choice. Demand-response windows lower a facility's cap for their span.

One view of the fleet: a GPU held by a workload (the allocations table, as the orchestrator
wrote it) is a fixed commitment, its power counted before anything else is decided; queued
admitted work is placed before any GPU goes to spot (unless its owner's price limit is under
the spot price); every workload left waiting carries the reason. Switching is priced: the
optimizer charges an ASIC's ramp and a GPU's switch against each unit's current mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from hcp.economics.optimizer import (
    CURTAILED,
    IDLE,
    MINING,
    MODE_NAMES,
    SPOT,
    WORKLOAD,
    InfeasiblePlan,
    Problem,
    Solution,
    build_problem,
    committed_gpus,
    facility_power_w,
    facility_usd_per_hour,
    objective_usd_per_hour,
    solve,
    switching_usd_per_hour,
    violations,
)
from hcp.economics.schemas import OptimizeRequest
from hcp.kernel.hashprice import break_even_usd_per_mwh

MODES = {name: code for code, name in enumerate(MODE_NAMES)}


@dataclass(frozen=True)
class FacilityState:
    id: str
    name: str
    power_cap_kw: float
    market_node: str
    electricity_usd_per_mwh: float


@dataclass(frozen=True)
class UnitState:
    id: str
    kind: str  # "asic" | "gpu"
    facility_id: str
    model: str
    power_w: float
    hashrate_ths: float | None = None
    curve: tuple[tuple[float, float], ...] | None = None
    idle_power_w: float | None = None
    # Units that are offline or unhealthy are left out of the plan (they draw nothing we decide).
    available: bool = True
    # The workload that holds the unit now (the allocations table) and its tenant: a commitment.
    workload_id: str | None = None
    tenant_id: str | None = None


@dataclass(frozen=True)
class WorkloadDemand:
    """A queued workload: admitted work the plan must place, unless its owner's price limit
    (`max_price_usd_per_gpu_hour`) is under what the GPU earns on spot."""

    id: str
    gpu_model: str
    gpu_count: int
    price_usd_per_gpu_hour: float
    tenant_id: str | None = None
    max_price_usd_per_gpu_hour: float | None = None

    def spot_usd_per_hour(self, spot_usd_per_hour: dict[str, float]) -> float:
        """What its GPUs would earn on spot instead (the cheapest model it may run on)."""
        models = list(spot_usd_per_hour) if self.gpu_model == "any" else [self.gpu_model]
        return min((spot_usd_per_hour[m] for m in models if m in spot_usd_per_hour), default=0.0)

    def committed(self, spot_usd_per_hour: dict[str, float]) -> bool:
        if self.max_price_usd_per_gpu_hour is None:
            return True
        return self.max_price_usd_per_gpu_hour >= self.spot_usd_per_hour(spot_usd_per_hour)


@dataclass(frozen=True)
class Prices:
    btc_usd: float
    network_difficulty: float
    fees_btc_per_block: float
    gpu_spot_usd_per_hour: dict[str, float]
    ts: datetime


@dataclass(frozen=True)
class DemandResponse:
    """A window in which a facility must stay under a lower cap (4CP, a grid operator's call)."""

    id: str
    facility_id: str
    power_cap_kw: float
    starts_at: datetime
    ends_at: datetime
    reason: str


@dataclass(frozen=True)
class Decision:
    unit_id: str
    mode: str
    power_w: float
    hashrate_ths: float | None = None
    workload_id: str | None = None
    tenant_id: str | None = None  # for whom the unit works (a workload's tenant)
    facility_id: str | None = None
    held: bool = False  # an allocation held the unit when the plan was made (running work)
    spot_ends_at: str | None = None  # a spot rental given notice: the GPU stays rented until then


@dataclass
class Plan:
    ts: datetime
    objective_usd_per_hour: float
    hashprice_usd_per_th_day: float
    decisions: dict[str, Decision]
    facilities: list[dict[str, Any]]
    unplaced_workloads: list[str]
    changed: list[str]  # units whose mode changed with this plan
    reason: str  # why this plan (or why the previous one was kept)
    optimum_usd_per_hour: float  # what the unconstrained optimizer would earn now
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)  # queued workload -> why it is not placed
    switching_usd_per_hour: float = 0.0  # what this plan's changes cost, over the dwell horizon

    def summary(self) -> dict[str, Any]:
        by_mode: dict[str, int] = {}
        for d in self.decisions.values():
            by_mode[d.mode] = by_mode.get(d.mode, 0) + 1
        return {
            "ts": self.ts.isoformat(), "objective_usd_per_hour": round(self.objective_usd_per_hour, 4),
            "optimum_usd_per_hour": round(self.optimum_usd_per_hour, 4),
            "hashprice_usd_per_th_day": self.hashprice_usd_per_th_day, "units_by_mode": by_mode,
            "changed": len(self.changed), "reason": self.reason, "facilities": self.facilities,
            "unplaced_workloads": self.unplaced_workloads,
            "waiting": [{"workload_id": wid, "reason": why} for wid, why in self.waiting.items()],
            "switching_usd_per_hour": round(self.switching_usd_per_hour, 4),
        }


@dataclass
class Hysteresis:
    min_gain_usd_per_hour: float = 1.0
    min_dwell_s: float = 900.0
    asic_ramp_s: float = 600.0  # an ASIC's start-up ramp: the revenue a start loses
    gpu_switch_s: float = 0.5  # a GPU's switch between roles
    spot_notice_s: float = 120.0  # a spot rental ends this long after the plan gives notice

    @property
    def horizon_h(self) -> float:
        """How long a decision is expected to hold, over which a switch's cost is spread: an hour (the
        prices' own rhythm), or the dwell if longer."""
        return max(self.min_dwell_s, 3600.0) / 3600.0


def effective_caps(
    facilities: list[FacilityState], events: list[DemandResponse], now: datetime
) -> dict[str, tuple[float, DemandResponse | None]]:
    """Each facility's cap now: the lowest of its own and any demand-response window in force."""
    caps: dict[str, tuple[float, DemandResponse | None]] = {f.id: (f.power_cap_kw, None) for f in facilities}
    for ev in events:
        if ev.starts_at <= now < ev.ends_at and ev.facility_id in caps and ev.power_cap_kw < caps[ev.facility_id][0]:
            caps[ev.facility_id] = (ev.power_cap_kw, ev)
    return caps


def build_request(
    prices: Prices, facilities: list[FacilityState], units: list[UnitState],
    workloads: list[WorkloadDemand], caps: dict[str, tuple[float, DemandResponse | None]],
    *, prefer_running: dict[str, str] | None = None, hysteresis: Hysteresis | None = None,
) -> OptimizeRequest:
    """The optimizer's request for the units nobody holds. Units held by a workload are fixed:
    their power comes off their facility's cap. Units running now come first, so that among
    identical units the optimizer keeps the ones already in a mode (it deals modes to a class in
    request order); with `hysteresis`, leaving the current mode is priced."""
    running = prefer_running or {}
    held_w: dict[str, float] = {}
    idle_w: dict[str, float] = {}  # what the GPUs left to decide draw at the least
    for u in units:
        if u.workload_id is not None and u.available:
            held_w[u.facility_id] = held_w.get(u.facility_id, 0.0) + u.power_w
        elif u.kind == "gpu" and u.available:
            idle = u.idle_power_w if u.idle_power_w is not None else 0.1 * u.power_w
            idle_w[u.facility_id] = idle_w.get(u.facility_id, 0.0) + idle
    order = sorted((u for u in units if u.available and u.workload_id is None),
                   key=lambda u: 0 if running.get(u.id) in ("mining", "workload", "spot") else 1)
    body: dict[str, Any] = {
        "btc_usd": prices.btc_usd, "network_difficulty": prices.network_difficulty,
        "fees_btc_per_block": prices.fees_btc_per_block,
        "facilities": [{"id": f.id,
                        "power_cap_kw": _left_kw(caps[f.id][0], held_w.get(f.id, 0.0), idle_w.get(f.id, 0.0)),
                        "electricity_usd_per_mwh": f.electricity_usd_per_mwh} for f in facilities],
        "units": [_unit_body(u, running.get(u.id) if hysteresis else None) for u in order],
        "workloads": [{"id": w.id, "gpu_model": w.gpu_model, "gpu_count": w.gpu_count,
                       "price_usd_per_gpu_hour": w.price_usd_per_gpu_hour,
                       "committed": w.committed(prices.gpu_spot_usd_per_hour)} for w in workloads],
        "gpu_spot_usd_per_hour": prices.gpu_spot_usd_per_hour,
    }
    if hysteresis is not None:
        body["switching"] = {"asic_ramp_s": hysteresis.asic_ramp_s, "gpu_switch_s": hysteresis.gpu_switch_s,
                             "horizon_h": hysteresis.horizon_h}
    return OptimizeRequest.model_validate(body)


def _left_kw(cap_kw: float, held_w: float, idle_w: float) -> float:
    """The cap left once running work is counted; never under the idle GPUs' floor (when running
    work alone fills a lowered cap, the rest idles and the facility row shows it over its cap)."""
    return max(cap_kw - held_w / 1000, idle_w / 1000)


def _unit_body(u: UnitState, current_mode: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": u.id, "kind": u.kind, "facility_id": u.facility_id, "power_w": u.power_w}
    if current_mode is not None:
        # A GPU planned for a queued workload that has not started is idle, as far as switching goes.
        body["current_mode"] = "idle" if current_mode == "workload" else current_mode
    if u.kind == "asic":
        body["hashrate_ths"] = u.hashrate_ths or 0.0
        if u.curve:
            body["curve"] = [list(point) for point in u.curve]
    else:
        body["model"] = u.model
        if u.idle_power_w is not None:
            body["idle_power_w"] = u.idle_power_w
    return body


def _status_quo(p: Problem, current: dict[str, Decision]) -> Solution | None:
    """The current plan under today's prices and fleet, or None if it no longer fits."""
    n = len(p.unit_ids)
    mode = np.where(p.is_gpu, IDLE, CURTAILED).astype(np.int8)
    power = np.where(p.is_gpu, p.idle_power_w, 0.0)
    hashrate = np.zeros(n)
    workload = np.full(n, -1, dtype=np.int64)
    workload_row = {wid: j for j, wid in enumerate(p.workload_ids)}
    placed = np.zeros(len(p.workload_ids), dtype=bool)
    for i, uid in enumerate(p.unit_ids):
        d = current.get(uid)
        if d is None:
            continue
        code = MODES[d.mode]
        if code == MINING and not p.is_gpu[i]:
            mode[i], power[i], hashrate[i] = MINING, d.power_w, d.hashrate_ths or 0.0
        elif code == SPOT and p.is_gpu[i] and p.models[p.model[i]] in p.spot_usd_per_hour:
            mode[i], power[i] = SPOT, p.power_w[i]
        elif code == WORKLOAD and p.is_gpu[i] and d.workload_id in workload_row:
            j = workload_row[d.workload_id]
            mode[i], power[i], workload[i] = WORKLOAD, p.power_w[i], j
            placed[j] = True
    s = Solution(mode=mode, power_w=power, hashrate_ths=hashrate, workload=workload, placed=placed)
    return None if violations(p, s) else s


def _decisions(p: Problem, s: Solution, tenants: dict[str, str | None] | None = None) -> dict[str, Decision]:
    out = {}
    for i, uid in enumerate(p.unit_ids):
        code = int(s.mode[i])
        workload_id = p.workload_ids[int(s.workload[i])] if code == WORKLOAD else None
        out[uid] = Decision(
            unit_id=uid, mode=MODE_NAMES[code], power_w=float(s.power_w[i]),
            hashrate_ths=float(s.hashrate_ths[i]) if code == MINING else None,
            workload_id=workload_id, tenant_id=(tenants or {}).get(workload_id) if workload_id else None,
        )
    return out


def _pin(req: OptimizeRequest, current: dict[str, Decision], pinned: set[str]) -> OptimizeRequest:
    """The problem with pinned ASICs held where they are: a curtailed one stays off (it leaves
    the problem) and a mining one keeps its power (it leaves the problem as a fixed load)."""
    fixed_w: dict[str, float] = {}
    units = []
    for u in req.units:
        d = current.get(u.id)
        if u.id in pinned and d is not None and u.kind == "asic":
            if d.mode == "mining":
                fixed_w[u.facility_id] = fixed_w.get(u.facility_id, 0.0) + d.power_w
            continue
        units.append(u)
    facilities = [f.model_copy(update={"power_cap_kw": f.power_cap_kw - fixed_w.get(f.id, 0.0) / 1000})
                  for f in req.facilities]
    if any(f.power_cap_kw < 0 for f in facilities):
        raise InfeasiblePlan("power_cap_kw", "pinned units alone exceed the cap")
    return req.model_copy(update={"units": units, "facilities": facilities})


def decide(
    *, now: datetime, prices: Prices, facilities: list[FacilityState], units: list[UnitState],
    workloads: list[WorkloadDemand], events: list[DemandResponse], previous: Plan | None,
    last_change: dict[str, datetime], hysteresis: Hysteresis,
) -> Plan:
    caps = effective_caps(facilities, events, now)
    current = previous.decisions if previous else {}
    running = {uid: d.mode for uid, d in current.items()}
    holders = {u.workload_id for u in units if u.workload_id is not None}
    demand = [w for w in workloads if w.id not in holders]  # placed meanwhile: it holds its units
    req = build_request(prices, facilities, units, demand, caps, prefer_running=running, hysteresis=hysteresis)
    p = build_problem(req)
    best = solve(p)
    optimum = objective_usd_per_hour(p, best)
    quo = _status_quo(p, current) if previous else None
    reason = "first plan" if previous is None else "optimum"

    if quo is not None and committed_gpus(p, quo) >= committed_gpus(p, best):
        gain = _net(p, best) - _net(p, quo)
        if gain < hysteresis.min_gain_usd_per_hour:
            chosen, chosen_p = quo, p
            reason = (f"kept: the optimum earns only ${gain:.2f}/h more after switching "
                      f"(threshold ${hysteresis.min_gain_usd_per_hour:.2f}/h)")
        else:
            chosen, chosen_p, reason = _respect_dwell(req, p, best, current, last_change, now, hysteresis)
            if _net(chosen_p, chosen) - _net(p, quo) < hysteresis.min_gain_usd_per_hour:
                chosen, chosen_p = quo, p
                reason = "kept: units that would gain are inside their dwell time"
    elif quo is not None:  # admitted work waits that the optimum places: it goes first
        chosen, chosen_p, reason = _respect_dwell(req, p, best, current, last_change, now, hysteresis)
        reason = "queued work placed before spot and mining; " + reason
    elif previous is not None:
        chosen, chosen_p, reason = _respect_dwell(req, p, best, current, last_change, now, hysteresis)
        reason = "the current plan no longer fits (cap or fleet changed); " + reason
    else:
        chosen, chosen_p = best, p

    tenants = {w.id: w.tenant_id for w in demand}
    decisions = _decisions(chosen_p, chosen, tenants)
    held_w = dict.fromkeys((f.id for f in facilities), 0.0)
    for u in units:
        if u.workload_id is not None:  # a commitment: the allocations table decided it
            decisions[u.id] = Decision(unit_id=u.id, mode="workload", power_w=u.power_w if u.available else 0.0,
                                       workload_id=u.workload_id, tenant_id=u.tenant_id, held=True)
            if u.available:
                held_w[u.facility_id] = held_w.get(u.facility_id, 0.0) + u.power_w
        elif not u.available:  # unavailable units are reported as such, decided by nobody
            decisions[u.id] = Decision(unit_id=u.id, mode="curtailed" if u.kind == "asic" else "idle", power_w=0.0)
    by_unit = {u.id: u for u in units}
    for uid, d in decisions.items():
        decisions[uid] = replace(d, facility_id=by_unit[uid].facility_id if uid in by_unit else None)
    renting = _serve_spot_notice(decisions, current, by_unit, now, hysteresis.spot_notice_s)
    changed = [uid for uid, d in decisions.items() if uid in current and current[uid].mode != d.mode]
    if previous is None:
        changed = [uid for uid, d in decisions.items() if d.mode not in ("curtailed", "idle")]
    used = facility_power_w(chosen_p, chosen)
    earned = facility_usd_per_hour(chosen_p, chosen)
    facility_rows = []
    for f_i, f in enumerate(facilities):
        cap, event = caps[f.id]
        facility_rows.append({
            "id": f.id, "name": f.name, "power_kw": round((float(used[f_i]) + held_w[f.id]) / 1000, 3),
            "power_cap_kw": cap, "electricity_usd_per_mwh": f.electricity_usd_per_mwh,
            "running_work_kw": round(held_w[f.id] / 1000, 3),
            "profit_usd_per_hour": round(float(earned[f_i]), 4),
            "demand_response": None if event is None else {"id": event.id, "reason": event.reason,
                                                           "ends_at": event.ends_at.isoformat()},
        })
    unplaced = [chosen_p.workload_ids[j] for j in range(len(chosen_p.workload_ids)) if not chosen.placed[j]]
    unplaced += sorted(renting)
    by_id = {w.id: w for w in demand}
    plan = Plan(
        ts=now, objective_usd_per_hour=objective_usd_per_hour(chosen_p, chosen),
        hashprice_usd_per_th_day=p.hashprice, decisions=decisions, facilities=facility_rows,
        unplaced_workloads=unplaced, changed=changed, reason=reason, optimum_usd_per_hour=optimum,
        switching_usd_per_hour=switching_usd_per_hour(chosen_p, chosen),
    )
    plan.waiting = {wid: renting.get(wid) or why_waiting(by_id[wid], plan, units, facility_rows, prices)
                    for wid in unplaced}
    plan.recommendations = recommendations(plan, facilities, units, caps, prices)
    return plan


def _serve_spot_notice(
    decisions: dict[str, Decision], current: dict[str, Decision], units: dict[str, UnitState], now: datetime,
    notice_s: float,
) -> dict[str, str]:
    """A GPU leaving spot stays rented until its notice runs out: it keeps its spot decision
    (and power) until then, and a workload planned onto it waits, its other GPUs idle. Returns
    those workloads with the reason they wait."""
    waiting: dict[str, str] = {}
    for uid, d in list(decisions.items()):
        before = current.get(uid)
        if before is None or before.mode != "spot" or d.mode == "spot" or d.held:
            continue
        ends = before.spot_ends_at or (now + timedelta(seconds=notice_s)).isoformat()
        if now >= datetime.fromisoformat(ends):
            continue
        decisions[uid] = Decision(unit_id=uid, mode="spot", power_w=before.power_w, facility_id=d.facility_id,
                                  spot_ends_at=ends)
        if d.workload_id is not None:
            waiting[d.workload_id] = (f"spot: a {units[uid].model} GPU it is planned on ({uid}) is rented on spot "
                                      f"until {ends} (the rental's notice)")
    for uid, d in list(decisions.items()):
        if d.workload_id in waiting and not d.held:
            unit = units[uid]
            idle = unit.idle_power_w if unit.idle_power_w is not None else 0.1 * unit.power_w
            decisions[uid] = Decision(unit_id=uid, mode="idle", power_w=idle, facility_id=d.facility_id)
    return waiting


def _net(p: Problem, s: Solution) -> float:
    """USD/h of a plan after what its changes cost."""
    return objective_usd_per_hour(p, s) - switching_usd_per_hour(p, s)


def why_waiting(w: WorkloadDemand, plan: Plan, units: list[UnitState], facility_rows: list[dict[str, Any]],
                prices: Prices) -> str:
    """Why a queued workload has no place in the plan, in words its owner and an operator read."""
    models = sorted({u.model for u in units if u.kind == "gpu"}) if w.gpu_model == "any" else [w.gpu_model]
    free: dict[tuple[str, str], list[UnitState]] = {}
    for u in units:
        d = plan.decisions.get(u.id)
        if u.kind == "gpu" and u.model in models and u.available and d is not None and d.mode in ("idle", "spot"):
            free.setdefault((u.facility_id, u.model), []).append(u)
    what = f"{w.gpu_count}x {w.gpu_model}"
    if not w.committed(prices.gpu_spot_usd_per_hour):
        spot = w.spot_usd_per_hour(prices.gpu_spot_usd_per_hour)
        return (f"price limit: its ${w.max_price_usd_per_gpu_hour:.2f}/GPU-hour limit is under the "
                f"${spot:.2f}/GPU-hour the GPUs earn on spot")
    roomy = {key: gpus for key, gpus in free.items() if len(gpus) >= w.gpu_count}
    if not roomy:
        most = max((len(g) for g in free.values()), default=0)
        return (f"GPUs: no facility has {what} free (at most {most} free in one facility; the others "
                f"serve workloads, are offline or go to admitted work queued ahead)")
    rows = {r["id"]: r for r in facility_rows}
    parts = []
    for (fid, model), gpus in sorted(roomy.items()):
        r = rows[fid]
        need_kw = sum(g.power_w - (g.idle_power_w or 0.0) for g in gpus[:w.gpu_count]) / 1000
        window = f" (lowered for {r['demand_response']['reason']})" if r.get("demand_response") else ""
        parts.append(f"{fid} has {len(gpus)} {model} free but its {r['power_cap_kw']:,.1f} kW cap{window} "
                     f"leaves less than the {need_kw:,.1f} kW they need beside running and admitted work")
    return "power cap: " + "; ".join(parts)


def _respect_dwell(
    req: OptimizeRequest, p: Problem, best: Solution, current: dict[str, Decision],
    last_change: dict[str, datetime], now: datetime, hysteresis: Hysteresis,
) -> tuple[Solution, Problem, str]:
    """The optimum, re-solved with units inside their dwell time held in place if need be."""
    proposed = _decisions(p, best)
    pinned = {
        uid for uid, d in proposed.items()
        if uid in current and current[uid].mode != d.mode and uid in last_change
        and (now - last_change[uid]).total_seconds() < hysteresis.min_dwell_s
    }
    if not pinned:
        return best, p, "optimum"
    try:
        pinned_req = _pin(req, current, pinned)
        pp = build_problem(pinned_req)
        ps = solve(pp)
    except InfeasiblePlan:
        return best, p, "optimum (dwell overridden: a cap leaves no other choice)"
    if violations(pp, ps):
        return best, p, "optimum (dwell overridden: a cap leaves no other choice)"
    full = _merge_pinned(p, pp, ps, current, pinned)
    if full is None:
        return best, p, "optimum (dwell overridden: a cap leaves no other choice)"
    if committed_gpus(p, full) < committed_gpus(p, best):
        return best, p, "optimum (dwell overridden: admitted work needs the power)"
    return full, p, f"optimum, {len(pinned)} unit(s) held for their dwell time"


def _merge_pinned(
    p: Problem, pp: Problem, ps: Solution, current: dict[str, Decision], pinned: set[str]
) -> Solution | None:
    """The full fleet's solution: the pinned problem's decisions plus the pinned units as they are."""
    index = {uid: i for i, uid in enumerate(pp.unit_ids)}
    n = len(p.unit_ids)
    mode = np.where(p.is_gpu, IDLE, CURTAILED).astype(np.int8)
    power = np.where(p.is_gpu, p.idle_power_w, 0.0)
    hashrate = np.zeros(n)
    workload = np.full(n, -1, dtype=np.int64)
    for i, uid in enumerate(p.unit_ids):
        k = index.get(uid)
        if k is not None:
            mode[i], power[i], hashrate[i], workload[i] = ps.mode[k], ps.power_w[k], ps.hashrate_ths[k], ps.workload[k]
        elif uid in pinned and current[uid].mode == "mining":
            mode[i], power[i], hashrate[i] = MINING, current[uid].power_w, current[uid].hashrate_ths or 0.0
    s = Solution(mode=mode, power_w=power, hashrate_ths=hashrate, workload=workload, placed=ps.placed.copy())
    return None if violations(p, s) else s


def recommendations(
    plan: Plan, facilities: list[FacilityState], units: list[UnitState],
    caps: dict[str, tuple[float, DemandResponse | None]], prices: Prices,
) -> list[dict[str, Any]]:
    """What the plan means, in words an operator acts on, each with its numbers."""
    hp = plan.hashprice_usd_per_th_day
    out: list[dict[str, Any]] = []
    by_fac = {f.id: f for f in facilities}
    groups: dict[tuple[str, str, str], list[UnitState]] = {}
    for u in units:
        if u.kind == "asic" and u.available:
            groups.setdefault((u.facility_id, u.model, plan.decisions[u.id].mode), []).append(u)
    for (fid, model, mode), members in sorted(groups.items()):
        f = by_fac[fid]
        ref = members[0]
        hashrate = ref.hashrate_ths or 0.0
        be = break_even_usd_per_mwh(hashrate_ths=hashrate, power_w=ref.power_w, hashprice=hp)
        hourly_margin = (hashrate * hp / 24 - ref.power_w * f.electricity_usd_per_mwh / 1e6) * len(members)
        _, event = caps[fid]
        until = f" until {event.ends_at:%H:%M} UTC ({event.reason})" if event else ""
        n = len(members)
        if mode == "curtailed":
            if f.electricity_usd_per_mwh > be:
                out.append(_rec(
                    "curtail", fid, model, n, -hourly_margin,
                    f"Curtail {n} {model} at {f.name}{until}: power ${f.electricity_usd_per_mwh:,.0f}/MWh is above "
                    f"their ${be:,.0f}/MWh break-even (saves ${-hourly_margin:,.2f}/h)",
                    break_even_usd_per_mwh=be))
            else:
                out.append(_rec(
                    "curtail", fid, model, n, 0.0,
                    f"Keep {n} {model} at {f.name} curtailed{until}: the facility's "
                    f"{caps[fid][0]:,.0f} kW cap is full with more profitable work",
                    break_even_usd_per_mwh=be))
        elif mode == "mining":
            out.append(_rec(
                "mine", fid, model, n, hourly_margin,
                f"Mine with {n} {model} at {f.name}: power ${f.electricity_usd_per_mwh:,.0f}/MWh is below their "
                f"${be:,.0f}/MWh break-even (earns ${hourly_margin:,.2f}/h)", break_even_usd_per_mwh=be))
    spot_by: dict[tuple[str, str], int] = {}
    for u in units:
        if u.kind == "gpu" and plan.decisions[u.id].mode == "spot":
            spot_by[(u.facility_id, u.model)] = spot_by.get((u.facility_id, u.model), 0) + 1
    for (fid, model), n in sorted(spot_by.items()):
        price = prices.gpu_spot_usd_per_hour.get(model, 0.0)
        out.append(_rec("spot", fid, model, n, n * price,
                        f"Rent {n} idle {model} GPU(s) at {by_fac[fid].name} on spot at ${price:.2f}/GPU-hour "
                        f"(adds ${n * price:,.2f}/h before power)", spot_usd_per_gpu_hour=price))
    if plan.unplaced_workloads:
        kinds: dict[str, int] = {}
        for why in plan.waiting.values():
            kind = why.split(":", 1)[0]
            kinds[kind] = kinds.get(kind, 0) + 1
        because = ", ".join(f"{n} for {kind}" for kind, n in sorted(kinds.items()))
        out.append(_rec("capacity", None, None, len(plan.unplaced_workloads), 0.0,
                        f"{len(plan.unplaced_workloads)} queued workload(s) wait: {because}",
                        workloads=plan.unplaced_workloads[:20]))
    return out


def _rec(kind: str, facility_id: str | None, model: str | None, units: int, usd_per_hour: float,
         message: str, **numbers: Any) -> dict[str, Any]:
    return {"kind": kind, "facility_id": facility_id, "model": model, "units": units,
            "usd_per_hour": round(usd_per_hour, 2), "message": message, **numbers}
