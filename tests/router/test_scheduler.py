"""The scheduler's rules: gang placement in one facility, best fit, aging, fair share, backfill,
preemption, and never two workloads on one GPU."""

from hypothesis import given, settings
from hypothesis import strategies as st

from hcp.router.scheduler import Gpu, Job, Scheduler, Weights, classify


def fleet(layout: dict[tuple[str, str], int]) -> list[Gpu]:
    return [Gpu(f"{fac}-{model}-{i}", fac, model) for (fac, model), n in layout.items() for i in range(n)]


def job(jid: str, *, tenant: str = "acme", priority: int = 5, model: str = "H100", count: int = 1,
        duration: float = 3600, submitted: float = 0.0, kind: str = "ai_training",
        preemptible: bool | None = None) -> Job:
    return Job(jid, tenant, kind, priority, model, count, duration, submitted,
               classify(kind).preemptible_by_default if preemptible is None else preemptible)


def test_classification_gives_slo_and_preemptibility() -> None:
    assert classify("ai_inference").preemptible_by_default is False
    assert classify("batch").preemptible_by_default is True
    assert classify("ai_inference").start_slo_s < classify("ai_training").start_slo_s


def test_gang_placement_is_all_or_nothing_in_one_facility_best_fit() -> None:
    s = Scheduler(fleet({("tx", "H100"): 3, ("nd", "H100"): 5, ("nd", "A100"): 8}))
    s.submit(job("big", count=4))
    s.submit(job("small", count=3))
    s.submit(job("huge", count=6))  # 8 H100s in all, but never 6 in one facility
    placed = {p.job.id: p for p in s.schedule(now=0)}
    assert placed["big"].facility_id == "nd" and len(placed["big"].gpus) == 4
    assert placed["small"].facility_id == "tx"  # the tighter fit
    assert "huge" not in placed and "huge" in s.queue


def test_any_model_runs_on_one_model_only() -> None:
    s = Scheduler(fleet({("tx", "H100"): 2, ("tx", "A100"): 4}))
    s.submit(job("w", model="any", count=3))
    (p,) = s.schedule(now=0)
    assert {s.gpus[g].model for g in p.gpus} == {"A100"}


def test_aging_lets_old_low_priority_work_overtake() -> None:
    s = Scheduler(fleet({("tx", "H100"): 1}), weights=Weights(aging_per_hour=1.0, aging_cap=5.0))
    s.submit(job("old", priority=3, submitted=0))
    s.submit(job("fresh", priority=5, submitted=3600))
    assert s.order(now=3600)[0].id == "fresh"  # 3 + 1 h of age < 5
    s.cancel("fresh")
    s.submit(job("later", priority=5, submitted=4 * 3600))
    assert s.order(now=4 * 3600)[0].id == "old"  # 3 + 4 h of age > 5: nobody starves


def test_backfill_small_short_work_without_delaying_the_head() -> None:
    s = Scheduler(fleet({("tx", "H100"): 4}))
    s.submit(job("running", count=3, duration=3600, submitted=0, preemptible=False))
    s.schedule(now=0)
    s.submit(job("head", count=4, priority=9, submitted=10))
    s.submit(job("short", count=1, duration=600, submitted=20))
    s.submit(job("long", count=1, duration=10 * 3600, submitted=30))
    placed = {p.job.id: p for p in s.schedule(now=60)}
    assert "head" not in placed  # needs all 4 GPUs, 3 busy for an hour and not preemptible
    assert placed["short"].backfilled  # ends before the head can start
    assert "long" not in placed  # would hold a GPU past the head's start


def test_priority_10_preempts_preemptible_priority_2_which_requeues_with_its_age() -> None:
    s = Scheduler(fleet({("tx", "H100"): 2}))
    s.submit(job("low", priority=2, count=2, submitted=5, kind="batch"))
    s.schedule(now=10)
    s.submit(job("urgent", priority=10, count=2, submitted=100, kind="ai_inference"))
    (p,) = s.schedule(now=110)
    assert p.job.id == "urgent" and p.preempted == ("low",)
    assert s.queue["low"].submitted_at == 5 and s.queue["low"].gpus == ()
    s.finish("urgent")
    (again,) = s.schedule(now=200)
    assert again.job.id == "low"


