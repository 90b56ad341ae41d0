"""Per-listener state shared by its transports: limits, the current server, in-flight tasks, connections."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kdns.log import logger

if TYPE_CHECKING:
    from kdns.core.server import Server
    from kdns.core.transport_tcp import TCPProtocol

log = logger("server")


@dataclass(frozen=True, slots=True)
class Limits:
    """Transport limits of a listener (CoreDNS's defaults; tests shorten the timeouts)."""

    #: seconds to receive a whole TCP frame once its first byte arrived
    read_timeout: float = 3.0
    #: seconds a TCP connection may sit with nothing to read and nothing to answer
    idle_timeout: float = 10.0
    #: open TCP connections; more are closed at once
    max_connections: int = 10000
    #: queries in flight on the listener; UDP queries beyond it are dropped
    max_inflight: int = 10000
    #: queries in flight on one TCP connection before it stops reading
    max_pipeline: int = 128
    #: seconds stop and reload wait for queries in flight
    grace: float = 5.0


def plain_addr(addr: Any) -> tuple[str, int]:
    """(ip, port) with IPv4-mapped IPv6 addresses shown as IPv4."""
    host, port = addr[0], addr[1]
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return host, port


class ListenerState:
    """What the UDP and TCP sides of one listener share; the Runner swaps ``server`` on reload."""

    def __init__(self, server: Server | None = None, limits: Limits | None = None) -> None:
        self.server = server
        self.limits = limits or Limits()
        self.tasks: set[asyncio.Task[None]] = set()
        self.connections: set[TCPProtocol] = set()
        #: UDP queries dropped because ``max_inflight`` was reached
        self.dropped = 0
        #: False once the listener is stopping: new queries are ignored
        self.accepting = True
        #: cache misses waiting for an upstream on the wire path (no task of their own)
        self.pending = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._done)
        return task

    def hold(self) -> None:
        """A miss went upstream on the wire path: count it as in flight."""
        self.pending += 1
        self._idle.clear()

    def release(self) -> None:
        """A pending miss was answered (or handed to a task)."""
        self.pending -= 1
        if not self.pending and not self.tasks:
            self._idle.set()

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not self.tasks and not self.pending:
            self._idle.set()
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("query task failed: %r", exc)

    async def drain(self, timeout: float) -> None:
        """Wait until no query is in flight, at most ``timeout`` seconds; then cancel the rest."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            n = len(self.tasks) + self.pending
            log.warning("%d queries still in flight after %.1fs: cancelled", n, timeout)
            for t in list(self.tasks):
                t.cancel()
