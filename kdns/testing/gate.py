"""A test plugin that holds queries in the chain until the test lets them go."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from kdns.plugin import Handler, next_or_failure
from kdns.request import Request
from kdns.testing.instance import chain_plugin
from kdns.writer import ResponseWriter


@dataclass
class Gate:
    """Shared by the test and its plugin: names starting with 'slow' wait until ``release`` is set."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    #: queries waiting now, the most that waited at once, and all that arrived
    waiting: int = 0
    max_waiting: int = 0
    arrived: int = 0


@dataclass(slots=True)
class GatePlugin:
    """Holds 'slow*' names at ``gate``, then hands every query to the next plugin."""

    gate: Gate
    next: Handler | None
    name: str = "gate"

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        if req.qname.startswith("slow"):
            g = self.gate
            g.arrived += 1
            g.waiting += 1
            g.max_waiting = max(g.max_waiting, g.waiting)
            try:
                await g.release.wait()
            finally:
                g.waiting -= 1
        return await next_or_failure(self.name, self.next, w, req)


@contextlib.contextmanager
def gate_plugin(name: str = "gate") -> Iterator[Gate]:
    """Directive ``name`` (no arguments, before whoami) runs a ``GatePlugin`` on the Gate yielded."""
    g = Gate()
    with chain_plugin(name, lambda nxt: GatePlugin(g, nxt, name)):
        yield g
