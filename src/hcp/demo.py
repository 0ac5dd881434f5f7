"""Demo data: the seed's three facilities and their racks (`hcp.sim.site`), three customers and the
demo logins.

Used by `hcp seed` and by `hcp up --demo` on an empty database. Every step is idempotent,
so seeding twice changes nothing. Demo credentials are public: they exist only in demo mode.
The demo's units are not seeded: the resource manager discovers the simulated fleet at start,
as it would a real one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from hcp.auth import service as auth
from hcp.billing import demo as billing_demo
from hcp.billing import service as billing
from hcp.core.db import Database, lock_until_commit
from hcp.resources import service as resources
from hcp.sim.site import FACILITIES, RACKS


@dataclass(frozen=True)
class DemoCustomer:
    slug: str
    name: str
    monthly_budget_usd: Decimal
    email: str
    password: str


CUSTOMERS = (
    DemoCustomer("acme", "Acme Corp", Decimal("12500"), "john@acme.com", "customer123"),
    DemoCustomer("globex", "Globex Research", Decimal("8000"), "maria@globex.com", "customer123"),
    DemoCustomer("initech", "Initech AI", Decimal("6000"), "raj@initech.com", "customer123"),
)

STAFF: tuple[tuple[str, str, auth.Role], ...] = (
    ("admin@mara.com", "admin123", "admin"),
    ("ops@mara.com", "operator123", "operator"),
)

DEMO_LOGINS = (
    ("admin", "admin@mara.com", "admin123"),
    ("operator", "ops@mara.com", "operator123"),
    ("customer (Acme Corp)", "john@acme.com", "customer123"),
)


async def _ensure_user(
    session: AsyncSession, email: str, password: str, role: auth.Role, tenant_id: str | None
) -> None:
    # Marked as demo users: with their public passwords they must not work outside demo mode.
    if await auth.find_user(session=session, email=email) is None:
        await auth.create_user(
            session=session, email=email, password=password, role=role, tenant_id=tenant_id,
            is_demo=True,
        )


SEED_LOCK_KEY = 0x4843_5053  # "HCPS": replicas starting together on an empty database seed once


async def seed(db: Database) -> None:
    async with db.transaction() as session:
        # Every step below looks before it writes; under the lock, two processes seeding at once
        # take turns, and the second finds everything there.
        await lock_until_commit(session, SEED_LOCK_KEY)
        for f in FACILITIES:
            await resources.upsert_facility(
                session=session, id=f.id, name=f.name, location=f.location,
                power_cap_kw=f.power_cap_kw, market_node=f.market_node,
            )
        for r in RACKS:
            await resources.upsert_rack(
                session=session, facility_id=r.facility_id, rack_id=r.id, name=r.name, position=r.position
            )
        for c in CUSTOMERS:
            tenant = await auth.ensure_tenant(session=session, slug=c.slug, name=c.name)
            if await billing.get_budget(session=session, tenant_id=tenant.id) is None:
                await billing.set_budget(
                    session=session, tenant_id=tenant.id, monthly_limit_usd=c.monthly_budget_usd
                )
            await _ensure_user(session, c.email, c.password, "customer", tenant.id)
        await billing_demo.seed_history(session=session, customers=[(c.slug, c.name, c.monthly_budget_usd)
                                                                    for c in CUSTOMERS],
                                        facilities=[f.id for f in FACILITIES])
        for email, password, role in STAFF:
            await _ensure_user(session, email, password, role, None)


async def is_empty(db: Database) -> bool:
    async with db.session() as session:
        return await auth.count_users(session=session) == 0
