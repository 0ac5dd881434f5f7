"""HTTP routes of the resources domain (facilities, racks, units, telemetry, capacity, discovery,
agents, commands, allocations), mounted under /api/v1 (its control loops are
components: `hcp.resources.components`).

Reads are for every role; discovery, commands and placement are for operators and admins, and
a customer sees only its own tenant's allocations (role checks arrive with the auth domain: the
service functions already take the tenant to restrict to).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.responses import StreamingResponse

from hcp.core import csv_export
from hcp.core.errors import InvalidInput
from hcp.core.platform import PlatformDep, SessionDep
from hcp.core.routing import domain_router
from hcp.core.security import require_role
from hcp.drivers.base import UnitIdentity
from hcp.kernel.enums import Health, UnitKind, UnitMode, UnitStatus
from hcp.resources import allocation, capacity, discovery, export, service, telemetry
from hcp.resources.runtime import runtime_of
from hcp.resources.schemas import (
    AgentRegisterIn,
    AgentRegisterOut,
    AllocateIn,
    AllocationList,
    AllocationOut,
    CapacityOut,
    CommandIn,
    CommandOut,
    DiscoverIn,
    DiscoveryOut,
    FacilityList,
    FacilityOut,
    RackIn,
    RackList,
    RackOut,
    ReleaseIn,
    TelemetryOut,
    Topology,
    UnitList,
    UnitOut,
    UnitPatch,
)

router = domain_router("resources")
# Reading the fleet is for everyone; changing it (and the allocations behind workloads) is staff work.
STAFF = require_role("operator")

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, description="items to skip")]
DEFAULT_TELEMETRY_WINDOW = timedelta(hours=1)


# --- facilities and racks ----------------------------------------------------------------------
@router.get("/facilities", response_model=FacilityList, summary="Facilities with their power caps")
async def list_facilities(session: SessionDep) -> dict[str, Any]:
    items = [service.facility_view(f) for f in await service.list_facilities(session=session)]
    return {"items": items, "total": len(items)}


@router.get("/facilities/{facility_id}", response_model=FacilityOut, summary="One facility")
async def get_facility(facility_id: str, session: SessionDep) -> dict[str, Any]:
    return service.facility_view(await service.get_facility(session=session, facility_id=facility_id))


@router.get("/facilities/{facility_id}/topology", response_model=Topology,
            summary="Facility -> racks -> units, with each unit's status and health")
async def get_topology(facility_id: str, session: SessionDep) -> dict[str, Any]:
    return await service.topology(session=session, facility_id=facility_id)


@router.get("/facilities/{facility_id}/racks", response_model=RackList, summary="Racks of a facility")
async def list_racks(facility_id: str, session: SessionDep) -> dict[str, Any]:
    await service.get_facility(session=session, facility_id=facility_id)
    items = [service.rack_view(r) for r in await service.list_racks(session=session, facility_id=facility_id)]
    return {"items": items, "total": len(items)}


@router.put("/facilities/{facility_id}/racks/{rack_id}", dependencies=[STAFF], response_model=RackOut,
            summary="Create or update a rack (operator)")
async def put_rack(facility_id: str, rack_id: str, body: RackIn,
                   platform: PlatformDep) -> dict[str, Any]:
    if not 0 < len(rack_id) <= 64:
        raise InvalidInput("rack_id", "1 to 64 characters")
    async with platform.db.transaction() as session:
        rack = await service.upsert_rack(session=session, facility_id=facility_id, rack_id=rack_id,
                                         name=body.name, position=body.position, power_cap_kw=body.power_cap_kw)
        return service.rack_view(rack)


# --- units -------------------------------------------------------------------------------------
class UnitFilters:
    """The filters and order of a unit list, shared by the list and its CSV export."""

    def __init__(
        self,
        kind: UnitKind | None = None,
        facility_id: Annotated[str | None, Query(max_length=64)] = None,
        status: UnitStatus | None = None,
        model: Annotated[str | None, Query(max_length=100)] = None,
        health: Health | None = None,
        rack_id: Annotated[str | None, Query(max_length=64)] = None,
        mode: UnitMode | None = None,
        q: Annotated[str | None, Query(max_length=100, description=(
            "free text: units whose id, model, address, hostname, serial, MAC or workload contains it "
            "(case-insensitive)"))] = None,
        sort: Annotated[str | None, Query(max_length=32, pattern=r"^-?[a-z_]+$", description=(
            "order by one of " + ", ".join(sorted(service.UNIT_SORTS)) + "; '-' in front for descending "
            "(default: kind, then id)"))] = None,
    ) -> None:
        self.values: dict[str, str | None] = {
            "kind": kind, "facility_id": facility_id, "status": status, "model": model, "health": health,
            "rack_id": rack_id, "mode": mode, "q": q, "sort": sort,
        }
        if sort is not None and sort.lstrip("-") not in service.UNIT_SORTS:
            raise InvalidInput("sort", f"one of {', '.join(sorted(service.UNIT_SORTS))}, "
                               "with '-' in front for descending")


FiltersDep = Annotated[UnitFilters, Depends()]


@router.get("/resources", response_model=UnitList, summary="Units, filtered, sorted, with live readings")
async def list_units(
    session: SessionDep, filters: FiltersDep, limit: Limit = 100, offset: Offset = 0
) -> dict[str, Any]:
    items, total = await service.list_units(session=session, limit=limit, offset=offset, **filters.values)
    return {"items": items, "total": total}


# Declared before /resources/{unit_id}, which would take "export.csv" for a unit id.
@router.get("/resources/export.csv", response_class=StreamingResponse,
            responses=csv_export.responses("one row per unit, header first"),
            summary="Every unit the list's filters pass, as CSV (streamed; the list's filters and order)")
async def export_units(filters: FiltersDep, platform: PlatformDep) -> StreamingResponse:
    query = service.units_query(**filters.values)
    stamp = platform.clock.now().strftime("%Y%m%dT%H%M%SZ")
    return csv_export.response(export.stream(db=platform.db, query=query), filename=f"hcp-resources-{stamp}.csv")


@router.get("/resources/capacity", response_model=CapacityOut,
            summary="Capacity per facility: hashrate, GPUs free/busy, power headroom, forecast of free GPUs")
async def get_capacity(
    session: SessionDep, platform: PlatformDep,
    facility_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    if facility_id is not None:
        await service.get_facility(session=session, facility_id=facility_id)
    return await capacity.capacity(session=session, now=platform.clock.now(), facility_id=facility_id)


@router.post("/resources/discover", dependencies=[STAFF], response_model=DiscoveryOut,
             summary="Scan an IPv4 subnet (/16 or smaller) for miners and register them (operator)")
async def discover(body: DiscoverIn, platform: PlatformDep) -> dict[str, Any]:
    runtime = runtime_of(platform)
    driver = runtime.drivers.get("cgminer")
    assert driver is not None
    s = runtime.settings
    result = await discovery.discover(
        db=platform.db, driver=driver, cidr=body.cidr, clock=platform.clock, facility_id=body.facility_id,
        rack_id=body.rack_id, concurrency=s.discovery_concurrency, connect_timeout_s=s.discovery_connect_timeout_s,
        identify_timeout_s=s.discovery_identify_timeout_s,
    )
    return result.to_dict()


@router.post("/resources/agents/register", dependencies=[STAFF], response_model=AgentRegisterOut,
             summary="A GPU agent registers its unit (idempotent)")
async def register_agent(body: AgentRegisterIn, platform: PlatformDep) -> dict[str, Any]:
    described = None
    if body.push:
        assert body.model is not None and body.serial is not None
        described = UnitIdentity(
            kind=body.kind, model=body.model, address=body.address, driver=body.driver, serial=body.serial,
            hostname=body.hostname, memory_mib=body.memory_mib, power_w=body.power_w,
        )
    view, outcome = await runtime_of(platform).register_agent(
        driver=body.driver, address=body.address, unit_id=body.id, facility_id=body.facility_id,
        rack_id=body.rack_id, push=body.push, described=described,
    )
    return {"outcome": outcome, "unit": view}


@router.get("/resources/allocations", dependencies=[STAFF], response_model=AllocationList,
            summary="Allocations, newest first")
async def list_allocations(
    session: SessionDep,
    active: bool | None = None,
    workload_id: Annotated[str | None, Query(max_length=64)] = None,
    unit_id: Annotated[str | None, Query(max_length=64)] = None,
    tenant_id: Annotated[str | None, Query(max_length=32)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    rows, total = await allocation.list_allocations(
        session=session, active=active, workload_id=workload_id, unit_id=unit_id, tenant_id=tenant_id,
        limit=limit, offset=offset,
    )
    return {"items": [service.allocation_view(a) for a in rows], "total": total}


@router.post("/resources/allocations", dependencies=[STAFF], response_model=list[AllocationOut], status_code=201,
             summary="Allocate units to a workload: all of them or none (409 if any is held)")
async def allocate(body: AllocateIn, platform: PlatformDep) -> list[dict[str, Any]]:
    async with platform.db.transaction() as session:
        rows = await allocation.allocate(
            session=session, unit_ids=body.unit_ids, workload_id=body.workload_id, tenant_id=body.tenant_id,
            expected_end_at=body.expected_end_at, at=platform.clock.now(),
        )
        return [service.allocation_view(a) for a in rows]


@router.post("/resources/allocations/release", dependencies=[STAFF], response_model=list[AllocationOut],
             summary="Release a workload's allocations (or some units')")
async def release(body: ReleaseIn, platform: PlatformDep) -> list[dict[str, Any]]:
    if body.workload_id is None and body.unit_ids is None:
        raise InvalidInput("workload_id", "give workload_id or unit_ids")
    async with platform.db.transaction() as session:
        rows = await allocation.release(
            session=session, workload_id=body.workload_id, unit_ids=body.unit_ids, reason=body.reason,
            at=platform.clock.now(),
        )
        return [service.allocation_view(a) for a in rows]


@router.get("/resources/{unit_id}", response_model=UnitOut, summary="One unit")
async def get_unit(unit_id: str, session: SessionDep) -> dict[str, Any]:
    return await service.get_unit_view(session=session, unit_id=unit_id)


@router.patch("/resources/{unit_id}", dependencies=[STAFF], response_model=UnitOut,
              summary="Place a unit (facility, rack) or take it in or out of maintenance (operator)")
async def patch_unit(unit_id: str, body: UnitPatch, platform: PlatformDep) -> dict[str, Any]:
    fields = body.model_dump(exclude_unset=True)
    async with platform.db.transaction() as session:
        return await service.update_unit(session=session, unit_id=unit_id, fields=fields, at=platform.clock.now())


@router.get("/resources/{unit_id}/telemetry", response_model=TelemetryOut,
            summary="A unit's readings over time: raw samples, or buckets of `step` seconds")
async def get_telemetry(
    unit_id: str, session: SessionDep, platform: PlatformDep,
    since: Annotated[datetime | None, Query(description="default: an hour before `until`")] = None,
    until: Annotated[datetime | None, Query(description="default: now")] = None,
    step: Annotated[int | None, Query(ge=1, le=7 * 86400, description="bucket size in seconds")] = None,
    metric: Annotated[list[str] | None, Query(max_length=50, description="only these metrics")] = None,
) -> dict[str, Any]:
    await service.get_unit(session=session, unit_id=unit_id)
    end = _aware(until) if until is not None else platform.clock.now()
    begin = _aware(since) if since is not None else end - DEFAULT_TELEMETRY_WINDOW
    if begin >= end:
        raise InvalidInput("since", "must be before until")
    q = telemetry.SeriesQuery(unit_id=unit_id, since_ms=telemetry.to_ms(begin), until_ms=telemetry.to_ms(end),
                              step_s=step, metrics=metric)
    return await telemetry.query(session=session, q=q, raw_since_ms=runtime_of(platform).raw_since_ms())


def _aware(value: datetime) -> datetime:
    # A time without an offset is read as UTC, the platform's only zone.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# Unset: the keys of a result the action has not (a power target's result has no latency).
@router.post("/resources/{unit_id}/commands", dependencies=[STAFF], response_model=CommandOut,
             response_model_exclude_unset=True,
             summary="Command a unit through its driver: mine, curtail, power target, load/unload a workload "
             "(operator)")
async def command_unit(unit_id: str, body: CommandIn, platform: PlatformDep) -> dict[str, Any]:
    return await runtime_of(platform).command(
        unit_id=unit_id, action=body.action, power_target_w=body.power_target_w, workload_id=body.workload_id,
        workload_type=body.workload_type,
    )
