"""The polling loop: hash the Corefile and its imports, reload the runner when the hash changes.

One loop per instance. A successful reload ends it (the new instance starts its own when its
Corefile still has *reload*); a failed one records the new hash, so the same broken file is not
tried again, and keeps polling.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence

from kdns.core.runner import file_digest
from kdns.log import plugin_logger
from kdns.plugins.reload import metrics

NAME = "reload"
log = plugin_logger(NAME)

Sleep = Callable[[float], Awaitable[None]]


class Reloader:
    def __init__(
        self,
        files: Sequence[str],
        reload: Callable[[], Awaitable[bool]],
        *,
        interval: float = 30.0,
        jitter: float = 15.0,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.files = list(files)
        self.reload = reload
        self.interval = interval
        self.jitter = jitter
        self.sleep = sleep
        self.rand = rand
        self.digest = ""
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def period(self) -> float:
        """Seconds between checks for this instance: the interval moved by up to +/- jitter."""
        return max(0.0, self.interval + (self.rand(-self.jitter, self.jitter) if self.jitter else 0.0))

    async def start(self) -> None:
        self.digest = await asyncio.to_thread(file_digest, self.files)
        metrics.set_version(self.digest)
        log.info("Running configuration SHA512 = %s", self.digest)
        self._stopped = False
        self._task = asyncio.get_running_loop().create_task(self._run(self.period), name="reload")

    async def stop(self) -> None:
        """Stop polling. Called from inside the loop (its own reload shut it down) it only flags."""
        self._stopped = True
        task, self._task = self._task, None
        if task is None or task is asyncio.current_task():
            return
        task.cancel()
        await asyncio.wait([task])

    async def check(self) -> bool | None:
        """One poll: None when nothing changed, else whether the reload worked."""
        digest = await asyncio.to_thread(file_digest, self.files)
        if digest == self.digest:
            return None
        self.digest = digest  # do not retry the same (possibly broken) file
        metrics.set_version(digest)
        ok = await self.reload()
        if not ok:
            metrics.FAILED.inc()
            log.error("Corefile changed but reload failed")
        return ok

    async def _run(self, period: float) -> None:
        while not self._stopped:
            await self.sleep(period)
            if self._stopped:
                return
            try:
                if await self.check():
                    return  # the new instance polls from now on
            except Exception:
                log.exception("reload check failed")
