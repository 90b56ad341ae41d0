"""The prometheus handler: records each query of its block in the core DNS metrics."""

from __future__ import annotations

from dataclasses import dataclass

import dns.message

from kdns import metrics
from kdns.errors import PluginError
from kdns.plugin import Handler, client_wrote, next_or_failure
from kdns.request import Request
from kdns.writer import Recorder, ResponseWriter

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

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        rec = MetricsRecorder(w, req)
        try:
            status = await next_or_failure(NAME, self.next, rec, req)
        except PluginError as e:
            _report(req, rec, e.rcode)
            raise
        _report(req, rec, status)
        return status


def _report(req: Request, rec: MetricsRecorder, status: int) -> None:
    # An error rcode returned means the server writes that reply after us: count that rcode.
    rcode = rec.rcode if client_wrote(status) else status
    metrics.report(
        req.server,
        req.zone,
        req.view,
        req.proto,
        req.family_label,
        req.qtype,
        req.do,
        req.wire_len,
        rcode,
        rec.plugin,
        rec.len,
        rec.start,
    )
