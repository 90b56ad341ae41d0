"""Per-listener state shared by its transports: the current server, in-flight tasks, connections."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from kdns.log import logger

if TYPE_CHECKING:
    from kdns.core.server import Server

log = logger("server")


def plain_addr(addr: Any) -> tuple[str, int]:
    """(ip, port) with IPv4-mapped IPv6 addresses shown as IPv4."""
    host, port = addr[0], addr[1]
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return host, port


class ListenerState:
    def __init__(
        self, server: Server | None = None, *, max_inflight: int = 10000, max_connections: int = 10000
    ) -> None:
        self.server = server
        self.max_inflight = max_inflight
        self.max_connections = max_connections
        self.tasks: set[asyncio.Task[None]] = set()
        self.connections: set[asyncio.BaseProtocol] = set()
        self.dropped = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not self.tasks:
            self._idle.set()
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("query task failed: %r", exc)

    async def drain(self, timeout: float) -> None:
        """Wait until no query is in flight, at most ``timeout`` seconds; then cancel the rest."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            for t in list(self.tasks):
                t.cancel()
