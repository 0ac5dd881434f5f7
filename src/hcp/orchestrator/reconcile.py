"""Reconciliation of the workload loop: its memory (the scheduler) is rebuilt from the tables at
start and on taking the lead, so a crash at any point resumes from them; drift between the tables,
that memory and what the drivers report is found and repaired while the loop runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.core.errors import HCPError, Unavailable
from hcp.core.platform import Platform
from hcp.core.settings import OrchestratorSettings
from hcp.economics import service as economics
from hcp.economics.fleet import unit_state
from hcp.kernel.enums import Health, UnitKind, UnitMode, UnitStatus, WorkloadStatus
from hcp.orchestrator import lifecycle
from hcp.orchestrator.lifecycle import ACTIVE, Change
from hcp.orchestrator.models import Workload
from hcp.resources import allocation
from hcp.resources import service as resources
from hcp.router.scheduler import Gpu, Job, Scheduler

log = structlog.get_logger(__name__)

FLEET_LIMIT = 100_000


def job_of(w: Workload) -> Job:
    """A workload as the scheduler sees it."""
    return Job(id=w.id, tenant_id=w.tenant_id, type=w.type, priority=w.priority, gpu_model=w.gpu_model,
               gpu_count=w.gpu_count, duration_s=w.duration_s, submitted_at=w.submitted_at.timestamp(),
               preemptible=w.preemptible)


class Reconciliation(ABC):
    """The workload loop's memory and its repair; `OrchestratorLoop` runs it (and supplies how
    to wake the loop and run work beside it)."""

    platform: Platform
    settings: OrchestratorSettings
    repairs: int  # drift repaired since start
    _checked_at: float  # monotonic time of the last drift check

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

    @abstractmethod
    def wake(self) -> None:
        """Run the loop's next tick now."""

    @abstractmethod
    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run `coro` beside the loop (the loop waits for it when it stops)."""

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
            if v["kind"] != UnitKind.GPU:
                continue
            uid = str(v["id"])
            units[uid] = v
            if v["facility_id"] is None:
                continue
            if uid not in s.gpus:
                s.add_gpu(Gpu(uid, str(v["facility_id"]), str(v["model"]), available=False))
            held = v["allocation"]
            usable = (v["status"] in (UnitStatus.ONLINE, UnitStatus.SWITCHING) and v["health"] != Health.CRITICAL
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
                if w.status in (WorkloadStatus.SUBMITTED, WorkloadStatus.PREEMPTED):
                    await lifecycle.transition(session, w, WorkloadStatus.QUEUED,
                                               change=Change(at=now, reason="recovered"))
                elif w.status in (WorkloadStatus.SCHEDULED, WorkloadStatus.SWITCHING):
                    await allocation.release(session=session, workload_id=w.id, reason="interrupted switch", at=now)
                    await lifecycle.transition(session, w, WorkloadStatus.QUEUED,
                                               change=Change(at=now, reason="switch interrupted by a restart"))
                elif w.status == WorkloadStatus.RUNNING:
                    mine = by_workload.get(w.id, set())
                    lost = [u for u in w.units if u not in units or units[u]["status"] == UnitStatus.OFFLINE]
                    if lost:
                        await allocation.release(session=session, workload_id=w.id, reason="unit lost", at=now)
                        await lifecycle.transition(session, w, WorkloadStatus.FAILED,
                                                   change=Change(at=now, reason=f"unit lost: {', '.join(lost)}"))
                        continue
                    if set(w.units) != mine or not w.units or any(u not in self.scheduler.gpus for u in w.units):
                        await allocation.release(session=session, workload_id=w.id, reason="drift", at=now)
                        await lifecycle.transition(session, w, WorkloadStatus.QUEUED,
                                                   change=Change(at=now, reason="its units were not held"))
                    else:
                        job = job_of(w)
                        self.preemptible[w.id] = w.preemptible
                        self.scheduler.restore(job, w.units, now.timestamp())
                        self.run_started[w.id] = (w.started_at or now).timestamp()
                        continue
                if w.status == WorkloadStatus.QUEUED:
                    self.preemptible[w.id] = w.preemptible
                    self.scheduler.submit(job_of(w))
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
            if reading.mode == UnitMode.IDLE or (reading.workload_id is not None and reading.workload_id != owner):
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
            if w.status != WorkloadStatus.RUNNING:
                return
            log.warning("drift: workload back to the queue", workload_id=workload_id, reason=why)
            await allocation.release(session=session, workload_id=workload_id, reason="drift", at=at)
            await lifecycle.transition(session, w, WorkloadStatus.QUEUED, change=Change(at=at, reason=f"drift: {why}"))
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

