"""HTTP routes of the economics domain: the optimizer, the live plan, demand response."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Query

from hcp.core.errors import NotFound
from hcp.core.platform import SessionDep
from hcp.core.routing import domain_router
from hcp.economics import service
from hcp.economics.optimizer import optimize as run_optimizer
from hcp.economics.schemas import DemandResponseIn, DemandResponseOut, OptimizeRequest, OptimizeResponse, PlanOut

router = domain_router("economics")


@router.post("/economics/optimize", response_model=OptimizeResponse, response_model_exclude_none=True,
             summary="The optimizer as a pure function: the best plan for the given prices and fleet")
async def optimize(body: OptimizeRequest) -> OptimizeResponse:
    # Seconds of CPU for big fleets: off the event loop.
    return await asyncio.to_thread(run_optimizer, body)


@router.get("/economics/plan", response_model=PlanOut, summary="The current fleet plan and its expected profit")
async def current_plan(session: SessionDep) -> PlanOut:
    record = await service.latest_plan_record(session=session)
    if record is None:
        raise NotFound("no plan yet: plans follow market ticks")
    return PlanOut.model_validate(record, from_attributes=True)


@router.get("/economics/recommendations", summary="What the current plan means, in words an operator acts on")
async def recommendations(session: SessionDep) -> dict[str, Any]:
    record = await service.latest_plan_record(session=session)
    items = record.recommendations if record else []
    return {"items": items, "total": len(items), "ts": record.ts.isoformat() if record else None}


@router.get("/economics/demand-response", summary="Demand-response windows (lowered caps)")
async def list_demand_response(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    rows, total = await service.list_demand_response(session=session, limit=limit, offset=offset)
    return {"items": [DemandResponseOut.model_validate(r, from_attributes=True) for r in rows], "total": total}


@router.post("/economics/demand-response", status_code=201, response_model=DemandResponseOut,
             summary="Lower a facility's cap for a window (4CP, a grid operator's call)")
async def create_demand_response(body: DemandResponseIn, session: SessionDep) -> DemandResponseOut:
    async with session.begin():
        event = await service.create_demand_response(
            session=session, facility_id=body.facility_id, power_cap_kw=body.power_cap_kw,
            starts_at=body.starts_at, ends_at=body.ends_at, reason=body.reason, created_by=None)
    return DemandResponseOut.model_validate(event, from_attributes=True)


@router.delete("/economics/demand-response/{event_id}", status_code=204, summary="Cancel a window")
async def delete_demand_response(event_id: str, session: SessionDep) -> None:
    async with session.begin():
        await service.delete_demand_response(session=session, event_id=event_id)
