"""Upstream health: a sans-I/O state machine and the async probe loop that drives it.

A query's network error starts a probe loop for that upstream (unless one runs already). The loop
probes at once, then every interval, until a probe gets any reply; each failed probe counts one
fail. The upstream is down while its consecutive failed probes exceed ``max_fails``; a good probe
resets the count and ends the loop. ``max_fails`` 0: never down, never probed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from kdns.log import plugin_logger

log = plugin_logger("forward")


class HealthState:
    """Consecutive failed probes of one upstream and whether a probe loop runs."""

    __slots__ = ("fails", "max_fails", "probing")

    def __init__(self, max_fails: int) -> None:
        self.max_fails = max_fails
        self.fails = 0
        self.probing = False

    @property
    def down(self) -> bool:
        return self.max_fails > 0 and self.fails > self.max_fails

    def on_error(self) -> bool:
        """A query to the upstream failed on the network: True when a probe loop must start now."""
        if self.max_fails == 0 or self.probing:
            return False
        self.probing = True
        return True

    def on_probe(self, ok: bool) -> bool:
        """Record a probe's outcome: True when the loop must probe again after the interval."""
        if ok:
            self.fails = 0
            self.probing = False
            return False
        self.fails += 1
        return True

    def stopped(self) -> None:
        """The probe loop ended without a good probe (shutdown): a later error may start one again."""
        self.probing = False


Probe = Callable[[], Awaitable[bool]]


class HealthChecker:
    """Runs the probe loop of one upstream as a task while the upstream is unhealthy."""

    __slots__ = ("_task", "interval", "name", "on_fail", "probe", "state")

    def __init__(
        self, state: HealthState, probe: Probe, interval: float, name: str, on_fail: Callable[[], None]
    ) -> None:
        self.state = state
        self.probe = probe
        self.interval = max(interval, 0.01)
        self.name = name
        self.on_fail = on_fail
        self._task: asyncio.Task[None] | None = None

    def trigger(self) -> None:
        """Start probing, unless a loop already runs or health checks are off."""
        if self.state.on_error():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"forward-health-{self.name}")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        state = self.state
        try:
            while True:
                try:
                    ok = await self.probe()
                except Exception:  # a bug in a probe must not end the checks silently
                    log.exception("health check of %s failed", self.name)
                    ok = False
                if not ok:
                    self.on_fail()
                if not state.on_probe(ok):
                    return
                if state.fails == state.max_fails + 1:
                    log.warning("upstream %s is down after %d failed health checks", self.name, state.fails)
                await asyncio.sleep(self.interval)
        finally:
            state.stopped()

    async def stop(self) -> None:
        t, self._task = self._task, None
        if t is not None and not t.done():
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
