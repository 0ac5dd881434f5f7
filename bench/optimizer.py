"""Fleet optimizer: time per plan and objective at 1k / 10k / 100k units across 3 facilities with
1,000 queued workloads, next to HiGHS solving the full unreduced MILP of the same instance.

Goals: 100k units in under 1 s; at least 99.9% of HiGHS's objective. HiGHS gets `--reference-limit`
seconds (60 by default) and is skipped where its model would not fit in memory; an extra row with
50 workloads shows an instance that HiGHS does solve to optimality.

    .venv/bin/python bench/optimizer.py [--reference-limit 60]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hcp.economics.optimizer import build_problem, objective_usd_per_hour, solve, violations
from hcp.economics.reference import random_request, reference_binaries, reference_optimum
from hcp.economics.schemas import OptimizeRequest

GOAL_S_100K = 1.0
MAX_REFERENCE_BINARIES = 3_000_000
CASES = ((1_000, 50), (1_000, 1_000), (10_000, 1_000), (100_000, 1_000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-limit", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=5, help="plans per case; the median is shown")
    args = parser.parse_args()
    print(f"{'units':>7} {'workloads':>9} {'parse s':>8} {'plan s':>8} {'objective $/h':>14} "
          f"{'HiGHS binaries':>14} {'HiGHS s':>8} {'HiGHS $/h':>12} {'ours/HiGHS':>11}")
    for units, workloads in CASES:
        rng = np.random.default_rng(units + workloads)
        body = random_request(rng, asics=units * 2 // 3, gpus=units - units * 2 // 3,
                              workloads=workloads, cap_fraction=(0.5, 0.9))
        t0 = time.perf_counter()
        problem = build_problem(OptimizeRequest(**body))
        parse_s = time.perf_counter() - t0
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            solution = solve(problem)
            times.append(time.perf_counter() - t0)
        plan_s = float(np.median(times))
        assert violations(problem, solution) == []
        ours = objective_usd_per_hour(problem, solution)
        binaries = reference_binaries(problem)
        if binaries > MAX_REFERENCE_BINARIES:
            ref = f"{'(too large)':>8} {'-':>12} {'-':>11}"
        else:
            best, ref_s, proven = reference_optimum(problem, time_limit_s=args.reference_limit)
            if best is None:
                ref = f"{ref_s:>8.1f} {'none found':>12} {'-':>11}"
            else:
                ref = f"{ref_s:>7.1f}{' ' if proven else '*'} {best:>12.2f} {ours / best:>11.4f}"
        print(f"{units:>7} {workloads:>9} {parse_s:>8.3f} {plan_s:>8.3f} {ours:>14.2f} {binaries:>14,} {ref}")
        if units == 100_000:
            verdict = "meets" if plan_s < GOAL_S_100K else "MISSES"
            print(f"100k units: plan in {plan_s:.3f} s ({verdict} the {GOAL_S_100K:.0f} s goal)")
    print("* HiGHS hit its time limit: its figure is the best plan it found, not a proven optimum")


if __name__ == "__main__":
    main()
