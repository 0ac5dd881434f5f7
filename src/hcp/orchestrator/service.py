"""The orchestrator's service: submitting, listing and cancelling workloads, and the loop that
places queued workloads on GPUs, switches them in, runs them and completes them.

The database is the truth; the loop's in-memory `Scheduler` is rebuilt from it on start
(reconciliation), so a crash at any point resumes from the tables. Units are taken through
the resources domain's allocation service, whose unique index forbids double booking.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.auth.audit import record_audit
from hcp.core.errors import Conflict, HCPError, InvalidInput, NotFound, Unavailable
from hcp.core.leadership import Leadership
from hcp.core.metrics import REGISTRY
from hcp.core.platform import Platform
from hcp.core.security import Principal, ensure_visible, tenant_filter
from hcp.core.settings import Settings
from hcp.economics import service as economics
from hcp.economics.fleet import unit_state
from hcp.economics.planner import WorkloadDemand
from hcp.orchestrator import lifecycle
from hcp.orchestrator.lifecycle import ACTIVE, Change, workload_view
from hcp.orchestrator.models import Switch, Workload
from hcp.resources import allocation
from hcp.resources import service as resources
from hcp.router.scheduler import QUEUE_CLASSES, Gpu, Job, Scheduler, classify

log = structlog.get_logger(__name__)

STATE_KEY = "orchestrator"
SWITCH_LATENCY = Histogram(
    "hcp_switch_latency_seconds", "GPU workload switch latency, as the orchestrator measured it",
    buckets=(0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 1.0, 2.5), registry=REGISTRY,
)
PLACEMENTS = Counter("hcp_placements_total", "Workloads placed on GPUs by the orchestrator",
                     ["queue_class"], registry=REGISTRY)
# What a queued workload is worth per GPU-hour when its owner named no ceiling (the rate card
# until billing publishes one).
DEFAULT_RATE_USD_PER_GPU_HOUR: dict[str, Decimal] = {"H100": Decimal("2.50"), "A100": Decimal("1.60")}
FLEET_LIMIT = 100_000
GPU_MODELS = ("H100", "A100")
STOP_GRACE_S = 5.0
LOOP_LOCK_KEY = 0x4843_5002  # one workload loop per deployment when several replicas run


# --- submission and the API's reads ------------------------------------------------------------
async def admission_check(session: AsyncSession, tenant_id: str, workload: Workload, *,
                          settings: Settings, at: datetime) -> None:
    """Refuse a workload the tenant may not run: billing's budget check (402 budget_exceeded)."""
    from hcp.billing import service as billing

    await billing.admit_workload(session=session, settings=settings.billing, tenant_id=tenant_id,
                                 gpu_model=workload.gpu_model, gpu_count=workload.gpu_count,
                                 duration_s=workload.duration_s, priority=workload.priority, at=at)


async def largest_gang(*, session: AsyncSession) -> dict[str, int]:
    """The most GPUs of each model that any one facility holds (registered, whatever their state)."""
    best: dict[str, int] = {}
    for (_facility, model), n in (await resources.count_units(session=session, kind="gpu")).items():
        best[model] = max(best.get(model, 0), n)
    return best


@dataclass(frozen=True)
class Submission:
    name: str
    type: str
    priority: int
    gpu_model: str
    gpu_count: int
    duration_s: float
    max_price_usd_per_gpu_hour: Decimal | None
    preemptible: bool | None


