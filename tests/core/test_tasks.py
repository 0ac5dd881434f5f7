"""Stopping background tasks: a cancellation swallowed once (Python 3.11's `wait_for` can drop
one) must not leave a component's stop waiting for ever."""

from __future__ import annotations

import asyncio

import pytest

from hcp.core import tasks
from hcp.core.tasks import cancel_tasks, wait_event


async def test_a_task_that_swallows_its_first_cancellation_is_cancelled_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "RECANCEL_S", 0.05)
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                swallowed += 1
                if swallowed > 1:
                    raise

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_tasks([task]), timeout=5)
    assert task.cancelled() and swallowed == 2


async def test_a_task_that_failed_earlier_does_not_stop_the_others_being_awaited() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    failed, sleeper = asyncio.create_task(fails()), asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    await cancel_tasks([failed, sleeper])
    assert failed.done() and sleeper.cancelled()


async def test_wait_event_says_whether_the_event_came() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_event(event, 5) is True


async def test_a_cancellation_arriving_as_the_event_is_set_still_stops_the_waiter() -> None:
    """The case 3.11's wait_for gets wrong: the waiter is cancelled in the same loop turn the
    event is set. The loop below must end with the task cancelled, never run on."""
    for _ in range(50):
        event, rounds = asyncio.Event(), 0

        async def loop(event: asyncio.Event = event) -> None:
            nonlocal rounds
            while True:
                await wait_event(event, 3600)
                event.clear()
                rounds += 1

        task = asyncio.create_task(loop())
        await asyncio.sleep(0)
        event.set()
        task.cancel()
        await asyncio.sleep(0.001)
        assert task.cancelled(), f"the loop ran on after its cancellation ({rounds} rounds)"
