"""Resource manager services: facilities and racks, units (registration, views, placement).

Plain functions with the session passed in. Discovery, health, telemetry, capacity and
allocations build on these in their own modules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.core.db import utcnow
from hcp.core.errors import Conflict, InvalidInput, NotFound
from hcp.core.outbox import add_event
from hcp.core.paging import page
from hcp.drivers.base import UnitIdentity
from hcp.kernel.enums import Health, UnitKind, UnitMode, UnitStatus
from hcp.kernel.events import UnitState
from hcp.resources.models import Allocation, Facility, Rack, Unit

UNIT_STATE = "unit.state"
# Words under /resources that are routes, not unit ids.
RESERVED_IDS = frozenset({"capacity", "discover", "allocations", "agents", "health", "export.csv"})


# --- facilities and racks ----------------------------------------------------------------------
async def upsert_facility(
    *, session: AsyncSession, id: str, name: str, location: str, power_cap_kw: float, market_node: str
) -> Facility:
    facility = await session.get(Facility, id)
    if facility is None:
        facility = Facility(id=id)
        session.add(facility)
    facility.name, facility.location = name, location
    facility.power_cap_kw, facility.market_node = power_cap_kw, market_node
    await session.flush()
    return facility


async def list_facilities(*, session: AsyncSession) -> Sequence[Facility]:
    return (await session.execute(select(Facility).order_by(Facility.id))).scalars().all()


async def get_facility(*, session: AsyncSession, facility_id: str) -> Facility:
    facility = await session.get(Facility, facility_id)
    if facility is None:
        raise NotFound(f"no facility {facility_id}")
    return facility


async def upsert_rack(
    *, session: AsyncSession, facility_id: str, rack_id: str, name: str, position: int = 0,
    power_cap_kw: float | None = None,
) -> Rack:
    await get_facility(session=session, facility_id=facility_id)
    rack = await session.get(Rack, rack_id)
    if rack is None:
        rack = Rack(id=rack_id, facility_id=facility_id)
        session.add(rack)
    elif rack.facility_id != facility_id:
        raise Conflict(f"rack {rack_id} belongs to facility {rack.facility_id}")
    rack.name, rack.position, rack.power_cap_kw = name, position, power_cap_kw
    await session.flush()
    return rack


async def list_racks(*, session: AsyncSession, facility_id: str) -> Sequence[Rack]:
    stmt = select(Rack).where(Rack.facility_id == facility_id).order_by(Rack.position, Rack.id)
    return (await session.execute(stmt)).scalars().all()


async def topology(*, session: AsyncSession, facility_id: str) -> dict[str, Any]:
    """Facility -> racks -> units, with each unit's state: the floor plan an operator reads."""
    facility = await get_facility(session=session, facility_id=facility_id)
    racks = await list_racks(session=session, facility_id=facility_id)
    units = (await session.execute(
        select(Unit).where(Unit.facility_id == facility_id).order_by(Unit.kind, Unit.id)
    )).scalars().all()
    by_rack: dict[str | None, list[dict[str, Any]]] = {}
    for unit in units:
        by_rack.setdefault(unit.rack_id, []).append({
            "id": unit.id, "kind": unit.kind, "model": unit.model, "status": unit.status,
            "health": unit.health, "mode": unit.mode, "address": unit.address,
            "power_w": (unit.reading or {}).get("power_w"),
        })
    return {
        "facility": facility_view(facility),
        "racks": [{**rack_view(rack), "units": by_rack.get(rack.id, []),
                   "power_kw": _power_kw(by_rack.get(rack.id, []))} for rack in racks],
        "unracked": by_rack.get(None, []),
        "units_total": len(units),
    }


def _power_kw(units: list[dict[str, Any]]) -> float:
    """What the units report drawing, in kW (a unit that reports no power counts nothing)."""
    return round(sum(float(u["power_w"] or 0.0) for u in units) / 1000, 3)


def facility_view(facility: Facility) -> dict[str, Any]:
    return {"id": facility.id, "name": facility.name, "location": facility.location,
            "power_cap_kw": facility.power_cap_kw, "market_node": facility.market_node}


