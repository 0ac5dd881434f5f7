"""Background tasks of a component, stopped together: cancel all first, then wait for each."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any


async def cancel_tasks(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel every task, then await each so it finishes its clean-up; a task that failed
    earlier does not stop the others from being awaited."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
