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
from kdns.pkg.poller import Poller, Sleep
from kdns.plugins.reload import metrics

NAME = "reload"
log = plugin_logger(NAME)


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
        self.rand = rand
        self.digest = ""
        #: checks every ``period`` (drawn at ``start``) until stopped or a reload worked
        self.poller = Poller(self._tick, interval, name="reload", sleep=sleep)

    @property
    def period(self) -> float:
        """Seconds between checks for this instance: the interval moved by up to +/- jitter."""
        return max(0.0, self.interval + (self.rand(-self.jitter, self.jitter) if self.jitter else 0.0))

    async def start(self) -> None:
        self.digest = await asyncio.to_thread(file_digest, self.files)
        metrics.set_version(self.digest)
        log.info("Running configuration SHA512 = %s", self.digest)
        self.poller.every = self.period
        self.poller.start()

    async def stop(self) -> None:
        """Stop polling. Called from inside the loop (its own reload shut it down) it only flags."""
        await self.poller.stop()

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

    async def _tick(self) -> bool:
        """One poll of the loop; True (the loop ends) once a reload worked: the new instance polls from now on."""
        try:
            return bool(await self.check())
        except Exception:
            log.exception("reload check failed")
            return False
