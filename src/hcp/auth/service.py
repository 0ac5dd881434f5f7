"""Auth domain services: tenants and users (tokens, keys and audit arrive with RBAC)."""

from __future__ import annotations

from typing import Literal

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.auth.models import Tenant, User
from hcp.core.errors import Conflict, InvalidInput

Role = Literal["admin", "operator", "customer"]
ROLES: tuple[Role, ...] = ("admin", "operator", "customer")

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def ensure_tenant(*, session: AsyncSession, slug: str, name: str) -> Tenant:
    """The tenant with this slug, created if it does not exist yet."""
    tenant = (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()
    if tenant is None:
        tenant = Tenant(slug=slug, name=name)
        session.add(tenant)
        await session.flush()
    return tenant


async def create_user(
    *, session: AsyncSession, email: str, password: str, role: Role, tenant_id: str | None = None
) -> User:
    if role not in ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(ROLES)}")
    if (role == "customer") != (tenant_id is not None):
        raise InvalidInput("tenant_id", "customers need a tenant; staff have none")
    email = normalise_email(email)
    if await session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise Conflict(f"a user with email {email} exists")
    user = User(email=email, password_hash=hash_password(password), role=role, tenant_id=tenant_id)
    session.add(user)
    await session.flush()
    return user


async def find_user(*, session: AsyncSession, email: str) -> User | None:
    stmt = select(User).where(User.email == normalise_email(email))
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_users(*, session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)