def test_non_preemptible_and_near_priority_work_is_not_preempted() -> None:
    serving = Scheduler(fleet({("tx", "H100"): 1}))
    serving.submit(job("serving", priority=2, kind="ai_inference"))  # inference: not preemptible
    serving.schedule(now=0)
    serving.submit(job("urgent", priority=10))
    assert serving.schedule(now=1) == []
    close = Scheduler(fleet({("tx", "H100"): 1}))
    close.submit(job("batch5", priority=5, kind="batch"))
    close.schedule(now=0)
    close.submit(job("six", priority=6))  # only one level above: below the preemption margin
    assert close.schedule(now=1) == []


def test_fair_share_between_two_flooding_tenants() -> None:
    s = Scheduler(fleet({("tx", "H100"): 8}))
    gpu_seconds = {"a": 0.0, "b": 0.0}
    now, n = 0.0, 0
    for i in range(400):  # tenant a floods first and harder
        s.submit(job(f"a{i}", tenant="a", count=2, duration=600, submitted=0))
    for i in range(200):
        s.submit(job(f"b{i}", tenant="b", count=2, duration=600, submitted=1))
    while now < 48 * 3600:
        n += len(s.schedule(now))
        for jid, j in list(s.running.items()):
            if j.started_at is not None and j.started_at + j.duration_s <= now + 600:
                gpu_seconds[j.tenant_id] += len(j.gpus) * j.duration_s
                s.finish(jid)
                s.submit(job(f"{jid}-again", tenant=j.tenant_id, count=2, duration=600, submitted=now))
        now += 600
    share_a = gpu_seconds["a"] / sum(gpu_seconds.values())
    assert abs(share_a - 0.5) < 0.05


def test_an_odd_gpu_goes_to_whoever_has_had_less_so_time_evens_out() -> None:
    """Seven GPUs between two tenants: current shares alone would leave the older tenant on 4
    for good; the GPU time used lately breaks the tie the other way every other time, and makes
    up for the head start of the tenant that came first (so time is counted from the start)."""
    s = Scheduler(fleet({("tx", "H100"): 4, ("nd", "H100"): 3}))
    for i in range(100):
        s.submit(job(f"a{i}", tenant="a", count=1, duration=600, submitted=0))
    s.schedule(0.0)
    for i in range(100):
        s.submit(job(f"b{i}", tenant="b", count=1, duration=600, submitted=300))
    used = {"a": 7 * 300.0, "b": 0.0}  # a alone on all seven until b came
    now = 300.0
    while now < 12_000:
        for jid, j in list(s.running.items()):
            if j.started_at is not None and j.started_at + j.duration_s <= now:
                s.finish(jid)
        s.schedule(now)
        for j in s.running.values():
            used[j.tenant_id] += 10 * len(j.gpus)
        now += 10
    assert min(used.values()) / max(used.values()) >= 0.95, used


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(st.tuples(st.integers(1, 10), st.sampled_from(["H100", "A100", "any"]),
                              st.integers(1, 8), st.booleans(), st.integers(0, 3)), min_size=1, max_size=80))
def test_no_gpu_ever_runs_two_workloads(ops) -> None:
    s = Scheduler(fleet({("tx", "H100"): 6, ("nd", "H100"): 4, ("nd", "A100"): 8}))
    for i, (prio, model, count, preemptible, finish_some) in enumerate(ops):
        s.submit(job(f"j{i}", priority=prio, model=model, count=count, submitted=i,
                     kind="batch", preemptible=preemptible))
        s.schedule(now=i)
        for jid in list(s.running)[:finish_some]:
            s.finish(jid)
        holders: dict[str, str] = {}
        for j in s.running.values():
            assert len(j.gpus) == j.gpu_count
            assert len({s.gpus[g].facility_id for g in j.gpus}) == 1
            assert len({s.gpus[g].model for g in j.gpus}) == 1
            for g in j.gpus:
                assert g not in holders, f"{g} held by {holders[g]} and {j.id}"
                holders[g] = j.id
        free = {g for pool in s.pools.values() for g in pool.free}
        assert free.isdisjoint(holders) and len(free) + len(holders) == len(s.gpus)


