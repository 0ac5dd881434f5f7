"""Reads of the workloads for the operator console: the list's filters and orders, its CSV
export, the queues per class with their depth and waits, what runs where, and switch latency
percentiles. Every read is tenant-scoped: a customer sees their own tenant's only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np
from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.core.csv_export import cell, lines
from hcp.core.db import Database
from hcp.core.errors import InvalidInput
from hcp.core.security import Principal, tenant_filter
from hcp.kernel.enums import WAITING_STATUSES, WorkloadStatus, WorkloadType
from hcp.orchestrator.lifecycle import PLACED_STATUSES, workload_view
from hcp.orchestrator.models import Switch, Workload
from hcp.router.scheduler import QUEUE_CLASSES

# The columns a workload list sorts by ("-" in front: descending); ties break by id.
WORKLOAD_SORTS: Final[dict[str, Any]] = {
    "submitted_at": Workload.submitted_at, "started_at": Workload.started_at, "finished_at": Workload.finished_at,
    "priority": Workload.priority, "gpu_count": Workload.gpu_count, "gpu_model": Workload.gpu_model,
    "status": Workload.status, "type": Workload.type, "name": Workload.name, "tenant_id": Workload.tenant_id,
}
DEFAULT_SORT: Final = "-submitted_at"
# The switch time the platform aims under (DESIGN: 350-480 ms in the simulator, target < 500 ms).
SWITCH_TARGET_MS: Final = 500.0


@dataclass(frozen=True)
class WorkloadFilters:
    status: WorkloadStatus | None = None
    tenant_id: str | None = None
    type: WorkloadType | None = None
    gpu_model: str | None = None
    q: str | None = None
    sort: str | None = None


def check_sort(sort: str | None) -> None:
    if sort is not None and sort.lstrip("-") not in WORKLOAD_SORTS:
        raise InvalidInput("sort", f"one of {', '.join(sorted(WORKLOAD_SORTS))}, with '-' in front for descending")


def workloads_query(*, principal: Principal, filters: WorkloadFilters) -> Select[Workload]:
    """The workloads `principal` may see that pass every filter given, in the filters' order
    (default: newest submitted first). The list, its total and the CSV export all use it."""
    where: list[Any] = [tenant_filter(principal, Workload.tenant_id)]
    if filters.status is not None:
        where.append(Workload.status == filters.status)
    if filters.tenant_id is not None:
        where.append(Workload.tenant_id == filters.tenant_id)
    if filters.type is not None:
        where.append(Workload.type == filters.type)
    if filters.gpu_model is not None:
        where.append(Workload.gpu_model == filters.gpu_model)
    if filters.q:
        # LIKE's wildcards in the text are taken literally.
        text = filters.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{text}%"
        where.append(or_(func.lower(Workload.id).like(pattern, escape="\\"),
                         func.lower(Workload.name).like(pattern, escape="\\")))
    sort = filters.sort or DEFAULT_SORT
    check_sort(sort)
    column = WORKLOAD_SORTS[sort.lstrip("-")]
    # Unset times (not started yet) last either way, as a person reading the column expects.
    order = [column.is_(None), column.desc() if sort.startswith("-") else column.asc(), Workload.id]
    return select(Workload).where(*where).order_by(*order)


# --- CSV export ----------------------------------------------------------------------------------
EXPORT_BATCH: Final = 500
EXPORT_COLUMNS: Final = (
    "id", "name", "tenant_id", "type", "priority", "status", "gpu_model", "gpu_count", "duration_s",
    "max_price_usd_per_gpu_hour", "preemptible", "facility_id", "units", "submitted_at", "queued_at",
    "started_at", "finished_at", "preemptions", "wait_reason", "failure_reason",
)


def export_row(view: dict[str, Any]) -> list[str]:
    values = {**view, "units": " ".join(view.get("units") or [])}
    return [cell(values.get(c)) for c in EXPORT_COLUMNS]


async def export_stream(*, db: Database, query: Select[Workload]) -> AsyncIterator[str]:
    """The header, then the workloads of `query` in its order, in batches each read in a short
    session of its own (a large history never sits in memory whole)."""
    yield lines([list(EXPORT_COLUMNS)])
    offset = 0
    while True:
        async with db.read() as session:
            rows = list((await session.execute(query.limit(EXPORT_BATCH).offset(offset))).scalars().all())
            views = [workload_view(w) for w in rows]
        if views:
            yield lines(export_row(v) for v in views)
        if len(rows) < EXPORT_BATCH:
            return
        offset += EXPORT_BATCH


# --- queues and placements -----------------------------------------------------------------------
async def queues(*, session: AsyncSession, principal: Principal, now: datetime) -> dict[str, Any]:
    """Per queue class: how many workloads wait (and their GPUs), the oldest and median wait so far,
    how many are past the class's start SLO, and how many are placed."""
    waiting = (await session.execute(
        select(Workload.type, Workload.gpu_count, Workload.queued_at, Workload.submitted_at)
        .where(tenant_filter(principal, Workload.tenant_id), Workload.status.in_(tuple(WAITING_STATUSES)))
    )).all()
    placed = (await session.execute(
        select(Workload.type, func.count(), func.coalesce(func.sum(Workload.gpu_count), 0))
        .where(tenant_filter(principal, Workload.tenant_id), Workload.status.in_(tuple(PLACED_STATUSES)))
        .group_by(Workload.type)
    )).all()
    placed_by_type = {t: (int(n), int(g)) for t, n, g in placed}
    classes = []
    for workload_type, queue_class in QUEUE_CLASSES.items():
        rows = [r for r in waiting if r.type == workload_type]
        waits = np.array([max(0.0, (now - (r.queued_at or r.submitted_at)).total_seconds()) for r in rows])
        running, running_gpus = placed_by_type.get(workload_type, (0, 0))
        classes.append({
            "name": queue_class.name, "type": workload_type, "start_slo_s": queue_class.start_slo_s,
            "depth": len(rows), "gpus_waiting": sum(r.gpu_count for r in rows),
            "oldest_wait_s": float(waits.max()) if len(rows) else None,
            "median_wait_s": float(np.median(waits)) if len(rows) else None,
            "over_slo": int((waits > queue_class.start_slo_s).sum()),
            "placed": running, "gpus_placed": running_gpus,
        })
    return {"at": now, "classes": classes}