async def submit(
    *, session: AsyncSession, settings: Settings, tenant_id: str, submission: Submission, created_by: str | None,
    at: datetime, idempotency_key: str | None = None,
) -> tuple[Workload, bool]:
    """Admit a workload and queue it, in the caller's transaction; returns it and whether it is new
    (False when the tenant already submitted with this idempotency key)."""
    if idempotency_key is not None:
        existing = await _by_key(session, tenant_id, idempotency_key)
        if existing is not None:
            return existing, False
    gangs = await largest_gang(session=session)
    models = GPU_MODELS if submission.gpu_model == "any" else (submission.gpu_model,)
    most = max((gangs.get(m, 0) for m in models), default=0)
    if submission.gpu_count > most:
        raise InvalidInput("gpu_count", f"no facility has {submission.gpu_count} {submission.gpu_model} GPUs "
                                        f"(the most in one facility is {most})")
    preemptible = submission.preemptible
    if preemptible is None:
        preemptible = classify(submission.type).preemptible_by_default
    workload = Workload(
        tenant_id=tenant_id, name=submission.name, type=submission.type, priority=submission.priority,
        gpu_model=submission.gpu_model, gpu_count=submission.gpu_count, duration_s=submission.duration_s,
        max_price_usd_per_gpu_hour=submission.max_price_usd_per_gpu_hour, preemptible=preemptible,
        created_by=created_by, idempotency_key=idempotency_key,
    )
    await admission_check(session, tenant_id, workload, settings=settings, at=at)
    try:
        async with session.begin_nested():
            await lifecycle.create(session, workload, at=at)
    except IntegrityError:
        # The same key raced in from another request: that one won.
        if idempotency_key is not None and (existing := await _by_key(session, tenant_id, idempotency_key)):
            return existing, False
        raise
    await lifecycle.transition(session, workload, "queued", change=Change(at=at, reason="admitted"))
    return workload, True


async def _by_key(session: AsyncSession, tenant_id: str, key: str) -> Workload | None:
    return (await session.execute(
        select(Workload).where(Workload.tenant_id == tenant_id, Workload.idempotency_key == key)
    )).scalar_one_or_none()


async def list_workloads(
    *, session: AsyncSession, principal: Principal, status: str | None = None, tenant_id: str | None = None,
    limit: int = 100, offset: int = 0,
) -> tuple[list[Workload], int]:
    filters: list[Any] = [tenant_filter(principal, Workload.tenant_id)]
    if status is not None:
        filters.append(Workload.status == status)
    if tenant_id is not None:
        filters.append(Workload.tenant_id == tenant_id)
    total = int(await session.scalar(select(func.count()).select_from(Workload).where(*filters)) or 0)
    rows = (await session.execute(
        select(Workload).where(*filters).order_by(Workload.submitted_at.desc(), Workload.id)
        .limit(limit).offset(offset)
    )).scalars().all()
    return list(rows), total


async def get_workload(*, session: AsyncSession, principal: Principal, workload_id: str) -> Workload:
    workload = await session.get(Workload, workload_id)
    if workload is None:
        raise NotFound(f"no workload {workload_id}")
    ensure_visible(principal, workload.tenant_id, what="workload", id=workload_id)
    return workload


async def detail(*, session: AsyncSession, workload: Workload) -> dict[str, Any]:
    events = await lifecycle.history(session, workload.id)
    return {**workload_view(workload), "history": [
        {"from": e.from_status, "to": e.to_status, "at": e.at, "reason": e.reason} for e in events]}


async def cancel(
    *, session: AsyncSession, principal: Principal, workload_id: str, at: datetime,
) -> Workload:
    """Cancel in the caller's transaction: the units it held are released with it."""
    workload = await lifecycle.lock(session, workload_id)
    ensure_visible(principal, workload.tenant_id, what="workload", id=workload_id)
    previous = workload.status
    await lifecycle.transition(session, workload, "cancelled", change=Change(at=at, reason="cancelled by user"))
    await allocation.release(session=session, workload_id=workload.id, reason="workload cancelled", at=at)
    await record_audit(session, actor=principal, action="workload.cancel", object_type="workload",
                       object_id=workload.id, tenant_id=workload.tenant_id,
                       details={"previous_status": previous})
    return workload


def switch_view(row: Switch) -> dict[str, Any]:
    return {"id": row.id, "unit_id": row.unit_id, "workload_id": row.workload_id, "from": row.from_workload,
            "to": row.to_workload, "phases": dict(row.phases or {}), "latency_ms": row.latency_ms, "at": row.at}


async def list_switches(*, session: AsyncSession, limit: int = 100, offset: int = 0) -> tuple[list[Switch], int]:
    total = int(await session.scalar(select(func.count()).select_from(Switch)) or 0)
    rows = (await session.execute(
        select(Switch).order_by(Switch.at.desc(), Switch.id).limit(limit).offset(offset))).scalars().all()
    return list(rows), total


