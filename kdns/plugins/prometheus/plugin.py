"""The prometheus handler: records each query of its block in the core DNS metrics."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dns.message

from kdns import metrics
from kdns.errors import PluginError
from kdns.plugin import Handler, WireCache, client_wrote, next_or_failure
from kdns.request import Request
from kdns.writer import Recorder, ResponseWriter

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery

NAME = "prometheus"


class MetricsRecorder(Recorder):
    """A Recorder that also notes which plugin wrote the reply (``req.plugin`` at write time)."""

    __slots__ = ("plugin", "req")

    def __init__(self, inner: ResponseWriter, req: Request) -> None:
        super().__init__(inner)
        self.req = req
        #: the plugin that wrote the reply; '' while nothing was written
        self.plugin = ""

    async def write_msg(self, msg: dns.message.Message) -> int:
        self.plugin = self.req.plugin
        self.msg = msg
        # the rcode as an int, extended bits included, without dnspython's enum conversion
        self.rcode = (msg.flags & 0xF) | ((msg.ednsflags >> 20) & 0xFF0)
        n = await self.inner.write_msg(msg)
        self.len += n
        return n


@dataclass(slots=True)
class Prometheus:
    next: Handler | None = None
    name: str = NAME
    #: the ``plugin`` label of cache hits answered from bytes: the cache's name, found at the first hit
    wire_writer: str = field(default="", init=False, repr=False, compare=False)

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        rec = MetricsRecorder(w, req)
        try:
            status = await next_or_failure(NAME, self.next, rec, req)
        except PluginError as e:
            _report(req, rec, e.rcode)
            raise
        _report(req, rec, status)
        return status

    def wire_pass(self, q: WireQuery) -> bool:
        return True

    def wire_done(self, q: WireQuery, reply: bytearray, rcode: int) -> None:
        """Record the reply as the full path does: a cache hit written by the cache, a miss by forward."""
        writer = q.writer or self.wire_writer or self._find_cache()
        metrics.report(
            q.server,
            q.zone,
            q.view,
            q.proto,
            "2" if q.family == socket.AF_INET6 else "1",
            q.qtype,
            q.do,
            len(q.wire),
            rcode,
            writer,
            len(reply),
            q.start,
        )

    def _find_cache(self) -> str:
        """The name of the first wire cache down the chain (the plugin the full path would label)."""
        h = self.next
        while h is not None and not isinstance(h, WireCache):
            h = getattr(h, "next", None)
        self.wire_writer = h.name if h is not None else ""
        return self.wire_writer


def _report(req: Request, rec: MetricsRecorder, status: int) -> None:
    # An error rcode returned means the server writes that reply after us: count that rcode.
    rcode = rec.rcode if client_wrote(status) else status
    metrics.report_request(req, req.zone, rcode, rec.plugin, rec.len, rec.start)
