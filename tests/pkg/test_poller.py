"""The periodic task shared by hosts, loadbalance and reload, stepped by an injected sleep."""

from __future__ import annotations

import asyncio

from kdns.pkg.poller import Poller
from kdns.testing import StepSleep


async def test_ticks_after_each_sleep_until_stopped() -> None:
    """tick runs once after every sleep of ``every`` seconds; stop() cancels the loop and clears ``task``."""
    sleep = StepSleep()
    ticks: list[int] = []

    async def tick() -> None:
        ticks.append(len(ticks))

    p = Poller(tick, 7.0, name="test-poller", sleep=sleep)
    p.start()
    task = p.task
    assert task is not None
    assert task.get_name() == "test-poller"
    assert await sleep.next_delay() == 7.0
    assert ticks == []
    sleep.step()
    assert await sleep.next_delay() == 7.0
    assert ticks == [0]
    p.start()  # already running: no second loop
    assert p.task is task
    await p.stop()
    assert p.task is None
    assert task.cancelled()
    assert ticks == [0]


async def test_tick_returning_true_ends_the_loop() -> None:
    """A tick that returns True ends the loop without a further sleep."""
    sleep = StepSleep()

    async def tick() -> bool:
        return True

    p = Poller(tick, 1.0, name="test-poller", sleep=sleep)
    p.start()
    task = p.task
    assert task is not None
    assert await sleep.next_delay() == 1.0
    sleep.step()
    await asyncio.wait_for(task, 2)
    assert sleep.delays.empty()
    await p.stop()


async def test_stop_from_inside_tick_only_flags() -> None:
    """stop() called by the tick itself does not wait on its own task; the loop ends after that tick."""
    p: Poller
    calls = 0

    async def tick() -> bool:
        nonlocal calls
        calls += 1
        await p.stop()
        return False

    p = Poller(tick, 0.0, name="test-poller")
    p.start()
    task = p.task
    assert task is not None
    await asyncio.wait_for(task, 2)
    assert task.exception() is None
    assert calls == 1
    assert p.task is None
