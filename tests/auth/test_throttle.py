"""The login throttle's counters in the database: backoff doubling to a cap, quiet counters
forgotten, a success taking back only its own count from the address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hcp.auth import throttle
from hcp.auth.models import LoginThrottle
from hcp.core.db import Database, utcnow
from hcp.core.errors import TooManyRequests
from hcp.core.settings import AuthSettings

SETTINGS = AuthSettings(login_failures_per_account_address=3, login_failures_per_account=10,
                        login_failures_per_address=4, login_backoff_s=30, login_backoff_max_s=300)



def test_backoff_doubles_up_to_the_cap() -> None:
    waits = [throttle.backoff(n, 3, SETTINGS).total_seconds() for n in range(3, 10)]
    assert waits == [30, 60, 120, 240, 300, 300, 300]
    assert throttle.backoff(10_000, 3, SETTINGS) == timedelta(seconds=300)


async def test_counters_block_forget_and_give_back(db: Database) -> None:
    now = utcnow()
    keys = throttle.keys_for(email="a@x.com", address="10.0.0.1", settings=SETTINGS)
    for _ in range(3):
        async with db.transaction() as session:
            await throttle.begin_attempt(session, keys=keys, settings=SETTINGS, now=now)
    with pytest.raises(TooManyRequests) as blocked:
        async with db.transaction() as session:
            await throttle.begin_attempt(session, keys=keys, settings=SETTINGS, now=now)
    assert blocked.value.retry_after_s == 30
    # Once the wait is over: one more try, and this time the password is right.
    later = now + timedelta(seconds=31)
    async with db.transaction() as session:
        await throttle.begin_attempt(session, keys=keys, settings=SETTINGS, now=later)
        await throttle.attempt_succeeded(session, keys=keys)
    async with db.session() as session:
        rows = {r.kind: r for r in (await session.execute(select(LoginThrottle))).scalars()}
    assert set(rows) == {"address"} and rows["address"].failures == 3 and rows["address"].blocked_until is None

    # Another account from elsewhere, long after: the quiet address counter is forgotten.
    much_later = now + timedelta(seconds=SETTINGS.login_window_s + 1)
    other = throttle.keys_for(email="b@x.com", address="10.0.0.2", settings=SETTINGS)
    async with db.transaction() as session:
        await throttle.begin_attempt(session, keys=other, settings=SETTINGS, now=much_later)
    async with db.session() as session:
        kinds = sorted((r.kind, r.failures) for r in (await session.execute(select(LoginThrottle))).scalars())
    assert kinds == [("account", 1), ("account_address", 1), ("address", 1)]
