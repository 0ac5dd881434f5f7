"""HTTP routes of the economics domain: the optimizer, the live plan, demand response."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Query

from hcp.core.errors import NotFound
from hcp.core.platform import PlatformDep, SessionDep, WriteSessionDep
from hcp.core.routing import domain_router
from hcp.core.security import CurrentUser, require_role
from hcp.economics import service
from hcp.economics.backtest.api import router as backtest_router
from hcp.economics.backtest.schemas import Fleet
from hcp.economics.fleet import backtest_fleet, fleet_from_resources
from hcp.economics.optimizer import optimize as run_optimizer
from hcp.economics.planner import Prices
from hcp.economics.schemas import (
    DemandResponseIn,
    DemandResponseList,
    DemandResponseOut,
    OptimizeRequest,
    OptimizeResponse,
    PlanOut,
    ProfitabilityOut,
    RecommendationsOut,
)
from hcp.market import service as market
from hcp.resources import service as resources

# The fleet's economics are the operator's business: customers see their own bills, not this.
router = domain_router("economics", dependencies=[require_role("operator")])
router.include_router(backtest_router)


@router.post("/economics/optimize", response_model=OptimizeResponse, response_model_exclude_none=True,
             summary="The optimizer as a pure function: the best plan for the given prices and fleet")
async def optimize(body: OptimizeRequest) -> OptimizeResponse:
    # Seconds of CPU for big fleets: off the event loop.
    return await asyncio.to_thread(run_optimizer, body)


@router.get("/economics/plan", response_model=PlanOut, response_model_exclude_unset=True,
            summary="The current fleet plan and its expected profit, each GPU as the allocations table has it now")
async def current_plan(session: SessionDep) -> PlanOut:
    record = await service.latest_plan_record(session=session)
    if record is None:
        raise NotFound("no plan yet: plans follow market ticks")
    return PlanOut.model_validate(service.plan_as_it_stands(record, await fleet_from_resources(session)))


@router.get("/economics/backtest/fleet", response_model=Fleet, response_model_exclude_none=True,
            summary="The fleet as it stands, as POST /economics/backtest takes it (identical units counted)")
async def fleet_for_backtest(session: SessionDep) -> Fleet:
    return backtest_fleet(await resources.list_facilities(session=session), await fleet_from_resources(session))


@router.get("/economics/profitability", response_model=ProfitabilityOut, response_model_exclude_unset=True,
            summary="Revenue, energy cost and break-even per facility and unit model at the latest prices")
async def profitability(session: SessionDep, platform: PlatformDep) -> ProfitabilityOut:
    m = platform.settings.market
    latest = await market.latest_prices(session=session, now=platform.clock.now(), stale_after_s=m.stale_after_s,
                                        stale_after_by_kind_s=m.stale_after_by_kind_s)
    if latest.btc_usd is None or latest.network_difficulty is None:
        raise NotFound("no market prices yet")
    prices = Prices(btc_usd=latest.btc_usd, network_difficulty=latest.network_difficulty,
                    fees_btc_per_block=latest.fees_btc_per_block or 0.0,
                    gpu_spot_usd_per_hour=latest.gpu_spot_usd_per_hour, ts=latest.ts or platform.clock.now())
    facilities = await service.facility_states(session=session, electricity=latest.electricity_usd_per_mwh)
    report = service.profitability(prices=prices, facilities=facilities, units=await fleet_from_resources(session))
    return ProfitabilityOut.model_validate({**report, "stale": latest.stale})


@router.get("/economics/recommendations", response_model=RecommendationsOut, response_model_exclude_unset=True,
            summary="What the current plan means, in words an operator acts on")
async def recommendations(session: SessionDep) -> RecommendationsOut:
    record = await service.latest_plan_record(session=session)
    items = record.recommendations if record else []
    return RecommendationsOut.model_validate(
        {"items": items, "total": len(items), "ts": record.ts.isoformat() if record else None})


@router.get("/economics/demand-response", response_model=DemandResponseList,
            summary="Demand-response windows (lowered caps)")
async def list_demand_response(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DemandResponseList:
    rows, total = await service.list_demand_response(session=session, limit=limit, offset=offset)
    return DemandResponseList(items=[DemandResponseOut.model_validate(r, from_attributes=True) for r in rows],
                              total=total)


@router.post("/economics/demand-response", status_code=201, response_model=DemandResponseOut,
             summary="Lower a facility's cap for a window (4CP, a grid operator's call)")
async def create_demand_response(
    body: DemandResponseIn, session: WriteSessionDep, user: CurrentUser
) -> DemandResponseOut:
    event = await service.create_demand_response(
        session=session, facility_id=body.facility_id, power_cap_kw=body.power_cap_kw,
        starts_at=body.starts_at, ends_at=body.ends_at, reason=body.reason, created_by=user.id)
    return DemandResponseOut.model_validate(event, from_attributes=True)


@router.delete("/economics/demand-response/{event_id}", status_code=204, summary="Cancel a window")
async def delete_demand_response(event_id: str, session: WriteSessionDep) -> None:
    await service.delete_demand_response(session=session, event_id=event_id)
