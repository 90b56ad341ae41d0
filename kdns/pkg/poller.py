"""A periodic task: await a coroutine function every N seconds, between ``start()`` and ``stop()``.

Used by plugins that re-read files (hosts, loadbalance weights) or watch the Corefile (reload).
``sleep`` is injectable so tests step the loop by hand instead of waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

Sleep = Callable[[float], Awaitable[None]]


class Poller:
    """Awaits ``tick()`` after each ``sleep(every)``, until ``stop()`` or until ``tick`` returns True.

    ``tick`` handles its own errors: one it lets through ends the loop.
    """

    __slots__ = ("_stopped", "every", "name", "sleep", "task", "tick")

    def __init__(
        self, tick: Callable[[], Awaitable[object]], every: float, *, name: str, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.tick = tick
        self.every = every
        self.name = name
        self.sleep = sleep
        #: the running loop, None before ``start`` and after ``stop``
        self.task: asyncio.Task[None] | None = None
        self._stopped = False

    def start(self) -> None:
        """Start the loop in a task named ``name`` (nothing when it runs already)."""
        if self.task is None:
            self._stopped = False
            self.task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """End the loop and wait for it. Called from inside ``tick`` it only flags: the loop ends after it."""
        self._stopped = True
        task, self.task = self.task, None
        if task is None or task is asyncio.current_task():
            return
        task.cancel()
        await asyncio.wait([task])

    async def _run(self) -> None:
        while not self._stopped:
            await self.sleep(self.every)
            if self._stopped or await self.tick():
                return
