"""Scheduler throughput in process: 10,000 GPUs, 100,000 queued workloads (goal >= 10,000
placements/s; kube-scheduler's CI floor is 810 pods/s at 5,000 nodes, Slurm quotes 500 jobs/s).

The run places what fits, completes the oldest running workloads, places again, until 100,000
workloads have been placed; every cycle re-orders the whole queue (priority, aging, fair share).

    .venv/bin/python bench/scheduler.py [--gpus 10000] [--queued 100000]
"""

from __future__ import annotations

import argparse
import random
import time

from hcp.router.scheduler import Gpu, Job, Scheduler, classify

GOAL_PER_S = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, default=10_000)
    parser.add_argument("--queued", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(7)
    facilities, models = ("tx-north", "tx-south", "nd-ellendale"), ("H100", "A100")
    gpus = [Gpu(f"g{i}", facilities[i % 3], models[(i // 3) % 2]) for i in range(args.gpus)]
    s = Scheduler(gpus)
    kinds = ("ai_inference", "ai_training", "batch")
    for i in range(args.queued):
        kind = kinds[rng.randrange(3)]
        s.submit(Job(f"w{i}", f"tenant-{rng.randrange(10)}", kind, rng.randint(1, 10),
                     rng.choice(("H100", "A100", "any")), rng.choice((1, 1, 2, 4, 8)), rng.uniform(60, 7200),
                     submitted_at=rng.uniform(0, 3600), preemptible=classify(kind).preemptible_by_default))
    placed, cycles, now = 0, 0, 3600.0
    start = time.perf_counter()
    while placed < args.queued and s.queue:
        batch = s.schedule(now)
        placed += len(batch)
        cycles += 1
        # Complete the half of the running work that started first, then schedule again.
        running = sorted(s.running.values(), key=lambda j: j.started_at or 0.0)
        for j in running[: max(1, len(running) // 2)]:
            s.finish(j.id)
        now += 60.0
    elapsed = time.perf_counter() - start
    rate = placed / elapsed
    print(f"{args.gpus:,} GPUs, {args.queued:,} queued: {placed:,} placements in {cycles} cycles, "
          f"{elapsed:.2f} s -> {rate:,.0f} placements/s "
          f"({'meets' if rate >= GOAL_PER_S else 'MISSES'} the {GOAL_PER_S:,}/s goal; "
          f"{rate / 810:.0f}x kube-scheduler's 810 pods/s floor)")


if __name__ == "__main__":
    main()