async def queued_demand(session: AsyncSession) -> list[WorkloadDemand]:
    """Queued workloads as the economics planner's demand (a `WorkloadSource`)."""
    rows = (await session.execute(
        select(Workload).where(Workload.status.in_(("queued", "preempted"))).order_by(Workload.submitted_at)
    )).scalars().all()
    demand = []
    for w in rows:
        # What it is worth: the rate card, up to the owner's limit ("any" at the dearest model's rate).
        rates = [DEFAULT_RATE_USD_PER_GPU_HOUR.get(m, Decimal("2.00"))
                 for m in (GPU_MODELS if w.gpu_model == "any" else (w.gpu_model,))]
        price = max(rates)
        limit = w.max_price_usd_per_gpu_hour
        if limit is not None:
            price = min(price, limit)
        demand.append(WorkloadDemand(id=w.id, gpu_model=w.gpu_model, gpu_count=w.gpu_count,
                                     price_usd_per_gpu_hour=float(price), tenant_id=w.tenant_id,
                                     max_price_usd_per_gpu_hour=None if limit is None else float(limit)))
    return demand


# --- the loop ----------------------------------------------------------------------------------
def _job(w: Workload) -> Job:
    return Job(id=w.id, tenant_id=w.tenant_id, type=w.type, priority=w.priority, gpu_model=w.gpu_model,
               gpu_count=w.gpu_count, duration_s=w.duration_s, submitted_at=w.submitted_at.timestamp(),
               preemptible=w.preemptible)