def test_backfill_reserves_only_the_blocked_jobs_pool_so_priority_is_not_inverted() -> None:
    # The case: a 4xH100 job waits for its GPUs; an A100 job of priority 5 running for
    # days must not wait behind it (it needs none of its GPUs), nor let a priority-2 job go first.
    s = Scheduler(fleet({("tx", "H100"): 4, ("nd", "A100"): 3}))
    s.submit(job("busy", count=3, duration=3600, submitted=0, preemptible=False))
    s.schedule(now=0)
    s.submit(job("head", count=4, priority=6, submitted=10))
    s.submit(job("j", model="A100", priority=5, duration=7 * 86_400, submitted=20))
    s.submit(job("k", model="A100", priority=2, duration=600, submitted=30))
    s.submit(job("pair", model="A100", count=2, priority=4, duration=5 * 3600, submitted=40))
    placed = {p.job.id for p in s.schedule(now=60)}
    assert "head" not in placed and s.reasons()["head"].startswith("GPUs:")
    assert {"j", "pair"} <= placed  # the A100s are nobody's reservation
    assert "k" not in placed and s.reasons()["k"].startswith("GPUs:")  # the last A100 went to priority 5 first


def test_a_job_in_the_reserved_pool_waits_and_says_for_whom() -> None:
    s = Scheduler(fleet({("tx", "H100"): 4}))
    s.submit(job("busy", count=3, duration=3600, submitted=0, preemptible=False))
    s.schedule(now=0)
    s.submit(job("head", count=4, priority=9, submitted=10))
    s.submit(job("long", count=1, duration=10 * 3600, submitted=30))
    assert s.schedule(now=60) == []
    why = s.reasons()["long"]
    assert why.startswith("reserved:") and "held for a workload ahead in the queue (priority 9, 4 GPUs)" in why


def test_power_headroom_limits_placement_and_cheap_gpus_go_first() -> None:
    gpus = fleet({("tx", "H100"): 3})
    s = Scheduler(gpus)
    # The plan already counts the first at full power (it planned work on it).
    s.set_power({"tx": 700.0}, {g.id: 0.0 if g is gpus[0] else 620.0 for g in gpus})
    s.submit(job("a", count=2, submitted=0))
    s.submit(job("b", count=1, submitted=1))
    (p,) = s.schedule(now=10)
    assert p.job.id == "a" and gpus[0].id in p.gpus  # 0 W + 620 W fit in 700 W
    assert s.headroom_w["tx"] == 80.0
    assert s.reasons()["b"].startswith("power cap:") and "tx has 1 H100 free" in s.reasons()["b"]


@settings(max_examples=80, deadline=None)
@given(ops=st.lists(st.tuples(st.integers(1, 10), st.sampled_from(["H100", "A100", "any"]),
                              st.integers(1, 6), st.integers(60, 20_000), st.integers(0, 2)), min_size=1, max_size=60),
       headroom=st.none() | st.floats(0, 6000))
def test_no_queued_job_waits_beside_gpus_that_fit_it_without_a_claim_on_them(ops, headroom) -> None:
    """After every round, a queued job that fits some pool's free GPUs and power now waits only
    because a job ahead of it reserved exactly that pool; every queued job has a reason."""
    gpus = fleet({("tx", "H100"): 6, ("nd", "H100"): 4, ("nd", "A100"): 5})
    s = Scheduler(gpus)
    extra = {g.id: (620.0 if g.model == "H100" else 345.0) * (i % 2) for i, g in enumerate(gpus)}
    for i, (prio, model, count, duration, finish_some) in enumerate(ops):
        s.set_power({} if headroom is None else {"tx": headroom, "nd": headroom}, extra)
        s.submit(job(f"j{i}", priority=prio, model=model, count=count, duration=duration, submitted=i,
                     kind="batch", preemptible=False))
        s.schedule(now=i)
        why = s.reasons()
        assert set(why) == set(s.queue)
        for j in s.queue.values():
            fits = [pool for (fac, m), pool in s.pools.items()
                    if m in s._models(j) and len(pool.free) >= j.gpu_count
                    and s._power_fits(fac, s._cheapest(pool.free, j.gpu_count))]
            if fits:
                assert why[j.id].startswith("reserved:"), (j, why[j.id])
        for jid in list(s.running)[:finish_some]:
            s.finish(jid)
