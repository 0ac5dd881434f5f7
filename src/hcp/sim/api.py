"""The simulator's HTTP API (`/api/v1/sim/...`): units, faults, switches, clock, market."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from hcp.core.clock import ScaledClock
from hcp.core.errors import Conflict, InvalidInput, NotFound, Unavailable
from hcp.core.platform import PlatformDep
from hcp.core.routing import domain_router
from hcp.core.security import require_role
from hcp.kernel.enums import UnitKind
from hcp.sim.components import Simulator
from hcp.sim.gpu import GpuError, SwitchInProgress
from hcp.sim.hybrid import HybridSimulator, NotAGpu, UnknownUnit, UnsupportedFault
from hcp.sim.schemas import (
    ClockIn,
    ClockOut,
    FaultIn,
    SimMarketTick,
    SimSwitchOut,
    SimUnitList,
    SimUnitOut,
    SwitchIn,
    SwitchingStats,
)

# The digital twin is staff equipment: operators and admins only, for reading as for changing.
router = domain_router("sim", dependencies=[require_role("operator")])


def get_simulator(platform: PlatformDep) -> HybridSimulator:
    component = platform.components.get(Simulator)
    if component is None or component.sim is None:
        raise Unavailable("the simulator is not running in this process (HCP_SIM__ENABLED=false)")
    return component.sim


SimDep = Annotated[HybridSimulator, Depends(get_simulator)]


def _unit(sim: HybridSimulator, unit_id: str) -> SimUnitOut:
    try:
        return SimUnitOut.model_validate(sim.describe(unit_id))
    except UnknownUnit:
        raise NotFound(f"no simulated unit {unit_id}") from None


@router.get("/sim/units", response_model=SimUnitList, summary="Simulated units with live readings")
async def list_units(
    sim: SimDep,
    kind: UnitKind | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SimUnitList:
    ids = [uid for uid, u in sim.units.items() if kind is None or u.kind == kind]
    return SimUnitList.model_validate(
        {"items": [sim.describe(uid) for uid in ids[offset:offset + limit]], "total": len(ids)})


@router.get("/sim/units/{unit_id}", response_model=SimUnitOut, summary="One simulated unit")
async def get_unit(unit_id: str, sim: SimDep) -> SimUnitOut:
    return _unit(sim, unit_id)


@router.post("/sim/units/{unit_id}/fault", response_model=SimUnitOut,
             summary="Inject a fault into a simulated unit")
async def inject_fault(unit_id: str, body: FaultIn, sim: SimDep) -> SimUnitOut:
    _unit(sim, unit_id)
    try:
        sim.inject_fault(unit_id, body.type)
    except UnsupportedFault as exc:
        raise InvalidInput("type", str(exc)) from None
    except GpuError as exc:
        raise Conflict(str(exc)) from None
    return _unit(sim, unit_id)


@router.delete("/sim/units/{unit_id}/fault", response_model=SimUnitOut,
               summary="Clear one fault (?type=) or all of a unit's faults")
async def clear_fault(
    unit_id: str, sim: SimDep, type: Annotated[str | None, Query(max_length=40)] = None
) -> SimUnitOut:
    _unit(sim, unit_id)
    try:
        sim.clear_fault(unit_id, type)
    except UnsupportedFault as exc:
        raise InvalidInput("type", str(exc)) from None
    return _unit(sim, unit_id)


@router.post("/sim/switch", response_model=SimSwitchOut,
             summary="Switch a simulated GPU to another workload (phases timed)")
async def switch(body: SwitchIn, sim: SimDep) -> SimSwitchOut:
    _unit(sim, body.unit_id)
    try:
        record = await sim.switch(body.unit_id, body.workload, workload_type=body.workload_type)
    except NotAGpu as exc:
        raise InvalidInput("unit_id", str(exc)) from None
    except SwitchInProgress as exc:
        raise Conflict(str(exc), code="switch_in_progress") from None
    except GpuError as exc:
        raise Conflict(str(exc), code="unit_faulted") from None
    return SimSwitchOut.model_validate({"unit_id": body.unit_id, **record.to_dict()})


@router.get("/sim/switching/stats", response_model=SwitchingStats, summary="Switch latency percentiles")
async def switching_stats(sim: SimDep) -> SwitchingStats:
    return SwitchingStats(**sim.switching_stats())


@router.get("/sim/market", response_model=SimMarketTick, summary="The market simulator's latest tick")
async def market(sim: SimDep) -> SimMarketTick:
    return SimMarketTick.model_validate(sim.last_tick.to_event())


@router.get("/sim/clock", response_model=ClockOut, summary="Simulated time and its speed")
async def get_clock(platform: PlatformDep) -> ClockOut:
    return ClockOut(now=platform.clock.now().isoformat(), speed=platform.clock.speed)


@router.put("/sim/clock", response_model=ClockOut, summary="Change how fast simulated time runs")
async def set_clock(body: ClockIn, platform: PlatformDep) -> ClockOut:
    if not isinstance(platform.clock, ScaledClock):
        raise Conflict("this clock cannot change speed")
    try:
        await platform.set_clock_speed(body.speed)
    except ValueError as exc:
        raise Conflict(str(exc)) from None
    return ClockOut(now=platform.clock.now().isoformat(), speed=platform.clock.speed)
