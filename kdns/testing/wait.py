"""Waiting on state that has no event to await: poll a condition with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(cond: Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``cond()`` until true; AssertionError when ``within`` seconds pass first."""
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


class StepSleep:
    """An injectable ``sleep`` for periodic tasks: records each delay, then waits for the test's ``step()``."""

    def __init__(self) -> None:
        self.delays: asyncio.Queue[float] = asyncio.Queue()
        self._go = asyncio.Event()

    async def __call__(self, delay: float) -> None:
        self.delays.put_nowait(delay)
        await self._go.wait()
        self._go.clear()

    def step(self) -> None:
        """Let the sleeping task go on (once)."""
        self._go.set()

    async def next_delay(self, within: float = 2.0) -> float:
        """The delay of the next sleep the task enters: it is waiting there when this returns."""
        return await asyncio.wait_for(self.delays.get(), within)
