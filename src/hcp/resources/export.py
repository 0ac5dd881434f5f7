"""The fleet as CSV: every unit a filtered list would count, one row each, streamed in batches so
a large fleet never sits in memory whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Select

from hcp.core.csv_export import cell, lines
from hcp.core.db import Database
from hcp.resources import service
from hcp.resources.models import Unit

BATCH = 500
COLUMNS = (
    "id", "kind", "model", "facility_id", "rack_id", "status", "health", "mode", "workload_id", "tenant_id",
    "power_w", "hashrate_ths", "gpu_util_pct", "temp_c", "nominal_hashrate_ths", "nominal_power_w",
    "address", "health_reasons", "reading_at", "last_seen_at",
)


def row_of(view: dict[str, Any]) -> list[str]:
    """One unit (as the API shows it) as a CSV row of COLUMNS."""
    reading = view.get("reading") or {}
    allocation = view.get("allocation") or {}
    nominal = view.get("nominal") or {}
    values = {
        **view, "tenant_id": allocation.get("tenant_id"),
        "power_w": reading.get("power_w"), "hashrate_ths": reading.get("hashrate_ths"),
        "gpu_util_pct": reading.get("util_pct"), "temp_c": reading.get("temp_c"),
        "nominal_hashrate_ths": nominal.get("hashrate_ths"), "nominal_power_w": nominal.get("power_w"),
        "health_reasons": "; ".join(view.get("health_reasons") or []),
    }
    return [cell(values.get(c)) for c in COLUMNS]


async def stream(*, db: Database, query: Select[Unit]) -> AsyncIterator[str]:
    """The header, then the units of `query` (in its order) in batches of BATCH rows, each batch
    read in a short session of its own."""
    yield lines([list(COLUMNS)])
    offset = 0
    while True:
        async with db.read() as session:
            units = list((await session.execute(query.limit(BATCH).offset(offset))).scalars().all())
            held = await service.active_allocations(session=session, unit_ids=[u.id for u in units])
            views = [service.unit_view(u, held.get(u.id)) for u in units]
        if views:
            yield lines(row_of(v) for v in views)
        if len(units) < BATCH:
            return
        offset += BATCH
