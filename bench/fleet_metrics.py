"""Cost of one fleet aggregate (the `fleet.metrics` event and the /metrics gauges) on a large fleet.

Fills a migrated database with N units (ASICs and GPUs in 4 facilities, every unit with a
reading as the health monitor stores it), then times what the platform does every
`metrics.interval_s`: the grouped query of the units table (summed by the database), the totals
over its groups, and a scrape of the gauges from the snapshot (what Prometheus pays).

    .venv/bin/python bench/fleet_metrics.py [--units 100000] [--runs 5] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path


async def run(units: int, runs: int, database_url: str | None) -> None:
    from prometheus_client import generate_latest

    from hcp.core.db import Database
    from hcp.core.metrics import REGISTRY
    from hcp.migrations import migrate
    from hcp.orchestrator import fleet_metrics as publisher
    from hcp.resources import fleet_metrics
    from hcp.resources.models import Facility, Unit

    tmp = tempfile.mkdtemp()
    db = Database(database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
    await migrate(db)
    rng = random.Random(7)
    facilities = [f"site-{i}" for i in range(4)]
    rows = []
    for i in range(units):
        asic = i % 5 != 0
        mode = rng.choice(("mining", "mining", "mining", "curtailed")) if asic else rng.choice(("workload", "idle"))
        reading = ({"hashrate_ths": rng.uniform(150, 210), "expected_hashrate_ths": 200.0, "temp_c": 70.0,
                    "fan_min_rpm": 4000.0} if asic else
                   {"power_w": rng.uniform(80, 700), "util_pct": rng.uniform(0, 100), "temp_c": 60.0})
        rows.append({
            "id": f"u{i}", "identity": f"u{i}", "kind": "asic" if asic else "gpu",
            "model": "Antminer S21" if asic else "H100", "driver": "cgminer" if asic else "sim",
            "facility_id": facilities[i % 4], "status": "online" if rng.random() > 0.02 else "offline",
            "mode": mode, "power_w": 3500.0 if asic else 700.0, "hashrate_ths": 200.0 if asic else None,
            "reading": reading, "workload_id": f"w{i}" if mode == "workload" else None,
        })
    async with db.transaction() as session:
        session.add_all([Facility(id=f, name=f, location="TX", power_cap_kw=1e6, market_node="HB_WEST")
                         for f in facilities])
        await session.flush()
        await session.execute(Unit.__table__.insert(), rows)  # type: ignore[attr-defined]

    query_s, aggregate_s = [], []
    for _ in range(runs):
        started = time.perf_counter()
        async with db.session() as session:
            groups = await fleet_metrics.unit_groups(session=session)
        query_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        fleet = fleet_metrics.aggregate(groups)
        aggregate_s.append(time.perf_counter() - started)

    class _Source:  # a snapshot as the running platform holds it, for the scrape figure
        snapshot = publisher.FleetSnapshot(ts=None, fleet=fleet, profit_usd_per_hour=None,  # type: ignore[arg-type]
                                           queue_depth=None)

    publisher._SOURCES.append(_Source())  # type: ignore[arg-type]
    scrape_s = []
    for _ in range(runs):
        started = time.perf_counter()
        generate_latest(REGISTRY)
        scrape_s.append(time.perf_counter() - started)
    await db.dispose()
    ms = {name: statistics.median(values) * 1000 for name, values in
          (("query", query_s), ("aggregate", aggregate_s), ("scrape", scrape_s))}
    print(f"{units:,} units on {db.dialect}: query {ms['query']:.0f} ms ({len(groups)} groups), "
          f"aggregate {ms['aggregate']:.2f} ms, scrape {ms['scrape']:.2f} ms (medians of {runs}); "
          f"hashrate {fleet.hashrate_ths:,.0f} TH/s, GPUs busy {fleet.gpus_busy:,}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", default=None, help="a database URL (default: a new SQLite file)")
    args = parser.parse_args()
    asyncio.run(run(args.units, args.runs, args.database))


if __name__ == "__main__":
    main()
