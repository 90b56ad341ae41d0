"""UDP adapter: datagram -> Request -> task running the server -> sendto. No DNS rules here."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import cast

import dns.message
import dns.rcode

from kdns.core.fastpath import PENDING, WireQuery
from kdns.core.state import ListenerState, plain_addr
from kdns.core.wire import PARSE_ERRORS, finalize, header_reply, parse_query, precheck
from kdns.request import Request


class UDPWriter:
    """Renders the reply for its request (OPT mirror, truncation) and sends one datagram."""

    __slots__ = ("addr", "local", "proto", "remote", "req", "transport", "written")

    def __init__(
        self,
        transport: asyncio.DatagramTransport,
        addr: tuple[str, int],
        remote: tuple[str, int],
        local: tuple[str, int],
        req: Request,
    ) -> None:
        self.transport = transport
        self.addr = addr
        self.remote = remote
        self.local = local
        self.proto = "udp"
        self.req = req
        self.written = False

    async def write_msg(self, msg: dns.message.Message) -> int:
        wire = finalize(self.req, msg)
        self.written = True
        if not self.transport.is_closing():
            self.transport.sendto(wire, self.addr)
        return len(wire)


class UDPProtocol(asyncio.DatagramProtocol):
    """Datagram in, task out; a full listener (``max_inflight``) drops the query as an overloaded server would.

    The server's wire path answers cache hits at once and may leave a miss pending on an upstream;
    its reply then comes back through ``reply`` (or ``full``, to take the task way after all).
    """

    def __init__(self, state: ListenerState) -> None:
        self.state = state
        self.transport: asyncio.DatagramTransport | None = None
        self.local: tuple[str, int] = ("", 0)
        #: an IPv4 socket: its peer addresses are plain (ip, port) already
        self.v4 = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # uvloop's are not subclasses
        self.local = plain_addr(transport.get_extra_info("sockname"))
        sock = transport.get_extra_info("socket")
        self.v4 = sock is not None and sock.family == socket.AF_INET

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        transport = self.transport
        state = self.state
        server = state.server
        if transport is None or server is None or not state.accepting:
            return
        remote = addr if self.v4 else plain_addr(addr)
        if server.fast is not None and (out := server.fast(data, remote, "udp", self, addr)) is not None:
            if out is PENDING:
                state.hold()  # a miss sent upstream: ``reply`` sends its answer
            else:
                transport.sendto(out, addr)  # a cache hit, answered from bytes
            return
        code = precheck(data)
        if code is not None:
            if code >= 0 and (reply := header_reply(data, code)) is not None:
                transport.sendto(reply, addr)
            return
        if len(state.tasks) >= state.limits.max_inflight:
            state.dropped += 1
            return
        try:
            msg = parse_query(data)
        except PARSE_ERRORS:
            if (reply := header_reply(data, dns.rcode.FORMERR)) is not None:
                transport.sendto(reply, addr)
            return
        self._serve(msg, data, addr, None)

    def _serve(
        self, msg: dns.message.Message, data: bytes, addr: tuple[str, int], upstream: bytes | None, spent: float = 0.0
    ) -> None:
        state = self.state
        server = state.server
        transport = self.transport
        if server is None or transport is None:
            return
        remote = plain_addr(addr)
        req = Request(msg, remote=remote, local=self.local, proto="udp", wire_len=len(data))
        req.upstream = upstream
        req.spent = spent
        w = UDPWriter(transport, addr, remote, self.local, req)
        state.spawn(server.serve(w, req))

    # -- a pending miss of the wire path ------------------------------------------------

    def reply(self, q: WireQuery, out: bytearray) -> None:
        self.state.release()
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.sendto(out, q.addr)

    def full(self, q: WireQuery, upstream: bytes | None) -> None:
        self.state.release()
        try:
            msg = parse_query(q.wire)
        except PARSE_ERRORS:
            return  # the wire path parsed it already: cannot happen
        self._serve(msg, q.wire, q.addr, upstream, time.monotonic() - q.start)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP errors for earlier replies: nothing to do