async def placements(*, session: AsyncSession, principal: Principal) -> list[Workload]:
    """The workloads holding units now (scheduled, switching or running), by facility then id."""
    return list((await session.execute(
        select(Workload).where(tenant_filter(principal, Workload.tenant_id),
                               Workload.status.in_(tuple(PLACED_STATUSES)))
        .order_by(Workload.facility_id, Workload.id)
    )).scalars().all())


# --- switches ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SwitchFilters:
    workload_id: str | None = None
    unit_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def check_window(since: datetime | None, until: datetime | None) -> None:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(name, "a time with its UTC offset (e.g. 2026-01-01T00:00:00Z)")
    if since is not None and until is not None and since >= until:
        raise InvalidInput("until", "must be after since")


def switches_where(filters: SwitchFilters) -> list[Any]:
    check_window(filters.since, filters.until)
    where: list[Any] = []
    if filters.workload_id is not None:
        # The switch's owner: the workload switched in, or the one switched out.
        where.append(or_(Switch.workload_id == filters.workload_id, Switch.to_workload == filters.workload_id,
                         Switch.from_workload == filters.workload_id))
    if filters.unit_id is not None:
        where.append(Switch.unit_id == filters.unit_id)
    if filters.since is not None:
        where.append(Switch.at >= filters.since)
    if filters.until is not None:
        where.append(Switch.at < filters.until)
    return where


def switches_query(filters: SwitchFilters) -> Select[Switch]:
    return select(Switch).where(*switches_where(filters)).order_by(Switch.at.desc(), Switch.id)


async def switch_summary(*, session: AsyncSession, filters: SwitchFilters) -> dict[str, Any]:
    """Latency percentiles of the switches passing the filters (only the latency column is read)."""
    latencies = np.array((await session.execute(
        select(Switch.latency_ms).where(*switches_where(filters)))).scalars().all(), dtype=float)
    if latencies.size == 0:
        return {"count": 0, "min_ms": None, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None,
                "mean_ms": None, "target_ms": SWITCH_TARGET_MS, "over_target": 0}
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    return {"count": int(latencies.size), "min_ms": float(latencies.min()), "p50_ms": float(p50),
            "p95_ms": float(p95), "p99_ms": float(p99), "max_ms": float(latencies.max()),
            "mean_ms": float(latencies.mean()), "target_ms": SWITCH_TARGET_MS,
            "over_target": int((latencies > SWITCH_TARGET_MS).sum())}