def rack_view(rack: Rack) -> dict[str, Any]:
    return {"id": rack.id, "facility_id": rack.facility_id, "name": rack.name, "position": rack.position,
            "power_cap_kw": rack.power_cap_kw}


# --- units: views ------------------------------------------------------------------------------
def allocation_view(allocation: Allocation) -> dict[str, Any]:
    return {
        "id": allocation.id, "unit_id": allocation.unit_id, "workload_id": allocation.workload_id,
        "tenant_id": allocation.tenant_id, "allocated_at": allocation.allocated_at,
        "expected_end_at": allocation.expected_end_at, "released_at": allocation.released_at,
        "release_reason": allocation.release_reason,
    }


def unit_view(unit: Unit, allocation: Allocation | None = None) -> dict[str, Any]:
    """A unit as the API shows it (and as `unit.state` events carry it)."""
    return {
        "id": unit.id, "kind": unit.kind, "model": unit.model, "driver": unit.driver, "address": unit.address,
        "facility_id": unit.facility_id, "rack_id": unit.rack_id,
        "status": unit.status, "health": unit.health, "health_reasons": list(unit.health_reasons or []),
        "mode": unit.mode, "workload_id": unit.workload_id,
        "nominal": {"hashrate_ths": unit.hashrate_ths, "power_w": unit.power_w, "memory_mib": unit.memory_mib},
        "reading": dict(unit.reading or {}), "reading_at": unit.reading_at,
        "last_seen_at": unit.last_seen_at, "missed_polls": unit.missed_polls,
        "mac": unit.mac, "serial": unit.serial, "hostname": unit.hostname, "firmware": unit.firmware,
        "capabilities": list(unit.capabilities or []), "registered_at": unit.registered_at,
        "allocation": None if allocation is None else {
            "id": allocation.id, "workload_id": allocation.workload_id, "tenant_id": allocation.tenant_id,
            "allocated_at": allocation.allocated_at, "expected_end_at": allocation.expected_end_at,
        },
    }


async def active_allocations(*, session: AsyncSession, unit_ids: Sequence[str]) -> dict[str, Allocation]:
    if not unit_ids:
        return {}
    rows = (await session.execute(
        select(Allocation).where(Allocation.unit_id.in_(list(unit_ids)), Allocation.released_at.is_(None))
    )).scalars().all()
    return {a.unit_id: a for a in rows}


# The columns a unit list sorts by ("-" in front: descending); ties break by id.
UNIT_SORTS: dict[str, Any] = {
    "id": Unit.id, "kind": Unit.kind, "model": Unit.model, "facility_id": Unit.facility_id, "rack_id": Unit.rack_id,
    "status": Unit.status, "health": Unit.health, "mode": Unit.mode, "workload_id": Unit.workload_id,
    "last_seen_at": Unit.last_seen_at, "registered_at": Unit.registered_at,
}
# Where the free-text search looks (case-insensitive substring).
UNIT_SEARCH_COLUMNS = (Unit.id, Unit.model, Unit.address, Unit.hostname, Unit.serial, Unit.mac, Unit.workload_id)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def units_query(
    *, kind: str | None = None, facility_id: str | None = None, status: str | None = None, model: str | None = None,
    health: str | None = None, rack_id: str | None = None, mode: str | None = None, q: str | None = None,
    sort: str | None = None,
) -> Select[Unit]:
    """The units passing every filter given, in `sort`'s order (default: kind, then id). The list,
    the count and the CSV export all cut from this one query."""
    filters: list[Any] = []
    for column, value in ((Unit.kind, kind), (Unit.facility_id, facility_id), (Unit.status, status),
                          (Unit.model, model), (Unit.health, health), (Unit.rack_id, rack_id), (Unit.mode, mode)):
        if value is not None:
            filters.append(column == value)
    text = (q or "").strip()
    if text:
        pattern = f"%{_like_escape(text.lower())}%"
        filters.append(or_(*(func.lower(c).like(pattern, escape="\\") for c in UNIT_SEARCH_COLUMNS)))
    if sort:
        descending = sort.startswith("-")
        name = sort.lstrip("-")
        by: Any = UNIT_SORTS.get(name)
        if by is None:
            raise InvalidInput("sort", f"one of {', '.join(sorted(UNIT_SORTS))}, with '-' in front for descending")
        order: list[Any] = [by.desc().nulls_last() if descending else by.asc().nulls_last()]
        if name != "id":
            order.append(Unit.id.desc() if descending else Unit.id.asc())
    else:
        order = [Unit.kind.asc(), Unit.id.asc()]
    return select(Unit).where(*filters).order_by(*order)


