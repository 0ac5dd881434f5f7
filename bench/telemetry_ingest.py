"""Telemetry ingest rate into the store (goal: >= 100,000 samples/s on SQLite), and PostgreSQL's.

Writes what the health monitor writes: one batch per poll round of a fleet (default 1,000 units x
10 metrics = 10,000 samples), through `hcp.resources.telemetry.write_samples` into the migrated
schema, one transaction per batch, with the de-duplicating insert the platform uses. Then times
a rollup pass over what was written. PostgreSQL is measured when it is reachable
(HCP_BENCH_POSTGRES_URL, default the local server; a scratch database is created and dropped).

    .venv/bin/python bench/telemetry_ingest.py [--units 1000] [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from common import scratch_postgres

from hcp.core.db import Database
from hcp.core.logging import configure_logging
from hcp.migrations import migrate
from hcp.resources import telemetry

GOAL_SQLITE = 100_000
METRICS = ("hashrate_ths", "expected_hashrate_ths", "power_w", "power_limit_w", "temp_c", "board_temp_c",
           "fan_min_rpm", "uptime_s", "util_pct", "mem_used_mib")
T0 = 1_767_225_600_000


async def measure(url: str, units: int, rounds: int) -> tuple[float, float, float, int]:
    db = Database(url)
    await migrate(db)
    ids = [f"asic-{i:012x}" for i in range(units)]
    batches = [[(u, m, T0 + r * 10_000, 100.0 + r + k) for u in ids for k, m in enumerate(METRICS)]
               for r in range(rounds)]
    started, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        async with db.transaction() as session:
            await telemetry.write_samples(session=session, samples=batch)
    ingest_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    async with db.transaction() as session:
        await telemetry.roll_up(session=session, since_ms=T0, until_ms=T0 + rounds * 10_000 + 60_000)
    rollup_s = time.perf_counter() - started
    await db.dispose()
    total = units * len(METRICS) * rounds
    return total / ingest_s, total / cpu_s, rollup_s, total


async def run(units: int, rounds: int) -> None:
    print(f"{units} units x {len(METRICS)} metrics per batch, {rounds} batches "
          f"({units * len(METRICS) * rounds:,} samples)")
    with tempfile.TemporaryDirectory() as tmp:
        rate, per_cpu, rollup_s, total = await measure(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", units,
                                                       rounds)
    # SQLite works inside this process: samples per CPU second is its cost whatever else runs.
    print(f"  SQLite      {rate:>10,.0f} samples/s ({per_cpu:,.0f} per CPU second)   "
          f"rollup of {total:,} samples: {rollup_s:.2f} s")
    verdict = "meets" if rate >= GOAL_SQLITE else "MISSES"
    print(f"  SQLite {verdict} the goal of >= {GOAL_SQLITE:,} samples/s")
    async with scratch_postgres() as url:
        if url is None:
            print("  PostgreSQL  not reachable: not measured")
            return
        rate, _per_cpu, rollup_s, total = await measure(url, units, rounds)
        print(f"  PostgreSQL  {rate:>10,.0f} samples/s   rollup of {total:,} samples: {rollup_s:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    configure_logging(fmt="console", level="warning")
    asyncio.run(run(args.units, args.rounds))


if __name__ == "__main__":
    main()
