"""HTTP routes of the orchestrator domain (workloads and switches), mounted under /api/v1
(the workload loop is a component: `hcp.orchestrator.components`).

Customers submit, list and cancel their own tenant's workloads (another tenant's is not found);
staff see every tenant's and submit on behalf of one, naming it as `tenant_id`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Response
from fastapi.responses import StreamingResponse

from hcp.auth import service as auth
from hcp.core import csv_export
from hcp.core.paging import page
from hcp.core.platform import Platform, PlatformDep, SessionDep
from hcp.core.routing import domain_router
from hcp.core.security import CurrentUser, Principal, acting_tenant, require_role
from hcp.kernel.enums import GpuModelChoice, WorkloadStatus, WorkloadType
from hcp.orchestrator import console, fleet_metrics, service
from hcp.orchestrator.lifecycle import workload_view
from hcp.orchestrator.loop import loop_of
from hcp.orchestrator.schemas import (
    FleetHistory,
    PlacementList,
    SwitchList,
    SwitchSummary,
    WorkloadDetail,
    WorkloadIn,
    WorkloadList,
    WorkloadOut,
    WorkloadQueues,
)

router = domain_router("orchestrator")
STAFF = require_role("operator")

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, description="items to skip")]


def _wake(platform: Platform) -> None:
    loop = loop_of(platform)
    if loop is not None:
        loop.wake()


async def _tenant_of(session: Any, principal: Principal, asked: str | None) -> str:
    return await acting_tenant(principal, asked, find=lambda tenant_id: auth.get_tenant(
        session=session, principal=principal, tenant_id=tenant_id))


@router.post("/workloads", response_model=WorkloadOut, status_code=201,
             summary="Submit a workload: admitted and queued, or refused with the reason")
async def submit_workload(
    body: WorkloadIn, principal: CurrentUser, platform: PlatformDep, response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> dict[str, Any]:
    async with platform.db.transaction() as session:
        tenant_id = await _tenant_of(session, principal, body.tenant_id)
        workload, new = await service.submit(
            session=session, settings=platform.settings, tenant_id=tenant_id, created_by=principal.id,
            at=platform.clock.now(), idempotency_key=idempotency_key,
            submission=service.Submission(
                name=body.name, type=body.type, priority=body.priority, gpu_model=body.gpu_model,
                gpu_count=body.gpu_count, duration_s=body.duration_s,
                max_price_usd_per_gpu_hour=body.max_price_usd_per_gpu_hour, preemptible=body.preemptible),
        )
        view = workload_view(workload)
    if new:
        _wake(platform)
    else:
        response.status_code = 200
    return view


class WorkloadQuery:
    """The filters and order of a workload list, shared by the list and its CSV export."""

    def __init__(
        self,
        status: WorkloadStatus | None = None,
        tenant_id: Annotated[str | None, Query(max_length=32, description="one customer's (staff)")] = None,
        type: WorkloadType | None = None,
        gpu_model: GpuModelChoice | None = None,
        q: Annotated[str | None, Query(max_length=100, description=(
            "free text: workloads whose id or name contains it (case-insensitive)"))] = None,
        sort: Annotated[str | None, Query(max_length=32, pattern=r"^-?[a-z_]+$", description=(
            "order by one of " + ", ".join(sorted(console.WORKLOAD_SORTS)) + "; '-' in front for descending "
            "(default: -submitted_at, newest first)"))] = None,
    ) -> None:
        console.check_sort(sort)
        self.filters = console.WorkloadFilters(status=status, tenant_id=tenant_id, type=type,
                                               gpu_model=gpu_model, q=q, sort=sort)


WorkloadQueryDep = Annotated[WorkloadQuery, Depends()]


@router.get("/workloads", response_model=WorkloadList,
            summary="Workloads, filtered and sorted (default newest first; a customer's own)")
async def list_workloads(
    session: SessionDep, principal: CurrentUser, query: WorkloadQueryDep, limit: Limit = 100, offset: Offset = 0,
) -> dict[str, Any]:
    rows, total = await page(session, console.workloads_query(principal=principal, filters=query.filters),
                             limit=limit, offset=offset)
    return {"items": [workload_view(w) for w in rows], "total": total}


# Declared before /workloads/{workload_id}, which would take these names for a workload id.
@router.get("/workloads/export.csv", response_class=StreamingResponse,
            responses=csv_export.responses("one row per workload, header first"),
            summary="Every workload the list's filters pass, as CSV (streamed; the list's filters and order)")
async def export_workloads(principal: CurrentUser, query: WorkloadQueryDep, platform: PlatformDep) -> StreamingResponse:
    select_ = console.workloads_query(principal=principal, filters=query.filters)
    stamp = platform.clock.now().strftime("%Y%m%dT%H%M%SZ")
    return csv_export.response(console.export_stream(db=platform.db, query=select_),
                               filename=f"hcp-workloads-{stamp}.csv")


@router.get("/workloads/queues", response_model=WorkloadQueues,
            summary="Queues per class: depth, GPUs, oldest and median wait, past the start SLO, placed")
async def workload_queues(session: SessionDep, principal: CurrentUser, platform: PlatformDep) -> dict[str, Any]:
    return await console.queues(session=session, principal=principal, now=platform.clock.now())


@router.get("/workloads/placements", response_model=PlacementList,
            summary="What runs where: each placed workload with its facility and units")
async def workload_placements(session: SessionDep, principal: CurrentUser) -> dict[str, Any]:
    rows = await console.placements(session=session, principal=principal)
    items = [{"workload_id": w.id, "name": w.name, "tenant_id": w.tenant_id, "type": w.type, "status": w.status,
              "gpu_model": w.gpu_model, "gpu_count": w.gpu_count, "facility_id": w.facility_id,
              "units": list(w.units or []), "started_at": w.started_at} for w in rows]
    return {"items": items, "total": len(items)}


@router.get("/workloads/{workload_id}", response_model=WorkloadDetail, summary="One workload with its history")
async def get_workload(workload_id: str, session: SessionDep, principal: CurrentUser) -> dict[str, Any]:
    workload = await service.get_workload(session=session, principal=principal, workload_id=workload_id)
    return await service.detail(session=session, workload=workload)


@router.post("/workloads/{workload_id}/cancel", response_model=WorkloadOut,
             summary="Cancel a workload that has not finished (409 once it has)")
async def cancel_workload(workload_id: str, principal: CurrentUser, platform: PlatformDep) -> dict[str, Any]:
    async with platform.db.transaction() as session:
        workload = await service.cancel(session=session, principal=principal, workload_id=workload_id,
                                        at=platform.clock.now())
        view = workload_view(workload)
    _wake(platform)
    return view


class SwitchQuery:
    def __init__(
        self,
        workload_id: Annotated[str | None, Query(
            max_length=32, description="one workload's switches (in or out)")] = None,
        unit_id: Annotated[str | None, Query(max_length=64)] = None,
        since: Annotated[datetime | None, Query(description="from this time (inclusive, with its offset)")] = None,
        until: Annotated[datetime | None, Query(description="before this time (with its offset)")] = None,
    ) -> None:
        self.filters = console.SwitchFilters(workload_id=workload_id, unit_id=unit_id, since=since, until=until)
        console.check_window(since, until)


SwitchQueryDep = Annotated[SwitchQuery, Depends()]


@router.get("/orchestrator/switches", dependencies=[STAFF], response_model=SwitchList,
            summary="Recent GPU switches with their phases and latency (newest first, filtered)")
async def list_switches(session: SessionDep, query: SwitchQueryDep, limit: Limit = 100,
                        offset: Offset = 0) -> dict[str, Any]:
    rows, total = await page(session, console.switches_query(query.filters), limit=limit, offset=offset)
    return {"items": [service.switch_view(r) for r in rows], "total": total}


@router.get("/orchestrator/switches/summary", dependencies=[STAFF], response_model=SwitchSummary,
            summary="Switch latency percentiles (p50, p95, p99) of the switches the filters pass")
async def switch_summary(session: SessionDep, query: SwitchQueryDep) -> dict[str, Any]:
    return await console.switch_summary(session=session, filters=query.filters)


@router.get("/fleet/history", response_model=FleetHistory, dependencies=[STAFF],
            summary="The fleet's hashrate, power by mode and facility and GPU use over a recent window")
async def fleet_history(
    session: SessionDep, platform: PlatformDep,
    window_s: Annotated[int, Query(ge=60, le=7 * 86_400, description="how far back, in seconds")] = 3600,
    step_s: Annotated[int, Query(ge=60, le=86_400, multiple_of=60,
                                 description="seconds per point (whole minutes, as the rollups)")] = 60,
) -> FleetHistory:
    return await fleet_metrics.history(session=session, settings=platform.settings, now=platform.clock.now(),
                                       window_s=window_s, step_s=step_s)
