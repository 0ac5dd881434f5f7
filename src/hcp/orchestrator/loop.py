"""The workload loop: places queued workloads on GPUs, switches them in, runs them and completes
them, one loop per deployment (the replica holding the lead).

The database is the truth; the loop's in-memory `Scheduler` is rebuilt from it on start
(`Reconciliation`), so a crash at any point resumes from the tables. Units are taken through
the resources domain's allocation service, whose unique index forbids double booking.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine, Sequence
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.core.component import tasks_health
from hcp.core.errors import Conflict, HCPError
from hcp.core.leadership import Leadership
from hcp.core.platform import Platform
from hcp.core.tasks import wait_event
from hcp.economics import service as economics
from hcp.kernel.enums import PlanMode, UnitStatus, WorkloadStatus
from hcp.orchestrator import lifecycle
from hcp.orchestrator.lifecycle import ACTIVE, Change
from hcp.orchestrator.metrics import PLACEMENTS, RUNNING, SWITCH_LATENCY
from hcp.orchestrator.models import Switch, Workload
from hcp.orchestrator.reconcile import Reconciliation, job_of
from hcp.orchestrator.service import admission_check
from hcp.resources import allocation
from hcp.router.scheduler import Job, classify

log = structlog.get_logger(__name__)

STOP_GRACE_S = 5.0
LOOP_LOCK_KEY = 0x4843_5002  # one workload loop per deployment when several replicas run


class OrchestratorLoop(Reconciliation):
    """Places, switches, runs and completes workloads; one per deployment."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.settings = platform.settings.orchestrator
        self.leadership = Leadership(platform.db, LOOP_LOCK_KEY)
        self.leading = False
        self.repairs = 0
        self._checked_at = 0.0
        self._forget_everything()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._work: set[asyncio.Task[None]] = set()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    name = "workload-loop"

    def health(self) -> str:
        return tasks_health([self._task]) if self._task is not None else "stopped"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="orchestrator-loop")
        RUNNING.append(self)

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
        if self in RUNNING:
            RUNNING.remove(self)
        await self.leadership.release()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("orchestrator tick failed; retrying", exc_info=True)
            await wait_event(self._wake, self.settings.tick_s)
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

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

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
            fresh_ids = [wid for wid, st in active.items() if st == WorkloadStatus.QUEUED and wid not in s.queue
                         and wid not in s.running and wid not in held_back]
            fresh = (await session.execute(select(Workload).where(Workload.id.in_(fresh_ids)))).scalars().all() \
                if fresh_ids else []
        for w in fresh:
            self.preemptible[w.id] = w.preemptible
            s.submit(job_of(w))
        # Cancelled (or finished elsewhere) behind our back: free its GPUs here too.
        for wid in [j for j in list(s.queue) if j not in active]:
            s.cancel(wid)
        for wid in [j for j in list(s.running) if j not in active and j not in self.busy]:
            gpus = s.running[wid].gpus
            self.busy.add(wid)
            self._spawn(self._unload_and_free(wid, gpus), f"orchestrator-free-{wid}")
        # Units lost under running work.
        for job in list(s.running.values()):
            if job.id in self.busy or active.get(job.id) != WorkloadStatus.RUNNING:
                continue
            lost = [g for g in job.gpus if g not in units or units[g]["status"] == UnitStatus.OFFLINE]
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
                if w.status != WorkloadStatus.QUEUED:
                    raise Conflict(f"workload {job.id} is {w.status}")
                await self._refuse_rented(session, gpus)
                # Admitted work is a commitment unless its owner's budget says otherwise: the month's
                # spend (running work included) may have grown since it was admitted.
                await admission_check(session, w.tenant_id, w, settings=self.platform.settings, at=at)
                await allocation.allocate(
                    session=session, unit_ids=list(gpus), workload_id=w.id, tenant_id=w.tenant_id,
                    expected_end_at=at + timedelta(seconds=max(1.0, w.duration_s)), at=at)
                w.wait_reason = None
                await lifecycle.transition(session, w, WorkloadStatus.SCHEDULED,
                                           change=Change(at=at, reason="placed", units=tuple(gpus),
                                                         facility_id=facility_id))
                # Switching starts at once: one transaction for both steps.
                await lifecycle.transition(session, w, WorkloadStatus.SWITCHING,
                                           change=Change(at=at, reason="switching in"))
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
        rented = {d["unit_id"] for d in record.decisions if d["mode"] == PlanMode.SPOT} & set(gpus)
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
                if w.status != WorkloadStatus.SWITCHING:  # cancelled meanwhile: the tick frees its GPUs
                    return
                if failed:
                    await allocation.release(session=session, workload_id=workload_id, reason="switch failed", at=at)
                    await lifecycle.transition(session, w, WorkloadStatus.FAILED,
                                               change=Change(at=at, reason=str(failed[0])))
                else:
                    await lifecycle.transition(session, w, WorkloadStatus.RUNNING,
                                               change=Change(at=at, reason="switched in"))
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
                if w.status == WorkloadStatus.RUNNING:
                    await lifecycle.transition(session, w, WorkloadStatus.COMPLETED,
                                               change=Change(at=at, reason="ran its duration"))
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
            if w.status == WorkloadStatus.RUNNING:
                await lifecycle.transition(session, w, WorkloadStatus.FAILED, change=Change(at=at, reason=reason))
                await allocation.release(session=session, workload_id=workload_id, reason=reason, at=at)
        self._forget(workload_id)

    async def _preempt(self, workload_id: str, *, by: str) -> None:
        """The scheduler already put the victim back in its queue; record it and free its units."""
        at = self.platform.clock.now()
        async with self.platform.db.transaction() as session:
            w = await lifecycle.lock(session, workload_id)
            if w.status == WorkloadStatus.RUNNING:
                reason = f"preempted by {by}"
                await lifecycle.transition(session, w, WorkloadStatus.PREEMPTED, change=Change(at=at, reason=reason))
                await allocation.release(session=session, workload_id=workload_id, reason=reason, at=at)
                await lifecycle.transition(session, w, WorkloadStatus.QUEUED, change=Change(at=at, reason="requeued"))
        self.run_started.pop(workload_id, None)
        job = self.scheduler.queue.get(workload_id)
        if job is not None:
            job.preemptible = self.preemptible.get(workload_id, job.preemptible)


def loop_of(platform: Platform) -> OrchestratorLoop | None:
    return platform.components.get(OrchestratorLoop)
