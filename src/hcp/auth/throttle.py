"""Login throttling in the database, so that every replica of split mode counts the same failures.

Three counters per attempt: the account from this address (strict: stops guessing at one
account), the account from anywhere (a distributed guess), and the address (one source trying
many accounts). Every attempt counts as a failure before the password is checked, so parallel
guesses cannot slip past the limit; a success takes its count back. Past a limit, the key is
blocked for a wait that doubles up to a cap: backoff, never a permanent lockout.

Its time is wall-clock time (`WALL_CLOCK`, injected into the login routes as `LoginClock`): the
platform's clock may run simulated time fast, which would shorten every wait.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.auth.models import LoginThrottle
from hcp.auth.tokens import sha256_hex
from hcp.core.clock import Clock, RealClock
from hcp.core.db import upsert
from hcp.core.errors import TooManyRequests
from hcp.core.settings import AuthSettings

MAX_DOUBLINGS = 20
STALE_BATCH = 100
WALL_CLOCK: Clock = RealClock()


@dataclass(frozen=True)
class ThrottleKey:
    kind: str
    key: str
    limit: int


def keys_for(*, email: str, address: str | None, settings: AuthSettings) -> list[ThrottleKey]:
    where = address or "unknown"
    keys = [
        ThrottleKey("account_address", sha256_hex(f"account_address:{email}|{where}"),
                    settings.login_failures_per_account_address),
        ThrottleKey("account", sha256_hex(f"account:{email}"), settings.login_failures_per_account),
        ThrottleKey("address", sha256_hex(f"address:{where}"), settings.login_failures_per_address),
    ]
    return sorted(keys, key=lambda k: k.key)  # one lock order for every transaction


def backoff(failures: int, limit: int, settings: AuthSettings) -> timedelta:
    doublings = min(max(failures - limit, 0), MAX_DOUBLINGS)
    return timedelta(seconds=min(settings.login_backoff_max_s, settings.login_backoff_s * 2**doublings))


async def begin_attempt(
    session: AsyncSession, *, keys: list[ThrottleKey], settings: AuthSettings, now: datetime
) -> None:
    """Refuse (429) a blocked attempt; otherwise count it as a failure until it succeeds."""
    window = timedelta(seconds=settings.login_window_s)
    # Forget counters gone quiet, a few at a time; rows another login holds are skipped, so
    # that this never waits on (or deadlocks with) a concurrent attempt.
    stale = (
        select(LoginThrottle.key).where(
            LoginThrottle.window_started_at < now - window,
            or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now),
        ).limit(STALE_BATCH).with_for_update(skip_locked=True)
    )
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(stale.scalar_subquery())))
    await session.execute(upsert(session, LoginThrottle).values([
        {"key": k.key, "kind": k.kind, "failures": 0, "window_started_at": now} for k in keys
    ]).on_conflict_do_nothing())
    by_key = {k.key: k for k in keys}
    rows = (await session.execute(
        select(LoginThrottle).where(LoginThrottle.key.in_(list(by_key)))
        .order_by(LoginThrottle.key).with_for_update()
    )).scalars().all()
    waits = [(r.blocked_until - now).total_seconds() for r in rows
             if r.blocked_until is not None and r.blocked_until > now]
    if waits:
        raise TooManyRequests("too many failed logins; try again later",
                              retry_after_s=max(1, math.ceil(max(waits))))
    for row in rows:
        limit = by_key[row.key].limit
        if now - row.window_started_at >= window:
            row.failures, row.window_started_at, row.blocked_until = 0, now, None
        row.failures += 1
        if row.failures >= limit:
            row.blocked_until = now + backoff(row.failures, limit, settings)
    await session.flush()


async def attempt_succeeded(session: AsyncSession, *, keys: list[ThrottleKey]) -> None:
    """A correct password clears the account's counters and takes back the address's count."""
    by_key = {k.key: k for k in keys}
    rows = (await session.execute(
        select(LoginThrottle).where(LoginThrottle.key.in_(list(by_key)))
        .order_by(LoginThrottle.key).with_for_update()  # the lock order of begin_attempt
    )).scalars().all()
    for row in rows:
        key = by_key[row.key]
        if key.kind != "address":
            await session.delete(row)
            continue
        row.failures = max(row.failures - 1, 0)
        if row.failures < key.limit:
            row.blocked_until = None
    await session.flush()
