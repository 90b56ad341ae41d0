"""Writers and handlers for tests that call one plugin directly."""

from __future__ import annotations

from dataclasses import dataclass

import dns.message
import dns.rcode

from kdns.errors import PluginError
from kdns.plugin import Handler, next_or_failure
from kdns.request import Request
from kdns.writer import Recorder, ResponseWriter

__all__ = ["FakeWriter", "PassThrough", "Recorder", "error_handler", "next_handler"]


class FakeWriter:
    """A writer that keeps the last message; client 10.240.0.1:40212 as in CoreDNS's tests."""

    def __init__(self, proto: str = "udp", remote: tuple[str, int] = ("10.240.0.1", 40212)) -> None:
        self.remote = remote
        self.local = ("127.0.0.1", 53)
        self.proto = proto
        self.msg: dns.message.Message | None = None
        self.written = False

    async def write_msg(self, msg: dns.message.Message) -> int:
        self.msg = msg
        self.written = True
        return len(msg.to_wire())


@dataclass(slots=True)
class PassThrough:
    """A plugin with no wire form that hands every query to the next one (it turns the fast path off)."""

    next: Handler | None = None
    name: str = "plain"

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        return await next_or_failure(self.name, self.next, w, req)


class _Next:
    def __init__(self, rcode: int, msg: str | None) -> None:
        self.rcode = rcode
        self.msg = msg
        self.name = "test"
        self.calls = 0

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        self.calls += 1
        if self.msg is not None:
            raise PluginError("test", self.msg, self.rcode)
        if self.rcode not in (dns.rcode.SERVFAIL, dns.rcode.REFUSED, dns.rcode.FORMERR, dns.rcode.NOTIMP):
            reply = req.reply()
            reply.set_rcode(dns.rcode.Rcode.make(self.rcode))
            await w.write_msg(reply)
        return self.rcode


def next_handler(rcode: int = dns.rcode.NOERROR) -> Handler:
    """A next plugin that writes an empty reply with ``rcode`` (or writes nothing for error rcodes)."""
    return _Next(rcode, None)


def error_handler(msg: str = "test error", rcode: int = dns.rcode.SERVFAIL) -> Handler:
    """A next plugin that fails with ``PluginError(msg, rcode)``."""
    return _Next(rcode, msg)
