"""The suite's one way to wait: poll a condition until it holds or a deadline passes.

`await eventually(lambda: len(seen) == 3)` returns the condition's value once it is truthy. The
condition may be async, and may raise `AssertionError` (or `LookupError`, `StopIteration`: "not
there yet") to mean "not yet"; on timeout the last such error, or a plain AssertionError naming
`what`, is raised, so a failing test says what it waited for. `eventually_blocking` is the same
for synchronous tests (a subprocess coming up), which must not await.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

NOT_YET = (AssertionError, LookupError, StopIteration)


def _timed_out(condition: Callable[..., Any], timeout: float, what: str, last: BaseException | None) -> AssertionError:
    message = f"not within {timeout:g} s: {what or getattr(condition, '__name__', 'condition')}"
    if last is not None:
        error = AssertionError(f"{message} ({type(last).__name__}: {last})")
        error.__cause__ = last
        return error
    return AssertionError(message)


async def eventually(
    condition: Callable[[], T | Awaitable[T]], timeout: float = 10.0, *, what: str = "", interval: float = 0.02,
) -> T:
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value: Any = condition()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value  # type: ignore[no-any-return]
            last = None
        except NOT_YET as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise _timed_out(condition, timeout, what, last)
        await asyncio.sleep(interval)


def eventually_blocking(
    condition: Callable[[], T], timeout: float = 10.0, *, what: str = "", interval: float = 0.05,
    not_yet: tuple[type[BaseException], ...] = (),
) -> T:
    """`eventually` for synchronous code; `not_yet` adds errors that also mean "not yet" (a
    connection refused while a server starts)."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
            last = None
        except (*NOT_YET, *not_yet) as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise _timed_out(condition, timeout, what, last)
        time.sleep(interval)