async def list_units(
    *, session: AsyncSession, kind: str | None = None, facility_id: str | None = None,
    status: str | None = None, model: str | None = None, health: str | None = None,
    rack_id: str | None = None, mode: str | None = None, q: str | None = None, sort: str | None = None,
    limit: int = 100, offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    query = units_query(kind=kind, facility_id=facility_id, status=status, model=model, health=health,
                        rack_id=rack_id, mode=mode, q=q, sort=sort)
    units, total = await page(session, query, limit=limit, offset=offset)
    held = await active_allocations(session=session, unit_ids=[u.id for u in units])
    return [unit_view(u, held.get(u.id)) for u in units], total


async def count_units(*, session: AsyncSession, kind: UnitKind) -> dict[tuple[str, str], int]:
    """How many registered units of `kind` each facility holds, per model (whatever their state)."""
    rows = (await session.execute(
        select(Unit.facility_id, Unit.model, func.count()).where(Unit.kind == kind, Unit.facility_id.is_not(None))
        .group_by(Unit.facility_id, Unit.model))).all()
    return {(str(facility), str(model)): int(n) for facility, model, n in rows}


async def model_of(*, session: AsyncSession, unit_ids: Sequence[str]) -> str | None:
    """The hardware model of the first of these units that is known (a placement's GPUs share one)."""
    if not unit_ids:
        return None
    rows = (await session.execute(select(Unit.id, Unit.model).where(Unit.id.in_(list(unit_ids))))).all()
    models = {uid: model for uid, model in rows}
    return next((models[uid] for uid in unit_ids if models.get(uid)), None)


async def get_unit(*, session: AsyncSession, unit_id: str) -> Unit:
    unit = await session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"no unit {unit_id}")
    return unit


async def get_unit_view(*, session: AsyncSession, unit_id: str) -> dict[str, Any]:
    unit = await get_unit(session=session, unit_id=unit_id)
    held = await active_allocations(session=session, unit_ids=[unit.id])
    return unit_view(unit, held.get(unit.id))


def publish_state(session: AsyncSession, unit: Unit, *, previous: dict[str, Any] | None, at: datetime) -> None:
    """Queue `unit.state` in the caller's transaction: the unit as the API shows it, and what it was."""
    add_event(session, UnitState.model_validate({**unit_view(unit), "previous": previous}), ts=at)


def state_of(unit: Unit) -> dict[str, Any]:
    return {"status": unit.status, "health": unit.health, "mode": unit.mode,
            "health_reasons": list(unit.health_reasons or [])}


# --- units: registration and placement ---------------------------------------------------------
def new_unit_id(identity: UnitIdentity) -> str:
    if identity.mac:
        return f"{identity.kind}-{identity.mac.replace(':', '').replace('-', '').lower()}"
    digest = hashlib.sha1(identity.key.encode()).hexdigest()[:12]
    return f"{identity.kind}-{digest}"


async def check_placement(*, session: AsyncSession, facility_id: str | None, rack_id: str | None) -> str | None:
    """Validate a facility/rack pair; returns the facility implied by the rack."""
    if facility_id is not None and await session.get(Facility, facility_id) is None:
        raise InvalidInput("facility_id", f"no facility {facility_id}")
    if rack_id is None:
        return facility_id
    rack = await session.get(Rack, rack_id)
    if rack is None:
        raise InvalidInput("rack_id", f"no rack {rack_id}")
    if facility_id is not None and rack.facility_id != facility_id:
        raise InvalidInput("rack_id", f"rack {rack_id} is in facility {rack.facility_id}, not {facility_id}")
    return rack.facility_id


_IDENTITY_FIELDS = ("kind", "model", "driver", "address", "mac", "serial", "hostname", "firmware",
                    "hashrate_ths", "memory_mib", "power_w")


