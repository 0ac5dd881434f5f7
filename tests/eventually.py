"""The suite's one way to wait: poll a condition until it holds or a deadline passes.

`await eventually(lambda: len(seen) == 3)` returns the condition's value once it is truthy. The
condition may be async, and may raise `AssertionError` (or `LookupError`, `StopIteration`: "not
there yet") to mean "not yet"; on timeout the last such error, or a plain AssertionError naming
`what`, is raised, so a failing test says what it waited for.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

NOT_YET = (AssertionError, LookupError, StopIteration)


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
            message = f"not within {timeout:g} s: {what or getattr(condition, '__name__', 'condition')}"
            if last is not None:
                raise AssertionError(f"{message} ({type(last).__name__}: {last})") from last
            raise AssertionError(message)
        await asyncio.sleep(interval)
