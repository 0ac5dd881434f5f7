"""HTTP routes of the orchestrator domain (workloads and switches), mounted under /api/v1
(the workload loop is a component: `hcp.orchestrator.components`).

Customers submit, list and cancel their own tenant's workloads (another tenant's is not found);
staff see every tenant's and submit on behalf of one, naming it as `tenant_id`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Query, Response

from hcp.auth import service as auth
from hcp.core.platform import Platform, PlatformDep, SessionDep
from hcp.core.routing import domain_router
from hcp.core.security import CurrentUser, Principal, acting_tenant, require_role
from hcp.kernel.enums import WorkloadStatus
from hcp.orchestrator import fleet_metrics, service
from hcp.orchestrator.lifecycle import workload_view
from hcp.orchestrator.loop import loop_of
from hcp.orchestrator.schemas import (
    FleetHistory,
    SwitchList,
    WorkloadDetail,
    WorkloadIn,
    WorkloadList,
    WorkloadOut,
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


@router.get("/workloads", response_model=WorkloadList, summary="Workloads, newest first (a customer's own)")
async def list_workloads(
    session: SessionDep, principal: CurrentUser, status: WorkloadStatus | None = None,
    tenant_id: str | None = None, limit: Limit = 100, offset: Offset = 0,
) -> dict[str, Any]:
    rows, total = await service.list_workloads(session=session, principal=principal, status=status,
                                               tenant_id=tenant_id, limit=limit, offset=offset)
    return {"items": [workload_view(w) for w in rows], "total": total}


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


@router.get("/orchestrator/switches", dependencies=[STAFF], response_model=SwitchList,
            summary="Recent GPU switches with their phases and latency")
async def list_switches(session: SessionDep, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    rows, total = await service.list_switches(session=session, limit=limit, offset=offset)
    return {"items": [service.switch_view(r) for r in rows], "total": total}


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