async def register_unit(
    *, session: AsyncSession, identity: UnitIdentity, facility_id: str | None = None,
    rack_id: str | None = None, unit_id: str | None = None, push: bool = False, at: datetime | None = None,
) -> tuple[Unit, str]:
    """Add a unit, or update the one with the same identity: returns it and "added", "updated"
    or "unchanged". Placement given here wins; placement left out keeps what the unit had.

    Another unit registered at the same address (a miner replaced, a DHCP lease reused) loses
    that address and goes offline, so the poller never reads one unit's data into another.
    """
    now = at or utcnow()
    facility_id = await check_placement(session=session, facility_id=facility_id, rack_id=rack_id)
    key = identity.key
    unit = (await session.execute(select(Unit).where(Unit.identity == key))).scalar_one_or_none()
    if unit is not None and unit_id is not None and unit.id != unit_id:
        raise Conflict(f"this {identity.kind} is registered as {unit.id}, not {unit_id}")
    capabilities = identity.capabilities.names()
    options = {**dict(identity.options), **({"push": True} if push else {})}
    outcome = "unchanged"
    if unit is None:
        new_id = unit_id or new_unit_id(identity)
        if new_id in RESERVED_IDS:
            raise InvalidInput("id", f"{new_id!r} is reserved")
        if await session.get(Unit, new_id) is not None:
            raise Conflict(f"unit id {new_id} is taken by another unit")
        unit = Unit(
            id=new_id, identity=key, status=UnitStatus.ONLINE, health=Health.OK, health_reasons=[],
            mode=UnitMode.UNKNOWN, reading={}, missed_polls=0, last_seen_at=now, registered_at=now, updated_at=now,
            facility_id=facility_id, rack_id=rack_id, capabilities=capabilities, driver_options=options,
            **{f: getattr(identity, f) for f in _IDENTITY_FIELDS},
        )
        session.add(unit)
        outcome = "added"
    else:
        changes: dict[str, Any] = {f: getattr(identity, f) for f in _IDENTITY_FIELDS}
        changes.update(capabilities=capabilities, driver_options=options)
        if facility_id is not None:
            changes["facility_id"] = facility_id
        if rack_id is not None:
            changes["rack_id"] = rack_id
        for name, value in changes.items():
            if getattr(unit, name) != value:
                setattr(unit, name, value)
                outcome = "updated"
    await session.flush()
    if identity.address is not None:
        await _evict_address(session, unit, now)
    if outcome == "added":
        publish_state(session, unit, previous=None, at=now)
    return unit, outcome


async def _evict_address(session: AsyncSession, unit: Unit, now: datetime) -> None:
    others = (await session.execute(
        select(Unit).where(Unit.driver == unit.driver, Unit.address == unit.address, Unit.id != unit.id)
    )).scalars().all()
    for other in others:
        previous = state_of(other)
        other.address = None
        other.health_reasons = [f"address {unit.address} now answers as {unit.id}"]
        if other.status != UnitStatus.MAINTENANCE:
            other.status, other.health = UnitStatus.OFFLINE, Health.CRITICAL
        publish_state(session, other, previous=previous, at=now)
    if others:
        await session.flush()


async def update_unit(
    *, session: AsyncSession, unit_id: str, fields: dict[str, Any], at: datetime | None = None
) -> dict[str, Any]:
    """Operator changes: placement (facility_id, rack_id) and maintenance on or off."""
    now = at or utcnow()
    unit = await get_unit(session=session, unit_id=unit_id)
    previous = state_of(unit)
    if "facility_id" in fields or "rack_id" in fields:
        facility_id = fields.get("facility_id", unit.facility_id)
        rack_id = fields.get("rack_id", unit.rack_id if "facility_id" not in fields else None)
        unit.facility_id = await check_placement(session=session, facility_id=facility_id, rack_id=rack_id)
        unit.rack_id = rack_id
    if "maintenance" in fields:
        if fields["maintenance"]:
            unit.status = UnitStatus.MAINTENANCE
        elif unit.status == UnitStatus.MAINTENANCE:
            # Back in service: the next poll says whether it answers.
            unit.status = UnitStatus.ONLINE
    await session.flush()
    if state_of(unit) != previous:
        publish_state(session, unit, previous=previous, at=now)
    held = await active_allocations(session=session, unit_ids=[unit.id])
    return unit_view(unit, held.get(unit.id))
