"""Time of one simulation tick of the digital twin at 1k, 10k and 100k units (goal: 100k < 100 ms).

A tick advances every GPU and every ASIC of the fleet by one step of simulated time (half GPUs,
half ASICs), vectorised over numpy arrays. Also prints the telemetry snapshot cost, which the
simulator pays only every telemetry interval, not every tick.

    .venv/bin/python bench/sim_tick.py [--ticks 50]
"""

from __future__ import annotations

import argparse
import statistics
import time

from hcp.sim.asic.device import AsicFleet
from hcp.sim.gpu import GpuFleet

GOAL_MS_100K = 100.0


def bench(units: int, ticks: int) -> tuple[float, float, float, float]:
    gpus = GpuFleet(["H100", "A100"] * (units // 4), seed=1)
    asics = AsicFleet(units - len(gpus), seed=2)
    for _ in range(3):  # warm caches and allocator
        gpus.tick(1.0)
        asics.tick(1.0)
    samples = []
    for _ in range(ticks):
        start = time.perf_counter()
        gpus.tick(1.0)
        asics.tick(1.0)
        samples.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    gpus.telemetry_arrays()
    snapshot_ms = (time.perf_counter() - start) * 1000
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return statistics.median(samples), p95, max(samples), snapshot_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=50)
    args = parser.parse_args()
    print(f"{'units':>8} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'GPU telemetry snapshot ms':>26}")
    for units in (1_000, 10_000, 100_000):
        med, p95, worst, snap = bench(units, args.ticks)
        print(f"{units:>8} {med:>10.2f} {p95:>8.2f} {worst:>8.2f} {snap:>26.2f}")
        if units == 100_000:
            verdict = "meets" if p95 < GOAL_MS_100K else "MISSES"
            print(f"100k-unit tick p95 {p95:.1f} ms: {verdict} the {GOAL_MS_100K:.0f} ms goal")


if __name__ == "__main__":
    main()