class OrchestratorLoop:
    """Places, switches, runs and completes workloads; one per deployment."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.settings = platform.settings.orchestrator
        self.leadership = Leadership(platform.db, LOOP_LOCK_KEY)
        self.leading = False
        self._forget_everything()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._work: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._checked_at = 0.0  # monotonic time of the last drift check
        self.repairs = 0  # drift repaired since start

    def _forget_everything(self) -> None:
        """Memory rebuilt from the tables by `reconcile` (at start, and on taking the lead)."""
        self.scheduler = Scheduler([])
        self.run_started: dict[str, float] = {}  # workload -> clock time it began running
        self.busy: set[str] = set()  # workloads with a switch or completion in flight
        self.preemptible: dict[str, bool] = {}
        self.reconciled = False
        self._suspects: set[str] = set()  # drift seen by the last check, repaired if seen again
        self.plan: economics.PlanForWorkloads | None = None  # the latest plan, as the last sync read it
        self.reasons: dict[str, str] = {}  # queued workload -> why it waits, as last written
        # Queued work its owner's budget cannot run now: (reason, monotonic time to look again).
        self.held_back: dict[str, tuple[str, float]] = {}

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="orchestrator-loop")
        _RUNNING.append(self)

    async def stop(self) -> None:
        # Let the tick and the switches in flight finish their transactions: a task cancelled
        # inside one would leave SQLite's write lock to the garbage collector.
        self._stopping = True
        self._wake.set()
        tasks = [t for t in (self._task, *self._work) if t is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_S)
            for t in pending:
                t.cancel()
            for t in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
        self._task = None
        if self in _RUNNING:
            _RUNNING.remove(self)
        await self.leadership.release()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("orchestrator tick failed; retrying", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.tick_s)
            self._wake.clear()

    async def step(self) -> None:
        """One turn of the loop: lead or stand by, reconcile when needed, then tick."""
        if not await self.leadership.hold():
            if self.leading:
                log.warning("orchestrator lost the lead: standing by")
                self._forget_everything()
            self.leading = False
            return
        if not self.leading:
            log.info("orchestrator leads the workload loop")
            self.leading = True
        if not self.reconciled:
            await self.reconcile()
            self.reconciled = True
            await self.check_drift()
        elif time.monotonic() - self._checked_at >= self.settings.reconcile_s:
            await self.check_drift()
        await self.tick()

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    @property
    def _runtime(self) -> Any:
        from hcp.resources.runtime import runtime_of

        return runtime_of(self.platform)

    # --- the fleet ------------------------------------------------------------------------------
    async def _sync_gpus(self, session: AsyncSession) -> dict[str, dict[str, Any]]:
        """The GPUs as resources and the fleet plan see them: a GPU the plan rents on spot is not
        ours to place on, and each facility has the power the plan leaves it (one view: the plan
        was made from the same allocations table, which counts what runs since)."""
        views, _ = await resources.list_units(session=session, limit=FLEET_LIMIT)
        fleet = {u.id: u for u in (unit_state(v) for v in views) if u is not None}
        self.plan = economics.plan_for_workloads(
            await economics.latest_plan_record(session=session), list(fleet.values()),
            now=self.platform.clock.now(), max_age_s=self.settings.plan_max_age_s)
        plan = self.plan
        s = self.scheduler
        extra_w: dict[str, float] = {}
        ours = set(s.running)
        units: dict[str, dict[str, Any]] = {}
        for v in views:
            if v["kind"] != "gpu":
                continue
            uid = str(v["id"])
            units[uid] = v
            if v["facility_id"] is None:
                continue
            if uid not in s.gpus:
                s.add_gpu(Gpu(uid, str(v["facility_id"]), str(v["model"]), available=False))
            held = v["allocation"]
            usable = (v["status"] in ("online", "switching") and v["health"] != "critical"
                      and (held is None or held["workload_id"] in ours)
                      and (plan is None or uid not in plan.spot))
            s.set_available(uid, usable)
            u = fleet.get(uid)
            if plan is not None and u is not None:
                # Work here adds what the plan does not count yet: nothing on a GPU it planned busy.
                extra_w[uid] = max(0.0, u.power_w - plan.planned_w.get(uid, u.idle_power_w or 0.0))
        s.set_power(plan.headroom_w if plan is not None else {}, extra_w)
        return units

    # --- reconciliation -------------------------------------------------------------------------
    async def reconcile(self) -> None:
        """Rebuild the scheduler from the tables and repair what a crash left behind."""
        now = self.platform.clock.now()
        async with self.platform.db.transaction() as session:
            units = await self._sync_gpus(session)
            rows = (await session.execute(
                select(Workload).where(Workload.status.in_(ACTIVE)).order_by(Workload.submitted_at)
            )).scalars().all()
            live = {w.id for w in rows}
            held, _ = await allocation.list_allocations(session=session, active=True, limit=FLEET_LIMIT)
            by_workload: dict[str, set[str]] = {}
            for a in held:
                by_workload.setdefault(a.workload_id, set()).add(a.unit_id)
            stray = sorted({a.workload_id for a in held if a.workload_id not in live})
            for workload_id in stray:
                await allocation.release(session=session, workload_id=workload_id, reason="no live workload", at=now)
            for w in rows:
                w = await lifecycle.lock(session, w.id)
                if w.status == "submitted":
                    await lifecycle.transition(session, w, "queued", change=Change(at=now, reason="recovered"))
                elif w.status == "preempted":
                    await lifecycle.transition(session, w, "queued", change=Change(at=now, reason="recovered"))
                elif w.status in ("scheduled", "switching"):
                    await allocation.release(session=session, workload_id=w.id, reason="interrupted switch", at=now)
                    await lifecycle.transition(session, w, "queued",
                                               change=Change(at=now, reason="switch interrupted by a restart"))
                elif w.status == "running":
                    mine = by_workload.get(w.id, set())
                    lost = [u for u in w.units if u not in units or units[u]["status"] == "offline"]
                    if lost:
                        await allocation.release(session=session, workload_id=w.id, reason="unit lost", at=now)
                        await lifecycle.transition(session, w, "failed",
                                                   change=Change(at=now, reason=f"unit lost: {', '.join(lost)}"))
                        continue
                    if set(w.units) != mine or not w.units or any(u not in self.scheduler.gpus for u in w.units):
                        await allocation.release(session=session, workload_id=w.id, reason="drift", at=now)
                        await lifecycle.transition(session, w, "queued",
                                                   change=Change(at=now, reason="its units were not held"))
                    else:
                        job = _job(w)
                        self.preemptible[w.id] = w.preemptible
                        self.scheduler.restore(job, w.units, now.timestamp())
                        self.run_started[w.id] = (w.started_at or now).timestamp()
                        continue
                if w.status == "queued":
                    self.preemptible[w.id] = w.preemptible
                    self.scheduler.submit(_job(w))
            await self._sync_gpus(session)

    async def check_drift(self) -> None:
        """Compare the tables and this loop's memory with what the drivers report, and repair:
        a running workload whose GPU does not run it goes back to the queue (keeping its place);
        a GPU running a workload nobody placed there is unloaded (both once two checks in a row
        see it); an allocation whose workload has ended is released."""
        self._checked_at = time.monotonic()
        try:
            runtime = self._runtime
        except Unavailable:
            runtime = None
        s = self.scheduler
        now = self.platform.clock.now()
        async with self.platform.db.read() as session:
            held, _ = await allocation.list_allocations(session=session, active=True, limit=FLEET_LIMIT)
            owners = {a.workload_id for a in held}
            live = set((await session.execute(
                select(Workload.id).where(Workload.id.in_(owners), Workload.status.in_(ACTIVE)))).scalars()) \
                if owners else set()
        if stale := sorted(owners - live - self.busy):
            async with self.platform.db.transaction() as session:
                for workload_id in stale:
                    await allocation.release(session=session, workload_id=workload_id, reason="no live workload",
                                             at=now)
            self.repairs += len(stale)
        if runtime is None:
            return
        holder = {g: job.id for job in s.running.values() for g in job.gpus}
        readings = await runtime.observe(list(s.gpus))
        drifted: dict[str, str] = {}
        strays: list[str] = []
        for gpu, reading in readings.items():
            if reading is None:
                continue  # no answer is the health monitor's business, not drift
            owner = holder.get(gpu)
            if owner is None or owner in self.busy:
                if owner is None and reading.workload_id is not None:
                    strays.append(gpu)
                continue
            if owner not in self.run_started:
                continue
            if reading.mode == "idle" or (reading.workload_id is not None and reading.workload_id != owner):
                drifted.setdefault(owner, f"GPU {gpu} was not running it")
        # Acted on when two checks in a row agree: a real workload may be between processes
        # for a moment (NVML then reports the GPU idle), and a stray may be a switch in flight.
        suspects, self._suspects = self._suspects, set(drifted) | {f"gpu:{g}" for g in strays}
        for workload_id, why in drifted.items():
            if workload_id in suspects:
                await self._requeue_drifted(workload_id, why)
        for gpu in strays:
            if f"gpu:{gpu}" not in suspects:
                continue
            log.warning("unloading a workload nobody placed", unit_id=gpu)
            self.repairs += 1
            self._spawn(self._unload_stray(gpu), f"orchestrator-unload-{gpu}")

    async def _requeue_drifted(self, workload_id: str, why: str) -> None:
        at = self.platform.clock.now()
        async with self.platform.db.transaction() as session:
            w = await lifecycle.lock(session, workload_id)
            if w.status != "running":
                return
            log.warning("drift: workload back to the queue", workload_id=workload_id, reason=why)
            await allocation.release(session=session, workload_id=workload_id, reason="drift", at=at)
            await lifecycle.transition(session, w, "queued", change=Change(at=at, reason=f"drift: {why}"))
        self.repairs += 1
        self.run_started.pop(workload_id, None)
        if workload_id in self.scheduler.running:
            self.scheduler.preempt(workload_id)
            job = self.scheduler.queue.get(workload_id)
            if job is not None:
                job.preemptible = self.preemptible.get(workload_id, job.preemptible)

    async def _unload_stray(self, gpu: str) -> None:
        # Placed again since the check (a preempted workload's leftover GPU, say): not a stray now.
        # Checked as the command goes out, on the loop that places: a later load follows this unload.
        if any(gpu in job.gpus for job in self.scheduler.running.values()):
            return
        with contextlib.suppress(HCPError, TimeoutError):
            await asyncio.wait_for(self._runtime.command(unit_id=gpu, action="unload_workload"),
                                   timeout=self.settings.switch_timeout_s)
        self.wake()

    # --- one tick -------------------------------------------------------------------------------
    async def tick(self) -> None:
        clock = self.platform.clock
        s = self.scheduler
        async with self.platform.db.read() as session:
            units = await self._sync_gpus(session)
            rows = (await session.execute(
                select(Workload.id, Workload.status).where(Workload.status.in_(ACTIVE)))).all()
            active = {wid: status for wid, status in rows}
            held_back = self._held_back_now()
            fresh_ids = [wid for wid, st in active.items() if st == "queued" and wid not in s.queue
                         and wid not in s.running and wid not in held_back]
            fresh = (await session.execute(select(Workload).where(Workload.id.in_(fresh_ids)))).scalars().all() \
                if fresh_ids else []
        for w in fresh:
            self.preemptible[w.id] = w.preemptible
            s.submit(_job(w))
        # Cancelled (or finished elsewhere) behind our back: free its GPUs here too.
        for wid in [j for j in list(s.queue) if j not in active]:
            s.cancel(wid)
        for wid in [j for j in list(s.running) if j not in active and j not in self.busy]:
            gpus = s.running[wid].gpus
            self.busy.add(wid)
            self._spawn(self._unload_and_free(wid, gpus), f"orchestrator-free-{wid}")
        # Units lost under running work.
        for job in list(s.running.values()):
            if job.id in self.busy or active.get(job.id) != "running":
                continue
            lost = [g for g in job.gpus if g not in units or units[g]["status"] == "offline"]
            if lost:
                await self._fail(job.id, f"unit lost: {', '.join(lost)}")
        # Completions, on the platform's clock.
        now = clock.time()
        for job in list(s.running.values()):
            started = self.run_started.get(job.id)
            if job.id in self.busy or started is None or now < started + job.duration_s:
                continue
            self.busy.add(job.id)
            job.preemptible = False
            self._spawn(self._complete(job.id), f"orchestrator-complete-{job.id}")
        # Placements.
        placements = s.schedule(now)
        for placement in placements:
            for victim in placement.preempted:
                await self._preempt(victim, by=placement.job.id)
            job = placement.job
            # A later placement of the same round may have displaced this one again.
            if s.running.get(job.id) is job and job.gpus == placement.gpus:
                await self._place(job, placement.facility_id, placement.gpus)
        await self._note_reasons()

    def _held_back_now(self) -> set[str]:
        """Workloads still held back for their budget (those whose time is up are looked at again)."""
        now = time.monotonic()
        self.held_back = {j: (why, until) for j, (why, until) in self.held_back.items() if until > now}
        return set(self.held_back)

    async def _note_reasons(self) -> None:
        """Write why each queued workload waits, where that changed: the scheduler's reason, or the
        plan's where it knows more (a spot rental's notice, a cap the planner could not lift)."""
        reasons = {}
        plan = self.plan
        for job_id, why in self.scheduler.reasons().items():
            planned = plan.waiting.get(job_id) if plan is not None else None
            if planned and not why.startswith("reserved:"):
                why = f"{why} (plan: {planned})" if why.startswith("fair share") else planned
            reasons[job_id] = why[:500]
        for job_id, (why, _until) in self.held_back.items():
            reasons[job_id] = why[:500]
        changed = [{"id": j, "wait_reason": r} for j, r in reasons.items() if self.reasons.get(j) != r]
        if changed:
            # One statement for them all (by primary key); a workload placed meanwhile shows no reason.
            async with self.platform.db.transaction() as session:
                await session.execute(update(Workload), changed)
        self.reasons = reasons

    async def _place(self, job: Job, facility_id: str, gpus: Sequence[str]) -> None:
        at = self.platform.clock.now()
        try:
            async with self.platform.db.transaction() as session:
                await allocation.lock_roles(session)
                w = await lifecycle.lock(session, job.id)
                if w.status != "queued":
                    raise Conflict(f"workload {job.id} is {w.status}")
                await self._refuse_rented(session, gpus)
                # Admitted work is a commitment unless its owner's budget says otherwise: the month's
                # spend (running work included) may have grown since it was admitted.
                await admission_check(session, w.tenant_id, w, settings=self.platform.settings, at=at)
                await allocation.allocate(
                    session=session, unit_ids=list(gpus), workload_id=w.id, tenant_id=w.tenant_id,
                    expected_end_at=at + timedelta(seconds=max(1.0, w.duration_s)), at=at)
                w.wait_reason = None
                await lifecycle.transition(session, w, "scheduled",
                                           change=Change(at=at, reason="placed", units=tuple(gpus),
                                                         facility_id=facility_id))
                # Switching starts at once: one transaction for both steps.
                await lifecycle.transition(session, w, "switching", change=Change(at=at, reason="switching in"))
        except HCPError as exc:
            log.info("placement not carried out", workload_id=job.id, reason=str(exc))
            if job.id in self.scheduler.running:
                self.scheduler.preempt(job.id)  # back to the queue in memory
            if exc.code == "budget_exceeded":
                # Its GPUs are fine; the workload sits out (not taking them round after round)
                # until its budget is looked at again.
                self.scheduler.cancel(job.id)
                self.held_back[job.id] = (f"budget: {exc}", time.monotonic() + self.settings.reconcile_s)
                return
            for g in gpus:
                self.scheduler.set_available(g, False)  # until the next sync says otherwise
            return
        PLACEMENTS.labels(queue_class=classify(job.type).name).inc()
        job.preemptible = False  # not while switching in
        self.busy.add(job.id)
        self._spawn(self._switch_in(job.id, tuple(gpus), job.type), f"orchestrator-switch-{job.id}")

    async def _refuse_rented(self, session: AsyncSession, gpus: Sequence[str]) -> None:
        """A plan made since this tick read its own may have rented a GPU out on spot: not ours then."""
        newest = await economics.latest_plan_ts(session=session)
        if newest is None or (self.plan is not None and newest <= self.plan.ts):
            return
        if (self.platform.clock.now() - newest).total_seconds() > self.settings.plan_max_age_s:
            return  # too old to steer by (as `_sync_gpus` judges it)
        record = await economics.latest_plan_record(session=session)
        if record is None:
            return
        rented = {d["unit_id"] for d in record.decisions if d["mode"] == "spot"} & set(gpus)
        if rented:
            raise Conflict(f"the newest plan rents {', '.join(sorted(rented))} on spot", code="unit_rented")

    async def _switch_one(self, unit_id: str, workload_id: str | None, workload_type: str | None,
                          owner: str) -> Switch:
        """Switch one GPU through its driver; the record to store (with the caller's transaction)."""
        runtime = self._runtime
        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            try:
                action = "load_workload" if workload_id else "unload_workload"
                out = await asyncio.wait_for(
                    runtime.command(unit_id=unit_id, action=action, workload_id=workload_id,
                                    workload_type=workload_type),
                    timeout=self.settings.switch_timeout_s)
                break
            except (HCPError, TimeoutError) as exc:
                if attempt + 1 >= attempts:
                    raise HCPError(f"switching {unit_id} failed: {exc}") from None
        result = out["result"]
        latency_ms = float(result.get("latency_ms") or 0.0)
        SWITCH_LATENCY.observe(latency_ms / 1000)
        return Switch(unit_id=unit_id, workload_id=owner, from_workload=None if workload_id else owner,
                      to_workload=workload_id, phases=result.get("phases") or {}, latency_ms=latency_ms,
                      at=self.platform.clock.now())

    async def _switch_in(self, workload_id: str, gpus: tuple[str, ...], workload_type: str) -> None:
        try:
            results = await asyncio.gather(
                *(self._switch_one(g, workload_id, workload_type, workload_id) for g in gpus),
                return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            at = self.platform.clock.now()
            async with self.platform.db.transaction() as session:
                session.add_all([r for r in results if isinstance(r, Switch)])
                w = await lifecycle.lock(session, workload_id)
                if w.status != "switching":  # cancelled meanwhile: the tick frees its GPUs
                    return
                if failed:
                    await allocation.release(session=session, workload_id=workload_id, reason="switch failed", at=at)
                    await lifecycle.transition(session, w, "failed", change=Change(at=at, reason=str(failed[0])))
                else:
                    await lifecycle.transition(session, w, "running", change=Change(at=at, reason="switched in"))
            if failed:
                if workload_id in self.scheduler.running:
                    self.scheduler.finish(workload_id)
                return
            self.run_started[workload_id] = at.timestamp()
            job = self.scheduler.running.get(workload_id)
            if job is not None:
                job.preemptible = self.preemptible.get(workload_id, job.preemptible)
        except HCPError:
            log.warning("switch-in failed", workload_id=workload_id, exc_info=True)
        finally:
            self.busy.discard(workload_id)
            self.wake()

    async def _complete(self, workload_id: str) -> None:
        try:
            at = self.platform.clock.now()
            async with self.platform.db.transaction() as session:
                w = await lifecycle.lock(session, workload_id)
                if w.status == "running":
                    await lifecycle.transition(session, w, "completed", change=Change(at=at, reason="ran its duration"))
                    await allocation.release(session=session, workload_id=workload_id, reason="completed", at=at)
            job = self.scheduler.running.get(workload_id)
            if job is not None:
                await self._unload(workload_id, job.gpus)
        finally:
            self._forget(workload_id)

    async def _unload(self, workload_id: str, gpus: Sequence[str]) -> None:
        results = await asyncio.gather(*(self._switch_one(g, None, None, workload_id) for g in gpus),
                                       return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                log.info("unload failed", workload_id=workload_id, error=str(r))
        if done := [r for r in results if isinstance(r, Switch)]:
            async with self.platform.db.transaction() as session:
                session.add_all(done)

    async def _unload_and_free(self, workload_id: str, gpus: Sequence[str]) -> None:
        try:
            await self._unload(workload_id, gpus)
        finally:
            self._forget(workload_id)

    def _forget(self, workload_id: str) -> None:
        if workload_id in self.scheduler.running:
            self.scheduler.finish(workload_id)
        self.run_started.pop(workload_id, None)
        self.preemptible.pop(workload_id, None)
        self.busy.discard(workload_id)
        self.wake()

    async def _fail(self, workload_id: str, reason: str) -> None:
        at = self.platform.clock.now()
        async with self.platform.db.transaction() as session:
            w = await lifecycle.lock(session, workload_id)
            if w.status == "running":
                await lifecycle.transition(session, w, "failed", change=Change(at=at, reason=reason))
                await allocation.release(session=session, workload_id=workload_id, reason=reason, at=at)
        self._forget(workload_id)

    async def _preempt(self, workload_id: str, *, by: str) -> None:
        """The scheduler already put the victim back in its queue; record it and free its units."""
        at = self.platform.clock.now()
        async with self.platform.db.transaction() as session:
            w = await lifecycle.lock(session, workload_id)
            if w.status == "running":
                reason = f"preempted by {by}"
                await lifecycle.transition(session, w, "preempted", change=Change(at=at, reason=reason))
                await allocation.release(session=session, workload_id=workload_id, reason=reason, at=at)
                await lifecycle.transition(session, w, "queued", change=Change(at=at, reason="requeued"))
        self.run_started.pop(workload_id, None)
        job = self.scheduler.queue.get(workload_id)
        if job is not None:
            job.preemptible = self.preemptible.get(workload_id, job.preemptible)


def loop_of(platform: Platform) -> OrchestratorLoop | None:
    loop = platform.state.get(STATE_KEY)
    return loop if isinstance(loop, OrchestratorLoop) else None


QUEUE_CLASS_NAMES = tuple(dict.fromkeys(c.name for c in QUEUE_CLASSES.values()))
_RUNNING: list[OrchestratorLoop] = []  # the loops of this process, for the queue-depth gauge


def depth_of(loop: OrchestratorLoop) -> dict[str, int] | None:
    """Workloads waiting per queue class (None where the loop stands by: the leader knows)."""
    if not loop.leading:
        return None
    depth = dict.fromkeys(QUEUE_CLASS_NAMES, 0)
    for job in list(loop.scheduler.queue.values()):
        depth[classify(job.type).name] += 1
    return depth


def queue_depth(platform: Platform) -> dict[str, int] | None:
    """The queue depth of the workload loop running in this process, if one runs here."""
    loop = loop_of(platform)
    return None if loop is None else depth_of(loop)


class QueueDepthCollector(Collector):
    """`hcp_queue_depth`, read from the leading loop's queue at scrape time."""

    def collect(self) -> list[GaugeMetricFamily]:
        family = GaugeMetricFamily("hcp_queue_depth", "Workloads queued, per queue class", labels=["queue_class"])
        for loop in _RUNNING[-1:]:
            for queue_class, count in (depth_of(loop) or {}).items():
                family.add_metric([queue_class], count)
        return [family]


REGISTRY.register(QueueDepthCollector())

