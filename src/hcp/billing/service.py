"""Billing services: budgets (metering, invoices and payments build on these)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from hcp.billing.models import Budget
from hcp.core.errors import InvalidInput


async def set_budget(*, session: AsyncSession, tenant_id: str, monthly_limit_usd: Decimal) -> Budget:
    if monthly_limit_usd < 0:
        raise InvalidInput("monthly_limit_usd", "must not be negative")
    budget = await session.get(Budget, tenant_id)
    if budget is None:
        budget = Budget(tenant_id=tenant_id, monthly_limit_usd=monthly_limit_usd)
        session.add(budget)
    else:
        budget.monthly_limit_usd = monthly_limit_usd
    await session.flush()
    return budget


async def get_budget(*, session: AsyncSession, tenant_id: str) -> Budget | None:
    return await session.get(Budget, tenant_id)
