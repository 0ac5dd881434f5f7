"""Resource manager services: facilities (units, discovery and capacity build on these)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.resources.models import Facility


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
