"""Billing: metering throughput (workload.state events applied per second, each delivered twice,
one transaction per delivery as the consumer does), invoicing one month of 1,000 workloads, and
the cost of the demo's billing history in the seed; on SQLite and on PostgreSQL.

    .venv/bin/python bench/billing.py [--workloads 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from common import scratch_postgres

from hcp.billing import demo as billing_demo
from hcp.billing import invoices, metering
from hcp.core.bus import Event
from hcp.core.db import Database, new_id
from hcp.core.settings import BillingSettings
from hcp.migrations import migrate

T0 = datetime(2026, 10, 3, 8, tzinfo=UTC)
SETTINGS = BillingSettings()


def events_of(workload: str, i: int) -> list[Event]:
    begin = T0 + timedelta(minutes=i)
    end = begin + timedelta(minutes=30 + i % 90)
    base: dict[str, Any] = {
        "id": workload, "name": f"w{i}", "tenant_id": f"t{i % 3}", "gpu_model": "H100" if i % 2 else "A100",
        "gpu_count": 1 + i % 4, "priority": 1 + i % 10, "units": [], "preemptions": 0,
        "queued_at": (begin - timedelta(seconds=5)).isoformat()}
    return [Event("workload.state", {**base, "status": "running", "previous_status": "switching"}, new_id(),
                  begin.isoformat()),
            Event("workload.state", {**base, "status": "completed", "previous_status": "running"}, new_id(),
                  end.isoformat())]


async def run(url: str, label: str, workloads: int) -> None:
    db = Database(url)
    await migrate(db)
    events = [e for i in range(workloads) for e in events_of(new_id(), i)]
    start = time.perf_counter()
    for event in events + events:
        async with db.transaction() as session:
            await metering.apply_event(session=session, event=event, settings=SETTINGS)
    took = time.perf_counter() - start
    print(f"{label}: {2 * len(events)} deliveries ({len(events)} events) in {took:.2f} s = "
          f"{2 * len(events) / took:,.0f} deliveries/s")
    start = time.perf_counter()
    async with db.transaction() as session:
        for t in range(3):
            await invoices.close_month(session=session, settings=SETTINGS, tenant_id=f"t{t}", period="2026-10",
                                       now=datetime(2026, 11, 1, 1, tzinfo=UTC))
    print(f"{label}: 3 monthly invoices over {workloads} workloads in {time.perf_counter() - start:.3f} s")
    start = time.perf_counter()
    async with db.transaction() as session:
        await billing_demo.seed_history(session=session, customers=[
            ("acme", "Acme Corp", Decimal(12500)), ("globex", "Globex Research", Decimal(8000)),
            ("initech", "Initech AI", Decimal(6000))],
            facilities=["tx-north", "tx-south", "nd-ellendale"])
    print(f"{label}: demo billing history (3 customers x 3 months, mining by day) in "
          f"{time.perf_counter() - start:.3f} s")
    await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workloads", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await run(f"sqlite+aiosqlite:///{tmp}/bench.db", "sqlite", args.workloads)
    async with scratch_postgres() as pg:
        if pg is None:
            print("postgresql: not reachable, skipped")
        else:
            await run(pg, "postgresql", args.workloads)


if __name__ == "__main__":
    asyncio.run(main())
