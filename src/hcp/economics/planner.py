"""The live planner: the optimizer's answer, made steady enough to run a fleet on.

On every market tick the optimizer says what would be best now. Acting on every wiggle would
flap units between mining and curtailed, which costs ramp time and wear. So the planner keeps
the current plan unless the new one earns at least `min_gain_usd_per_hour` more, and a unit
that changed mode less than `min_dwell_s` ago keeps its mode (it is pinned) unless a power
cap leaves no other choice. Demand-response windows lower a facility's cap for their span.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from hcp.economics.hashprice import break_even_usd_per_mwh
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
    facility_power_w,
    objective_usd_per_hour,
    solve,
    violations,
)
from hcp.economics.schemas import OptimizeRequest

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


@dataclass(frozen=True)
class WorkloadDemand:
    id: str
    gpu_model: str
    gpu_count: int
    price_usd_per_gpu_hour: float


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
        }


@dataclass
class Hysteresis:
    min_gain_usd_per_hour: float = 1.0
    min_dwell_s: float = 900.0


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
    *, prefer_running: dict[str, str] | None = None,
) -> OptimizeRequest:
    """The optimizer's request. Units running now come first, so that among identical units the
    optimizer keeps the ones already in a mode (it deals modes to a class in request order)."""
    running = prefer_running or {}
    order = sorted((u for u in units if u.available),
                   key=lambda u: 0 if running.get(u.id) in ("mining", "workload", "spot") else 1)
    return OptimizeRequest.model_validate({
        "btc_usd": prices.btc_usd, "network_difficulty": prices.network_difficulty,
        "fees_btc_per_block": prices.fees_btc_per_block,
        "facilities": [{"id": f.id, "power_cap_kw": caps[f.id][0],
                        "electricity_usd_per_mwh": f.electricity_usd_per_mwh} for f in facilities],
        "units": [_unit_body(u) for u in order],
        "workloads": [{"id": w.id, "gpu_model": w.gpu_model, "gpu_count": w.gpu_count,
                       "price_usd_per_gpu_hour": w.price_usd_per_gpu_hour} for w in workloads],
        "gpu_spot_usd_per_hour": prices.gpu_spot_usd_per_hour,
    })


def _unit_body(u: UnitState) -> dict[str, Any]:
    body: dict[str, Any] = {"id": u.id, "kind": u.kind, "facility_id": u.facility_id, "power_w": u.power_w}
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


def _decisions(p: Problem, s: Solution) -> dict[str, Decision]:
    out = {}
    for i, uid in enumerate(p.unit_ids):
        code = int(s.mode[i])
        out[uid] = Decision(
            unit_id=uid, mode=MODE_NAMES[code], power_w=float(s.power_w[i]),
            hashrate_ths=float(s.hashrate_ths[i]) if code == MINING else None,
            workload_id=p.workload_ids[int(s.workload[i])] if code == WORKLOAD else None,
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
    req = build_request(prices, facilities, units, workloads, caps, prefer_running=running)
    p = build_problem(req)
    best = solve(p)
    optimum = objective_usd_per_hour(p, best)
    quo = _status_quo(p, current) if previous else None
    reason = "first plan" if previous is None else "optimum"

    if quo is not None:
        gain = optimum - objective_usd_per_hour(p, quo)
        if gain < hysteresis.min_gain_usd_per_hour:
            chosen, chosen_p = quo, p
            reason = (f"kept: the optimum earns only ${gain:.2f}/h more "
                      f"(threshold ${hysteresis.min_gain_usd_per_hour:.2f}/h)")
        else:
            chosen, chosen_p, reason = _respect_dwell(req, p, best, current, last_change, now, hysteresis)
            chosen_gain = objective_usd_per_hour(chosen_p, chosen) - objective_usd_per_hour(p, quo)
            if chosen_gain < hysteresis.min_gain_usd_per_hour:
                chosen, chosen_p = quo, p
                reason = "kept: units that would gain are inside their dwell time"
    elif previous is not None:
        chosen, chosen_p, reason = _respect_dwell(req, p, best, current, last_change, now, hysteresis)
        reason = "the current plan no longer fits (cap or fleet changed); " + reason
    else:
        chosen, chosen_p = best, p

    decisions = _decisions(chosen_p, chosen)
    for u in units:  # unavailable units are reported as such, decided by nobody
        if not u.available:
            decisions[u.id] = Decision(unit_id=u.id, mode="curtailed" if u.kind == "asic" else "idle", power_w=0.0)
    changed = [uid for uid, d in decisions.items() if uid in current and current[uid].mode != d.mode]
    if previous is None:
        changed = [uid for uid, d in decisions.items() if d.mode not in ("curtailed", "idle")]
    used = facility_power_w(chosen_p, chosen)
    facility_rows = []
    for f_i, f in enumerate(facilities):
        cap, event = caps[f.id]
        facility_rows.append({
            "id": f.id, "name": f.name, "power_kw": round(float(used[f_i]) / 1000, 3), "power_cap_kw": cap,
            "electricity_usd_per_mwh": f.electricity_usd_per_mwh,
            "demand_response": None if event is None else {"id": event.id, "reason": event.reason,
                                                           "ends_at": event.ends_at.isoformat()},
        })
    plan = Plan(
        ts=now, objective_usd_per_hour=objective_usd_per_hour(chosen_p, chosen),
        hashprice_usd_per_th_day=p.hashprice, decisions=decisions, facilities=facility_rows,
        unplaced_workloads=[chosen_p.workload_ids[j] for j in range(len(chosen_p.workload_ids))
                            if not chosen.placed[j]],
        changed=changed, reason=reason, optimum_usd_per_hour=optimum,
    )
    plan.recommendations = recommendations(plan, facilities, units, caps, prices)
    return plan


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
        out.append(_rec("capacity", None, None, len(plan.unplaced_workloads), 0.0,
                        f"{len(plan.unplaced_workloads)} queued workload(s) do not fit: not enough GPUs or power",
                        workloads=plan.unplaced_workloads[:20]))
    return out


def _rec(kind: str, facility_id: str | None, model: str | None, units: int, usd_per_hour: float,
         message: str, **numbers: Any) -> dict[str, Any]:
    return {"kind": kind, "facility_id": facility_id, "model": model, "units": units,
            "usd_per_hour": round(usd_per_hour, 2), "message": message, **numbers}
