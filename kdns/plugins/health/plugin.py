"""The health endpoint, its once-a-second self-probe and the lameduck delay."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import aiohttp
from aiohttp import web

from kdns.log import plugin_logger
from kdns.plugins.health import metrics

NAME = "health"
PATH = "/health"
#: seconds between self-probes, and the probe's own timeout
PROBE_INTERVAL = 1.0
PROBE_TIMEOUT = 3.0
#: a local probe slower than this is worth a warning
SLOW = 1.0

log = plugin_logger(NAME)


class Health:
    """Serves ``/health``, probes it every second, and sleeps ``lameduck`` seconds before the process stops."""

    def __init__(self, addr: str, lameduck: float, url: Callable[[], str]) -> None:
        self.addr = addr
        self.lameduck = lameduck
        #: where the probe finds our own endpoint (the port is known only once the site is bound)
        self.url = url
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._lameduck_done = False

    async def handle(self, request: web.Request) -> web.Response:
        """GET /health: 200 "OK" for as long as the process runs, lameduck included."""
        return web.Response(text="OK")

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT), trust_env=False
        )  # trust_env=False: never through a proxy
        self._task = asyncio.create_task(self._probe_loop(), name="health-probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def enter_lameduck(self) -> None:
        """Process stop only: keep serving DNS (and /health) for ``lameduck`` seconds."""
        if self.lameduck <= 0 or self._lameduck_done:
            return
        self._lameduck_done = True
        log.info("Going into lameduck mode for %s", _fmt(self.lameduck))
        await asyncio.sleep(self.lameduck)

    # -- self-probe ----------------------------------------------------------------------

    async def _probe_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + PROBE_INTERVAL
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at += PROBE_INTERVAL
            await self.probe()

    async def probe(self) -> bool:
        """GET our own /health once; observe how long it took, count a failure. True when it answered."""
        url = "?"
        start = time.monotonic()
        try:
            url = self.url()
            if self._session is None:
                raise RuntimeError("health plugin not started")
            async with self._session.get(url) as resp:
                await resp.read()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            metrics.REQUEST_DURATION.observe(time.monotonic() - start)
            metrics.REQUEST_FAILURES.inc()
            log.warning("Local health request to %r failed: %s", url, e or type(e).__name__)
            return False
        elapsed = time.monotonic() - start
        metrics.REQUEST_DURATION.observe(elapsed)
        if elapsed > SLOW:
            log.warning("Local health request to %r took more than 1s: %s", url, _fmt(elapsed))
        return True


def _fmt(seconds: float) -> str:
    return f"{seconds:g}s"
