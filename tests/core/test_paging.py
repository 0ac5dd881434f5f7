"""The one count-plus-page helper: totals count the whole query, pages stay within bounds."""

import pytest
from sqlalchemy import select

from hcp.core.db import Database
from hcp.core.paging import count, page
from hcp.core.platform import ClockEpoch


async def _rows(db: Database, n: int) -> None:
    async with db.transaction() as session:
        session.add_all(ClockEpoch(id=i, wall_at=0.0, sim_at=float(i), speed=1.0) for i in range(1, n + 1))


async def test_pages_cut_the_query_in_its_order_and_count_all_of_it(db: Database) -> None:
    await _rows(db, 7)
    query = select(ClockEpoch).order_by(ClockEpoch.id.desc())
    async with db.read() as session:
        first, total = await page(session, query, limit=3, offset=0)
        assert [r.id for r in first] == [7, 6, 5] and total == 7
        last, total = await page(session, query, limit=3, offset=6)
        assert [r.id for r in last] == [1] and total == 7
        beyond, total = await page(session, query, limit=3, offset=50)
        assert beyond == [] and total == 7


async def test_a_filter_counts_what_it_pages(db: Database) -> None:
    await _rows(db, 7)
    query = select(ClockEpoch).where(ClockEpoch.sim_at > 4).order_by(ClockEpoch.id)
    async with db.read() as session:
        rows, total = await page(session, query, limit=2, offset=0)
        assert [r.id for r in rows] == [5, 6] and total == 3
        # The total ignores any paging the query already had.
        assert await count(session, query.limit(1).offset(2)) == 3


async def test_an_empty_table_is_an_empty_page(db: Database) -> None:
    async with db.read() as session:
        assert await page(session, select(ClockEpoch), limit=100, offset=0) == ([], 0)


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (-1, 0), (10, -1)])
async def test_a_page_out_of_bounds_is_refused(sqlite_url: str, limit: int, offset: int) -> None:
    database = Database(sqlite_url)
    try:
        async with database.read() as session:
            with pytest.raises(ValueError, match="limit >= 1 and offset >= 0"):
                await page(session, select(ClockEpoch), limit=limit, offset=offset)
    finally:
        await database.dispose()
