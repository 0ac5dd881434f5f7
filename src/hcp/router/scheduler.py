"""The workload scheduler: which queued workload runs next, and on which GPUs.

In memory and fast (the database records its decisions; it does not make them):
- classification: inference, training and batch each map to a queue class with its SLO and
  default preemptibility;
- ordering: priority with aging (nobody starves) and per-tenant fair share by dominant resource
  share (the tenant holding the larger share of a GPU model waits behind the smaller one);
- placement: all-or-nothing on healthy GPUs of the requested model in ONE facility, best fit
  (the facility left with the fewest free GPUs of that model), only on GPUs the fleet plan
  gives to AI, and within the power the plan leaves the facility;
- backfill: a workload that cannot start reserves only the pool (facility and GPU model) it
  will start in; work behind it goes ahead in any other pool, and in its pool only if it ends
  before the reservation or uses GPUs the reservation leaves spare (Slurm's and Kueue's rule);
- reasons: every queued workload left waiting after a round says why (`reasons()`);
- preemption: a workload that cannot be placed may displace preemptible workloads of lower
  priority in one facility; they go back to the queue keeping their original submission time.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from hcp.kernel.enums import GpuModelChoice, WorkloadType

ANY_MODEL: Final = GpuModelChoice.ANY


@dataclass(frozen=True)
class QueueClass:
    name: str
    # How long a workload of the class may wait before it misses its start SLO.
    start_slo_s: float
    preemptible_by_default: bool
    # Added to the priority so latency-sensitive work is looked at first among equals.
    priority_boost: float


QUEUE_CLASSES: dict[str, QueueClass] = {
    WorkloadType.AI_INFERENCE: QueueClass("inference", start_slo_s=5.0, preemptible_by_default=False,
                                          priority_boost=0.5),
    WorkloadType.AI_TRAINING: QueueClass("training", start_slo_s=600.0, preemptible_by_default=True,
                                         priority_boost=0.0),
    WorkloadType.BATCH: QueueClass("batch", start_slo_s=3600.0, preemptible_by_default=True, priority_boost=-0.5),
}


def classify(workload_type: str) -> QueueClass:
    return QUEUE_CLASSES[workload_type]


@dataclass
class Job:
    """A workload as the scheduler sees it."""

    id: str
    tenant_id: str
    type: str
    priority: int
    gpu_model: str
    gpu_count: int
    duration_s: float
    submitted_at: float  # keeps its value across preemptions: the place in the queue by age
    preemptible: bool
    boost: float = 0.0  # the queue class's priority boost, set on submit
    # Filled while running
    facility_id: str | None = None
    gpus: tuple[str, ...] = ()
    started_at: float | None = None

    @property
    def queue_class(self) -> QueueClass:
        return QUEUE_CLASSES[self.type]


@dataclass
class Gpu:
    id: str
    facility_id: str
    model: str
    available: bool = True  # healthy, online, and given to AI by the fleet plan
    job: str | None = None
    extra_w: float = 0.0  # power a workload here adds beyond what the fleet plan counts for the GPU


@dataclass
class Placement:
    job: Job
    facility_id: str
    gpus: tuple[str, ...]
    preempted: tuple[str, ...] = ()  # jobs displaced to make room
    backfilled: bool = False


@dataclass
class Weights:
    """How queue order mixes priority, waiting time and fairness (Slurm's multifactor idea)."""

    # Priority points gained per hour of waiting, up to the cap (after 20 h): enough that old
    # low-priority work is not starved, small next to fair share (as Slurm weighs age). Between two
    # tenants flooding the queue the older flood's jobs keep their head start in age, and the
    # GPU time used lately settles where its penalty makes up for it: at 1 point/h a flood 25 min
    # older got 25% more GPU time; at a quarter point it gets < 5% more.
    aging_per_hour: float = 0.25
    aging_cap: float = 5.0
    fair_share: float = 2.0  # priority points lost at an equal share of the GPUs (DRF)
    # Points lost at an equal share of the GPU time used lately (decayed), as Slurm's fair-share
    # factor: it settles what the current shares leave equal (an odd GPU goes to whoever has had
    # less), so two tenants flooding the queue get equal GPU time over a long run.
    usage_share: float = 1.0
    usage_half_life_s: float = 3600.0
    preemption_margin: int = 2  # a workload preempts only work at least this many levels below
    # Jobs looked at for backfill once the head is blocked (Slurm's bf_max_job_test).
    backfill_depth: int = 1000


@dataclass
class _Pool:
    """Free GPUs of one model in one facility."""

    free: list[str] = field(default_factory=list)


@dataclass
class _Reservation:
    """A blocked job's claim on the pool it will start in: when, and how many GPUs it leaves."""

    job: Job
    start_at: float
    spare: int
    pool: tuple[str, str] | None = None  # (facility, model); None when it lacks only power now

    def reason(self) -> str:
        fac, model = self.pool or ("", "")
        # The other workload is not named: it may be another tenant's.
        return (f"reserved: the free {model} GPUs at {fac} are held for a workload ahead in the queue "
                f"(priority {self.job.priority}, {self.job.gpu_count} GPUs), which starts there as running "
                f"work ends; this workload would run past that")


class Scheduler:
    def __init__(self, gpus: Iterable[Gpu], *, weights: Weights | None = None) -> None:
        self.weights = weights or Weights()
        self.gpus: dict[str, Gpu] = {}
        self.pools: dict[tuple[str, str], _Pool] = defaultdict(_Pool)
        self.totals: dict[str, int] = defaultdict(int)  # GPUs per model, for shares
        for g in gpus:
            self.add_gpu(g)
        self.queue: dict[str, Job] = {}
        self.running: dict[str, Job] = {}
        self.held: dict[tuple[str, str], int] = defaultdict(int)  # (tenant, model) -> GPUs held
        self.shares: dict[str, float] = defaultdict(float)  # tenant -> dominant share, kept current
        self.tenants: set[str] = set()
        self.usage: dict[str, float] = defaultdict(float)  # tenant -> decayed GPU-seconds used
        self._usage_at: float | None = None
        # Watts each facility may still add for new work (the plan's cap less what it counts);
        # a facility absent here has no limit the scheduler knows of.
        self.headroom_w: dict[str, float] = {}
        self.why: dict[str, str] = {}  # job -> why it waits, for those the last round looked at
        self._dead: set[tuple[str, int]] = set()  # shapes the last round passed over

    # --- fleet ----------------------------------------------------------------------------------
    def add_gpu(self, gpu: Gpu) -> None:
        self.gpus[gpu.id] = gpu
        self.totals[gpu.model] += 1
        if gpu.available and gpu.job is None:
            self.pools[(gpu.facility_id, gpu.model)].free.append(gpu.id)

    def set_available(self, gpu_id: str, available: bool) -> None:
        """The plan or health took a GPU away from AI (or gave it back). Running work stays;
        the orchestrator decides what to do with work on a lost unit."""
        gpu = self.gpus[gpu_id]
        if gpu.available == available:
            return
        gpu.available = available
        pool = self.pools[(gpu.facility_id, gpu.model)].free
        if available and gpu.job is None:
            pool.append(gpu_id)
        elif not available and gpu_id in pool:
            pool.remove(gpu_id)

    # --- queue ----------------------------------------------------------------------------------
    def submit(self, job: Job) -> None:
        job.boost = job.queue_class.priority_boost
        self.queue[job.id] = job
        self.tenants.add(job.tenant_id)

    def cancel(self, job_id: str) -> Job | None:
        job = self.queue.pop(job_id, None)
        if job is None:
            job = self.running.get(job_id)
            if job is not None:
                self.finish(job_id)
        return job

    def dominant_share(self, tenant_id: str) -> float:
        return self.shares[tenant_id]

    def _update_share(self, tenant_id: str) -> None:
        self.shares[tenant_id] = max(
            (self.held[(tenant_id, m)] / total for m, total in self.totals.items() if total), default=0.0)

    def base_score(self, job: Job, now: float) -> float:
        """Priority, class and age: the order of a tenant's own queue."""
        w = self.weights
        age_h = max(0.0, now - job.submitted_at) / 3600.0
        return job.priority + job.boost + min(w.aging_cap, age_h * w.aging_per_hour)

    def fairness_penalty(self, tenant_id: str) -> float:
        """Points lost in proportion to the tenant's dominant share relative to an equal share:
        among equals, the tenant holding less of its most-used GPU model goes first (DRF); then
        in proportion to its share of the GPU time used lately."""
        fair = 1.0 / max(1, len(self.tenants))
        penalty = self.weights.fair_share * self.dominant_share(tenant_id) / fair
        used = sum(self.usage.values())
        if used > 0:
            penalty += self.weights.usage_share * self.usage[tenant_id] / used / fair
        return penalty

    def account(self, now: float) -> None:
        """Add the GPU time of the running jobs since the last call, decaying what came before."""
        last, self._usage_at = self._usage_at, now
        if last is None or now <= last:
            return
        decay = 0.5 ** ((now - last) / self.weights.usage_half_life_s)
        for tenant in self.usage:
            self.usage[tenant] *= decay
        for job in self.running.values():
            self.usage[job.tenant_id] += len(job.gpus) * (now - max(last, job.started_at or last))

    def score(self, job: Job, now: float) -> float:
        """Higher goes first."""
        return self.base_score(job, now) - self.fairness_penalty(job.tenant_id)

    def order(self, now: float) -> list[Job]:
        """The queue as `schedule` would take it, if nothing got placed (shares stay as they are)."""
        return sorted(self.queue.values(), key=lambda j: (-self.score(j, now), j.submitted_at, j.id))

    def _dynamic_order(self, now: float, dead: set[tuple[str, int]]) -> Iterator[Job]:
        """Jobs best-first, re-weighing a tenant's fair share after each of its jobs is looked at:
        a tenant that just got GPUs falls behind one that did not (DRF-style alternation).

        Jobs are streamed per (tenant, shape), shape = (model asked for, GPU count), so that once
        the caller marks a shape `dead` (no facility has that many free GPUs of the model) all its
        jobs are passed over at once instead of one by one."""
        streams: dict[tuple[str, tuple[str, int]], list[tuple[float, float, str]]] = defaultdict(list)
        rate, cap = self.weights.aging_per_hour / 3600.0, self.weights.aging_cap
        for j in self.queue.values():
            age_points = (now - j.submitted_at) * rate
            key = j.priority + j.boost + (cap if age_points > cap else age_points if age_points > 0 else 0.0)
            streams[(j.tenant_id, (j.gpu_model, j.gpu_count))].append((-key, j.submitted_at, j.id))
        heap = []
        for stream_key, jobs in streams.items():
            jobs.sort(reverse=True)  # best last, so pop() takes it
            head = jobs[-1]
            heap.append((head[0] + self.fairness_penalty(stream_key[0]), head[1], head[2], stream_key))
        heapq.heapify(heap)
        while heap:
            _, _, job_id, stream_key = heapq.heappop(heap)
            tenant, shape = stream_key
            if shape in dead:
                continue  # this stream's jobs cannot fit anywhere now
            jobs = streams[stream_key]
            jobs.pop()
            job = self.queue.get(job_id)
            if job is not None:
                yield job
            if jobs:
                head = jobs[-1]
                heapq.heappush(heap, (head[0] + self.fairness_penalty(tenant), head[1], head[2], stream_key))

    # --- placement ------------------------------------------------------------------------------
    def _models(self, job: Job) -> list[str]:
        return sorted(self.totals) if job.gpu_model == ANY_MODEL else [job.gpu_model]

    def set_power(self, headroom_w: dict[str, float], extra_w: dict[str, float]) -> None:
        """What the fleet plan allows: watts each facility may still add, and what work on each GPU
        adds. Free GPUs are ordered so the cheapest (those the plan already counts busy) go first."""
        self.headroom_w = dict(headroom_w)
        for gid, gpu in self.gpus.items():
            gpu.extra_w = extra_w.get(gid, 0.0)
        for pool in self.pools.values():
            pool.free.sort(key=lambda g: -self.gpus[g].extra_w)  # stable: the newest freed stay last

    @staticmethod
    def _cheapest(pool: list[str], count: int) -> list[str]:
        """The `count` free GPUs taken next: the pool's tail (the cheapest in power, after `set_power`)."""
        return pool[-count:]

    def _power_fits(self, facility_id: str, gpus: list[str]) -> bool:
        room = self.headroom_w.get(facility_id)
        return room is None or sum(self.gpus[g].extra_w for g in gpus) <= room + 1e-6

    def _best_fit(self, job: Job, *, power: bool = True) -> tuple[str, str] | None:
        """(facility, model) whose free GPUs fit the job most tightly (and its power, if `power`)."""
        best: tuple[int, str, str] | None = None
        for model in self._models(job):
            for (fac, m), pool in self.pools.items():
                if m != model or len(pool.free) < job.gpu_count:
                    continue
                if power and not self._power_fits(fac, self._cheapest(pool.free, job.gpu_count)):
                    continue
                key = (len(pool.free), fac, m)
                if best is None or key < best:
                    best = key
        return None if best is None else (best[1], best[2])

    def _start(self, job: Job, facility_id: str, model: str, now: float) -> tuple[str, ...]:
        pool = self.pools[(facility_id, model)].free
        gpus = tuple(pool[-job.gpu_count:])
        del pool[-job.gpu_count:]
        for gid in gpus:
            self.gpus[gid].job = job.id
        if facility_id in self.headroom_w:
            self.headroom_w[facility_id] -= sum(self.gpus[g].extra_w for g in gpus)
        job.facility_id, job.gpus, job.started_at = facility_id, gpus, now
        self.queue.pop(job.id, None)
        self.running[job.id] = job
        self.held[(job.tenant_id, model)] += job.gpu_count
        self._update_share(job.tenant_id)
        return gpus

    def restore(self, job: Job, gpus: Iterable[str], now: float) -> None:
        """Take back a job that already runs on these GPUs (a restart rebuilding its state)."""
        held = tuple(gpus)
        model = self.gpus[held[0]].model
        for gid in held:
            gpu = self.gpus[gid]
            pool = self.pools[(gpu.facility_id, gpu.model)].free
            if gid in pool:
                pool.remove(gid)
            gpu.job = job.id
        job.boost = job.queue_class.priority_boost
        job.facility_id, job.gpus, job.started_at = self.gpus[held[0]].facility_id, held, now
        self.queue.pop(job.id, None)
        self.running[job.id] = job
        self.tenants.add(job.tenant_id)
        self.held[(job.tenant_id, model)] += len(held)
        self._update_share(job.tenant_id)

    def finish(self, job_id: str) -> Job:
        """The job completed, failed or was cancelled: its GPUs are free again."""
        job = self.running.pop(job_id)
        self._release(job)
        return job

    def _release(self, job: Job) -> None:
        for gid in job.gpus:
            gpu = self.gpus[gid]
            gpu.job = None
            if gpu.available:
                self.pools[(gpu.facility_id, gpu.model)].free.append(gid)
        if job.gpus:
            model = self.gpus[job.gpus[0]].model
            self.held[(job.tenant_id, model)] -= len(job.gpus)
            self._update_share(job.tenant_id)
        job.facility_id, job.gpus, job.started_at = None, (), None

    def preempt(self, job_id: str) -> Job:
        """Back to the queue, keeping its submission time (its place by age)."""
        job = self.running.pop(job_id)
        self._release(job)
        self.queue[job.id] = job
        return job

    def _shadow(self, job: Job, now: float) -> _Reservation | None:
        """Where and when a blocked job could start at the earliest, and how many GPUs of that
        pool it leaves spare then (EASY backfill's reservation, one pool per blocked job)."""
        best: _Reservation | None = None
        for model in self._models(job):
            for (fac, m), pool in self.pools.items():
                if m != model:
                    continue
                free = len(pool.free)
                if free >= job.gpu_count:  # GPUs enough but not the power: it starts when power allows
                    return _Reservation(job, now, free - job.gpu_count)
                ends = sorted(
                    (r.started_at + r.duration_s, len(r.gpus)) for r in self.running.values()
                    if r.facility_id == fac and r.gpus and self.gpus[r.gpus[0]].model == m
                    and r.started_at is not None
                )
                for t, n in ends:
                    free += n
                    if free >= job.gpu_count:
                        if best is None or t < best.start_at:
                            best = _Reservation(job, t, free - job.gpu_count, (fac, m))
                        break
        return best

    def _preemption(self, job: Job, reserved: dict[tuple[str, str], _Reservation]) -> tuple[str, str, list[Job]] | None:
        """The cheapest set of lower-priority preemptible jobs whose GPUs make room for `job`, in a
        pool no job ahead of it has reserved."""
        best: tuple[tuple[int, int], str, str, list[Job]] | None = None
        for model in self._models(job):
            for (fac, m), pool in self.pools.items():
                if m != model or (fac, m) in reserved:
                    continue
                victims = sorted(
                    (r for r in self.running.values()
                     if r.facility_id == fac and r.preemptible and r.gpus
                     and self.gpus[r.gpus[0]].model == m
                     and r.priority + self.weights.preemption_margin <= job.priority),
                    key=lambda r: (r.priority, -(r.started_at or 0.0)),  # lowest first, newest first
                )
                free, chosen = len(pool.free), []
                for v in victims:
                    if free >= job.gpu_count:
                        break
                    chosen.append(v)
                    free += sum(1 for g in v.gpus if self.gpus[g].available)
                if free < job.gpu_count:
                    continue
                freed = [*pool.free, *(g for v in chosen for g in v.gpus if self.gpus[g].available)]
                room = self.headroom_w.get(fac)
                if room is not None and sum(sorted(self.gpus[g].extra_w for g in freed)[:job.gpu_count]) > (
                        room + sum(self.gpus[g].extra_w for v in chosen for g in v.gpus) + 1e-6):
                    continue  # the power would not be there either
                cost = (sum(len(v.gpus) for v in chosen), max((v.priority for v in chosen), default=0))
                if best is None or cost < best[0]:
                    best = (cost, fac, m, chosen)
        return None if best is None else (best[1], best[2], best[3])

    def schedule(self, now: float, *, limit: int | None = None) -> list[Placement]:
        """Place what can be placed now, in queue order, with backfill and preemption; note in
        `why` the reason of each job it looked at and left waiting (`reasons()` has them all)."""
        self.account(now)
        placements: list[Placement] = []
        reserved: dict[tuple[str, str], _Reservation] = {}  # pool -> the first blocked job's claim on it
        dead: set[tuple[str, int]] = set()
        self.why = {}
        blocked = False
        backfill_budget = self.weights.backfill_depth
        for job in self._dynamic_order(now, dead):
            if limit is not None and len(placements) >= limit:
                break
            if blocked:
                backfill_budget -= 1
                if backfill_budget < 0:
                    break
            fit = self._best_fit(job)
            if fit is not None and fit in reserved:
                claim = reserved[fit]
                finishes_in_time = now + job.duration_s <= claim.start_at
                uses_spare = claim.spare >= job.gpu_count
                if not (finishes_in_time or uses_spare):
                    other = self._best_fit_outside(job, reserved)
                    if other is None:
                        self.why[job.id] = claim.reason()
                        continue  # would delay a job ahead of it
                    fit = other
                elif uses_spare and not finishes_in_time:
                    claim.spare -= job.gpu_count
            if fit is not None:
                fac, model = fit
                gpus = self._start(job, fac, model, now)
                placements.append(Placement(job, fac, gpus, backfilled=bool(reserved)))
                continue
            room = self._preemption(job, reserved)
            if room is not None:
                fac, model, victims = room
                for v in victims:
                    self.preempt(v.id)
                if len(self.pools[(fac, model)].free) >= job.gpu_count:
                    gpus = self._start(job, fac, model, now)
                    placements.append(Placement(job, fac, gpus, preempted=tuple(v.id for v in victims)))
                    continue
            blocked = True
            shape = (job.gpu_model, job.gpu_count)
            self.why[job.id] = self._blocked_reason(job)
            if not self._claims(job, reserved):
                shadow = self._shadow(job, now)
                if shadow is not None and shadow.pool is not None:
                    reserved[shadow.pool] = shadow
            # Nothing frees GPUs or power later in the round (bar preemption, which a job of the
            # same shape behind this one cannot do better): its shape is passed over from now on.
            dead.add(shape)
        self._dead = dead
        return placements

    def reasons(self) -> dict[str, str]:
        """Why each queued job waits after the last round (computed when asked: the round itself
        notes only the jobs it looked at)."""
        by_shape: dict[tuple[str, int], str] = {}
        turn = (f"fair share: work ahead of it in the queue (priority, age and each tenant's share) is looked "
                f"at first; each round looks {self.weights.backfill_depth:,} past the first that must wait")
        out: dict[str, str] = {}
        for job_id, job in self.queue.items():
            reason = self.why.get(job_id)
            if reason is None:
                shape = (job.gpu_model, job.gpu_count)
                if shape in self._dead:  # passed over with its shape: it lacks what the first of them lacked
                    reason = by_shape.get(shape)
                    if reason is None:
                        reason = by_shape[shape] = self._blocked_reason(job)
                else:
                    reason = turn
            out[job_id] = reason
        return out

    def _claims(self, job: Job, reserved: dict[tuple[str, str], _Reservation]) -> bool:
        """Whether a pool the job could use is already reserved by a job ahead of it (one claim per
        pool: the first blocked job's, as EASY backfill keeps one reservation)."""
        return any((fac, m) in reserved for (fac, m) in self.pools if m in self._models(job))

    def _best_fit_outside(self, job: Job, reserved: dict[tuple[str, str], _Reservation]) -> tuple[str, str] | None:
        """The tightest fit among pools nobody ahead has reserved."""
        best: tuple[int, str, str] | None = None
        for model in self._models(job):
            for (fac, m), pool in self.pools.items():
                if m != model or (fac, m) in reserved or len(pool.free) < job.gpu_count:
                    continue
                if not self._power_fits(fac, self._cheapest(pool.free, job.gpu_count)):
                    continue
                key = (len(pool.free), fac, m)
                if best is None or key < best:
                    best = key
        return None if best is None else (best[1], best[2])

    def _blocked_reason(self, job: Job) -> str:
        """Why a job finds no place now: GPUs or the facility's power."""
        what = f"{job.gpu_count}x {job.gpu_model}"
        roomy = [(fac, m, pool) for (fac, m), pool in self.pools.items()
                 if m in self._models(job) and len(pool.free) >= job.gpu_count]
        if not roomy:
            most = max((len(pool.free) for (_f, m), pool in self.pools.items() if m in self._models(job)),
                       default=0)
            return (f"GPUs: no facility has {what} free now (at most {most} free in one facility; the rest "
                    f"serve workloads, are rented on spot, or are offline)")
        parts = []
        for fac, m, pool in sorted(roomy, key=lambda r: (r[0], r[1])):
            need = sum(self.gpus[g].extra_w for g in self._cheapest(pool.free, job.gpu_count))
            parts.append(f"{fac} has {len(pool.free)} {m} free but {self.headroom_w.get(fac, 0.0) / 1000:,.2f} kW "
                         f"of its cap left for the {need / 1000:,.2f} kW they add")
        return "power cap: " + "; ".join(parts)
