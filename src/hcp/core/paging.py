"""One way to answer a list route: a page of a query's rows and how many rows it has in all.

Every list answers `{"items": [...], "total": n}`; the total counts the same query the page
is cut from, so a filter can never count one thing and page another.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def page(
    session: AsyncSession, query: Select[T], *, limit: int, offset: int
) -> tuple[list[T], int]:
    """Rows `offset` to `offset + limit` of `query` (in its order), and the count of all its rows.

    A page past the end is empty; the total is still the whole count.
    """
    if limit < 1 or offset < 0:
        raise ValueError(f"a page needs limit >= 1 and offset >= 0 (got limit={limit}, offset={offset})")
    total = await count(session, query)
    rows = (await session.execute(query.limit(limit).offset(offset))).scalars().all()
    return list(rows), total


async def count(session: AsyncSession, query: Select[Any]) -> int:
    """How many rows `query` returns (its ordering and paging aside)."""
    counted = select(func.count()).select_from(query.order_by(None).limit(None).offset(None).subquery())
    return int(await session.scalar(counted) or 0)
