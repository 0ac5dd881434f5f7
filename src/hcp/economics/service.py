"""Economics services: the live plan loop, stored plans, demand-response windows, profitability.

The loop listens to `market.tick`. In split mode every optimizer replica subscribes under one
durable consumer name, so each tick is planned by exactly one of them; the previous plan is
read from the database, not from memory, so it does not matter which one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.core.bus import Event, Subscription
from hcp.core.component import OK
from hcp.core.errors import InvalidInput, NotFound
from hcp.core.outbox import add_event
from hcp.core.paging import page
from hcp.core.platform import Platform
from hcp.economics.events import DemandResponseChanged
from hcp.economics.models import DemandResponseEvent, PlanRecord
from hcp.economics.planner import (
    Decision,
    DemandResponse,
    FacilityState,
    Hysteresis,
    Plan,
    Prices,
    UnitState,
    WorkloadDemand,
    decide,
)
from hcp.kernel.enums import WorkloadStatus
from hcp.kernel.events import MarketTick, PlanDecided, WorkloadState
from hcp.kernel.hashprice import break_even_usd_per_mwh, hashprice_usd_per_th_day
from hcp.resources import allocation
from hcp.resources import service as resources

log = structlog.get_logger(__name__)

FleetSource = Callable[[AsyncSession], Awaitable[list[UnitState]]]
WorkloadSource = Callable[[AsyncSession], Awaitable[list[WorkloadDemand]]]
PLANS_KEPT = 2_000
# Decisions are stored in full for fleets up to this size; larger plans keep the summary only.
MAX_STORED_DECISIONS = 20_000


def prices_from_tick(tick: MarketTick, *, at: datetime) -> tuple[Prices, dict[str, float]] | None:
    """Prices and electricity per market node from a market tick; None when it lacks what a plan
    needs (a live feed's tick may carry only some series)."""
    if tick.btc_usd is None or tick.network_difficulty is None:
        return None
    prices = Prices(
        btc_usd=tick.btc_usd, network_difficulty=tick.network_difficulty,
        fees_btc_per_block=tick.fees_btc_per_block or 0.0,
        gpu_spot_usd_per_hour=dict(tick.gpu_spot_usd_per_hour), ts=tick.ts or at,
    )
    return prices, dict(tick.electricity_usd_per_mwh)


async def facility_states(*, session: AsyncSession, electricity: dict[str, float]) -> list[FacilityState]:
    out = []
    for f in await resources.list_facilities(session=session):
        if f.market_node not in electricity:
            continue  # no price for its node: nothing sensible to decide there this tick
        out.append(FacilityState(f.id, f.name, f.power_cap_kw, f.market_node, electricity[f.market_node]))
    return out


async def active_demand_response(*, session: AsyncSession, now: datetime) -> list[DemandResponse]:
    rows = (await session.execute(
        select(DemandResponseEvent).where(DemandResponseEvent.ends_at > now)
        .order_by(DemandResponseEvent.starts_at)
    )).scalars().all()
    return [DemandResponse(r.id, r.facility_id, r.power_cap_kw, r.starts_at, r.ends_at, r.reason) for r in rows]


async def list_demand_response(
    *, session: AsyncSession, limit: int, offset: int
) -> tuple[Sequence[DemandResponseEvent], int]:
    return await page(session, select(DemandResponseEvent).order_by(DemandResponseEvent.starts_at.desc()),
                      limit=limit, offset=offset)


async def create_demand_response(
    *, session: AsyncSession, facility_id: str, power_cap_kw: float, starts_at: datetime,
    ends_at: datetime, reason: str, created_by: str | None,
) -> DemandResponseEvent:
    if ends_at <= starts_at:
        raise InvalidInput("ends_at", "must be after starts_at")
    if facility_id not in {f.id for f in await resources.list_facilities(session=session)}:
        raise InvalidInput("facility_id", f"unknown facility {facility_id!r}")
    event = DemandResponseEvent(facility_id=facility_id, power_cap_kw=power_cap_kw, starts_at=starts_at,
                                ends_at=ends_at, reason=reason, created_by=created_by)
    session.add(event)
    await session.flush()
    _window_changed(session, event, "created")
    return event


async def delete_demand_response(*, session: AsyncSession, event_id: str) -> None:
    event = await session.get(DemandResponseEvent, event_id)
    if event is None:
        raise NotFound(f"no demand-response window {event_id}")
    _window_changed(session, event, "cancelled")
    await session.execute(delete(DemandResponseEvent).where(DemandResponseEvent.id == event_id))


def _window_changed(session: AsyncSession, event: DemandResponseEvent, change: Literal["created", "cancelled"]) -> None:
    # The planner replans on it when the window is in force (or about to be), instead of
    # leaving the facility over its new cap (or under its restored one) until the next tick.
    add_event(session, DemandResponseChanged(
        id=event.id, change=change, facility_id=event.facility_id, power_cap_kw=event.power_cap_kw,
        starts_at=event.starts_at, ends_at=event.ends_at))


async def latest_plan_record(*, session: AsyncSession) -> PlanRecord | None:
    return (await session.execute(select(PlanRecord).order_by(PlanRecord.ts.desc()).limit(1))).scalar_one_or_none()


async def latest_plan_ts(*, session: AsyncSession) -> datetime | None:
    """When the latest plan was made (without loading its decisions)."""
    ts: datetime | None = await session.scalar(select(func.max(PlanRecord.ts)))
    return ts


def plan_from_record(record: PlanRecord) -> tuple[Plan, dict[str, datetime]]:
    decisions = {d["unit_id"]: Decision(**d) for d in record.decisions}
    plan = Plan(
        ts=record.ts, objective_usd_per_hour=record.objective_usd_per_hour,
        hashprice_usd_per_th_day=record.hashprice_usd_per_th_day, decisions=decisions,
        facilities=record.summary.get("facilities", []),
        unplaced_workloads=record.summary.get("unplaced_workloads", []), changed=[],
        reason=record.reason, optimum_usd_per_hour=record.optimum_usd_per_hour,
        recommendations=record.recommendations,
    )
    return plan, {uid: datetime.fromisoformat(ts) for uid, ts in record.last_change.items()}


@dataclass(frozen=True)
class PlanForWorkloads:
    """What the workload loop needs of the latest plan: the GPUs rented on spot, the power the
    plan counts for each GPU, each facility's watts left for new work, and why queued work waits."""

    ts: datetime
    spot: frozenset[str]
    planned_w: dict[str, float]  # GPU -> watts the plan counts it drawing
    headroom_w: dict[str, float]  # facility -> watts new work may still add
    waiting: dict[str, str]


def plan_for_workloads(record: PlanRecord | None, units: list[UnitState], *, now: datetime,
                       max_age_s: float) -> PlanForWorkloads | None:
    """The latest plan against the fleet as it is now (`units`, with the allocations table's
    holders): a held GPU draws its full power whatever the plan said; None when there is no
    plan, or it is too old to steer by (the prices stopped: work is placed without it)."""
    if record is None or not record.decisions or (now - record.ts).total_seconds() > max_age_s:
        return None
    decided = {d["unit_id"]: d for d in record.decisions}
    caps = {str(f["id"]): float(f["power_cap_kw"]) * 1000 for f in record.summary.get("facilities", [])}
    drawn = dict.fromkeys(caps, 0.0)
    spot, planned = set(), {}
    for u in units:
        d = decided.get(u.id)
        if u.facility_id not in drawn:
            continue
        if u.workload_id is not None and u.available:
            drawn[u.facility_id] += u.power_w
        elif d is not None:
            drawn[u.facility_id] += float(d["power_w"])
        if u.kind == "gpu" and d is not None:
            planned[u.id] = float(d["power_w"])
            if d["mode"] == "spot" and u.workload_id is None:
                spot.add(u.id)
    waiting = {str(w["workload_id"]): str(w["reason"]) for w in record.summary.get("waiting", [])}
    return PlanForWorkloads(ts=record.ts, spot=frozenset(spot), planned_w=planned,
                            headroom_w={f: caps[f] - drawn[f] for f in caps}, waiting=waiting)


def plan_as_it_stands(record: PlanRecord, units: list[UnitState]) -> dict[str, Any]:
    """The latest plan with each GPU's role as the allocations table has it now: a GPU a workload
    took since the plan shows that workload (and its tenant); one whose workload has ended since
    shows idle. So the plan, /resources and /workloads agree about every unit."""
    by_id = {u.id: u for u in units}
    decisions: list[dict[str, Any]] = []
    by_mode: dict[str, int] = {}
    delta_w: dict[str, float] = {}
    for d in record.decisions:
        u = by_id.get(d["unit_id"])
        now = {**d, "planned_mode": d["mode"]}  # what the planner decided, before what happened since
        if u is not None and u.kind == "gpu":
            if u.workload_id is not None and (not d.get("held") or d.get("workload_id") != u.workload_id):
                now.update(mode="workload", workload_id=u.workload_id, tenant_id=u.tenant_id, held=True,
                           power_w=u.power_w, spot_ends_at=None)
            elif u.workload_id is None and d.get("held"):
                idle = u.idle_power_w if u.idle_power_w is not None else 0.1 * u.power_w
                now.update(mode="idle", workload_id=None, tenant_id=None, held=False, power_w=idle)
            if now["power_w"] != d["power_w"]:
                delta_w[u.facility_id] = delta_w.get(u.facility_id, 0.0) + float(now["power_w"]) - float(d["power_w"])
        now.setdefault("facility_id", None if u is None else u.facility_id)
        decisions.append(now)
        by_mode[now["mode"]] = by_mode.get(now["mode"], 0) + 1
    summary = dict(record.summary)
    if record.decisions:
        summary["units_by_mode"] = by_mode
    summary["facilities"] = [
        {**f, "power_kw": round(float(f["power_kw"]) + delta_w.get(str(f["id"]), 0.0) / 1000, 3)}
        for f in summary.get("facilities", [])]
    return {"id": record.id, "ts": record.ts, "objective_usd_per_hour": record.objective_usd_per_hour,
            "optimum_usd_per_hour": record.optimum_usd_per_hour,
            "hashprice_usd_per_th_day": record.hashprice_usd_per_th_day, "reason": record.reason,
            "summary": summary, "decisions": decisions, "recommendations": record.recommendations}


async def record_plan(*, session: AsyncSession, plan: Plan, last_change: dict[str, datetime]) -> PlanRecord:
    """Store the plan and queue its `plan.decided` event, in the caller's transaction."""
    decisions = [vars(d) for d in plan.decisions.values()]
    record = PlanRecord(
        ts=plan.ts, objective_usd_per_hour=plan.objective_usd_per_hour,
        optimum_usd_per_hour=plan.optimum_usd_per_hour, hashprice_usd_per_th_day=plan.hashprice_usd_per_th_day,
        changed=len(plan.changed), reason=plan.reason[:300], summary=plan.summary(),
        decisions=decisions if len(decisions) <= MAX_STORED_DECISIONS else [],
        recommendations=plan.recommendations,
        last_change={uid: ts.isoformat() for uid, ts in last_change.items()},
    )
    session.add(record)
    await session.flush()
    body = {"id": record.id, **plan.summary(), "recommendations": plan.recommendations}
    if len(decisions) <= 1_000:  # the changes themselves ride along for fleets of demo size
        body["changes"] = [vars(plan.decisions[uid]) for uid in plan.changed]
    add_event(session, PlanDecided.model_validate(body), ts=plan.ts)
    return record


async def prune_plans(*, session: AsyncSession, keep: int = PLANS_KEPT) -> None:
    cutoff = (await session.execute(
        select(PlanRecord.ts).order_by(PlanRecord.ts.desc()).offset(keep).limit(1))).scalar_one_or_none()
    if cutoff is not None:
        await session.execute(delete(PlanRecord).where(PlanRecord.ts <= cutoff))


async def no_workloads(_session: AsyncSession) -> list[WorkloadDemand]:
    return []


# Workload states after which the plan's view of demand or commitments is out of date.
DEMAND_CHANGES = frozenset({WorkloadStatus.QUEUED, WorkloadStatus.RUNNING, WorkloadStatus.COMPLETED,
                            WorkloadStatus.FAILED, WorkloadStatus.CANCELLED})


class PlanLoop:
    """Plans on market ticks, at most every `min_interval_s` of clock time, and again (on the last
    tick's prices, at most every `replan_s` of wall time) when admitted work is queued or ends, so
    that a spot rental or mining power that queued work needs is freed without waiting for prices;
    and when a demand-response window in force is created or cancelled (or, for one that opens
    before the next tick could plan it, when it opens), so that a lowered cap holds at once."""

    def __init__(
        self, platform: Platform, *, fleet: FleetSource, workloads: WorkloadSource = no_workloads,
        hysteresis: Hysteresis | None = None, min_interval_s: float = 60.0, replan_s: float = 1.0,
    ) -> None:
        self.platform = platform
        self.fleet, self.workloads = fleet, workloads
        self.hysteresis = hysteresis or Hysteresis()
        self.min_interval_s = min_interval_s
        self.replan_s = replan_s
        self._subs: list[Subscription] = []
        self._lock = asyncio.Lock()
        self._last_tick: tuple[Prices, dict[str, float]] | None = None
        self._replan: asyncio.Task[None] | None = None
        self._at_windows: set[asyncio.Task[None]] = set()

    name = "planner"

    def health(self) -> str:
        return OK if self._subs else "stopped"

    async def start(self) -> None:
        bus = self.platform.bus
        self._subs = [
            await bus.subscribe("market.tick", self.on_tick, durable="economics-planner", deliver="new"),
            # Without a durable name every replica hears every change; each replans on its own
            # last tick, and the lock in the database (one transaction) keeps plans in order.
            await bus.subscribe("workload.state", self.on_demand),
            await bus.subscribe(DemandResponseChanged.subject, self.on_window),
        ]

    async def stop(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.stop()
        self._subs = []
        for task in [self._replan, *self._at_windows]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._replan = None
        self._at_windows.clear()

    def _stale(self, prices: Prices) -> bool:
        """A tick from before a restart (or feeds gone quiet): planning on it would be planning the past."""
        age = self.platform.clock.now() - prices.ts
        return age > timedelta(seconds=max(3 * self.min_interval_s, 300))

    async def on_tick(self, event: Event) -> None:
        parsed = prices_from_tick(event.parse(MarketTick), at=datetime.fromisoformat(event.ts))
        if parsed is None:
            return
        prices, electricity = parsed
        if self._stale(prices):
            return
        self._last_tick = (prices, electricity)
        async with self._lock, self.platform.db.transaction() as session:
            previous_record = await latest_plan_record(session=session)
            previous, last_change = plan_from_record(previous_record) if previous_record else (None, {})
            if previous is not None and (prices.ts - previous.ts).total_seconds() < self.min_interval_s:
                return
            await self.plan(session=session, prices=prices, electricity=electricity,
                            previous=previous, last_change=last_change)

    async def on_demand(self, event: Event) -> None:
        if event.parse(WorkloadState).status not in DEMAND_CHANGES or self._last_tick is None:
            return
        if self._replan is None or self._replan.done():
            self._replan = asyncio.create_task(self._replan_soon(), name="economics-replan")

    async def on_window(self, event: Event) -> None:
        window = event.parse(DemandResponseChanged)
        now = self.platform.clock.now()
        opens_in_s = (window.starts_at - now).total_seconds()
        if window.ends_at <= now or (window.change == "cancelled" and opens_in_s > 0):
            return  # over, or cancelled before it changed anything
        if opens_in_s > self.min_interval_s:
            return  # a tick plans it before it opens
        task = asyncio.create_task(self._replan_soon(after_s=max(0.0, opens_in_s)), name="economics-replan-window")
        self._at_windows.add(task)
        task.add_done_callback(self._at_windows.discard)

    async def _replan_soon(self, *, after_s: float = 0.0) -> None:
        if after_s > 0:
            await self.platform.clock.sleep(after_s)  # until the window opens, in platform time
        await asyncio.sleep(self.replan_s)  # changes in a burst become one plan
        if self._last_tick is None or self._stale(self._last_tick[0]):
            return
        prices, electricity = self._last_tick
        try:
            async with self._lock, self.platform.db.transaction() as session:
                previous_record = await latest_plan_record(session=session)
                previous, last_change = plan_from_record(previous_record) if previous_record else (None, {})
                await self.plan(session=session, prices=prices, electricity=electricity, previous=previous,
                                last_change=last_change, now=max(self.platform.clock.now(), prices.ts))
        except Exception:
            log.warning("replanning on a demand or cap change failed; the next tick plans", exc_info=True)

    async def plan(
        self, *, session: AsyncSession, prices: Prices, electricity: dict[str, float],
        previous: Plan | None, last_change: dict[str, datetime], now: datetime | None = None,
    ) -> Plan | None:
        facilities = await facility_states(session=session, electricity=electricity)
        units = [u for u in await self.fleet(session) if u.facility_id in {f.id for f in facilities}]
        if not facilities or not units:
            return None
        at = now or prices.ts
        if previous is not None and at < previous.ts:
            at = previous.ts  # plans stay in order even when a tick's time is behind a replan's
        events = await active_demand_response(session=session, now=at)
        workloads = await self.workloads(session)
        plan = await asyncio.to_thread(
            decide, now=at, prices=prices, facilities=facilities, units=units, workloads=workloads,
            events=events, previous=previous, last_change=last_change, hysteresis=self.hysteresis,
        )
        await allocation.lock_roles(session)
        _count_held_since(plan, units, await allocation.held_units(session=session))
        changes = dict(last_change)
        for uid in plan.changed:
            changes[uid] = plan.ts
        await record_plan(session=session, plan=plan, last_change=changes)
        await prune_plans(session=session)
        log.info("plan decided", objective_usd_per_hour=round(plan.objective_usd_per_hour, 2),
                 changed=len(plan.changed), reason=plan.reason)
        return plan


def _count_held_since(plan: Plan, units: list[UnitState], held: dict[str, tuple[str, str | None]]) -> None:
    """GPUs a workload took while the plan was being made are that workload's in it, not spot or
    idle (the roles lock keeps any more from being taken until the plan commits)."""
    by_id = {u.id: u for u in units}
    for uid, (workload_id, tenant_id) in held.items():
        d = plan.decisions.get(uid)
        u = by_id.get(uid)
        if d is None or u is None or (d.held and d.workload_id == workload_id):
            continue
        plan.decisions[uid] = Decision(unit_id=uid, mode="workload", power_w=u.power_w, workload_id=workload_id,
                                       tenant_id=tenant_id, facility_id=u.facility_id, held=True)


def profitability(
    *, prices: Prices, facilities: list[FacilityState], units: list[UnitState]
) -> dict[str, Any]:
    """Revenue, energy cost and break-even per facility and unit model, at today's prices."""
    hp = hashprice_usd_per_th_day(prices.btc_usd, prices.network_difficulty, prices.fees_btc_per_block)
    rows = []
    for f in facilities:
        models: dict[tuple[str, str], list[UnitState]] = {}
        for u in units:
            if u.facility_id == f.id:
                models.setdefault((u.kind, u.model), []).append(u)
        entries = []
        for (kind, model), members in sorted(models.items()):
            ref = members[0]
            energy = ref.power_w * f.electricity_usd_per_mwh / 1e6
            entry: dict[str, Any] = {"kind": kind, "model": model, "units": len(members), "power_w": ref.power_w,
                                     "energy_usd_per_hour": round(energy, 4)}
            if kind == "asic":
                hashrate = ref.hashrate_ths or 0.0
                revenue = hashrate * hp / 24
                entry.update(
                    hashrate_ths=hashrate, efficiency_j_per_th=round(ref.power_w / hashrate, 2) if hashrate else None,
                    revenue_usd_per_hour=round(revenue, 4), profit_usd_per_hour=round(revenue - energy, 4),
                    break_even_usd_per_mwh=round(break_even_usd_per_mwh(
                        hashrate_ths=hashrate, power_w=ref.power_w, hashprice=hp), 2) if hashrate else None,
                )
            else:
                spot = prices.gpu_spot_usd_per_hour.get(model)
                entry.update(spot_usd_per_hour=spot,
                             profit_usd_per_hour=None if spot is None else round(spot - energy, 4))
            entries.append(entry)
        rows.append({"id": f.id, "name": f.name, "market_node": f.market_node,
                     "electricity_usd_per_mwh": f.electricity_usd_per_mwh, "models": entries})
    return {"ts": prices.ts.isoformat(), "btc_usd": prices.btc_usd, "hashprice_usd_per_th_day": hp,
            "hashprice_usd_per_ph_day": hp * 1000, "facilities": rows}
