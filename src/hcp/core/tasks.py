"""Background tasks of a component, stopped together: cancel all first, then wait for each.

Python 3.11's `asyncio.wait_for` returns the inner result and drops a cancellation that arrives
just as the inner awaitable finishes (fixed in 3.12). A loop that waits that way can miss the
cancel meant to stop it and run on, so that stopping it waits for ever: `wait_event` waits
without that flaw, and `cancel_tasks` asks again until each task has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

RECANCEL_S = 5.0  # how long a cancelled task has to end before it is asked again


async def wait_event(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait until `event` is set or `timeout_s` pass; True if it was set. A cancellation of the
    caller always propagates."""
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def cancel_tasks(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel every task, then await each so it finishes its clean-up; a task that failed
    earlier does not stop the others from being awaited, and one that swallowed its
    cancellation is cancelled again."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    for task in pending:
        while not task.done():
            done, _ = await asyncio.wait({task}, timeout=RECANCEL_S)
            if not done:
                task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            task.result()
