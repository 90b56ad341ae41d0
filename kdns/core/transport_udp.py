"""UDP adapter: datagram -> Request -> task running the server -> sendto. No DNS rules here."""

from __future__ import annotations

import asyncio
from typing import cast

import dns.message
import dns.rcode

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
    """Datagram in, task out; a full listener (``max_inflight``) drops the query as an overloaded server would."""

    def __init__(self, state: ListenerState) -> None:
        self.state = state
        self.transport: asyncio.DatagramTransport | None = None
        self.local: tuple[str, int] = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # uvloop's are not subclasses
        self.local = plain_addr(transport.get_extra_info("sockname"))

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        transport = self.transport
        state = self.state
        server = state.server
        if transport is None or server is None or not state.accepting:
            return
        if server.fast is not None and (out := server.fast(data, plain_addr(addr), "udp")) is not None:
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
        remote = plain_addr(addr)
        req = Request(msg, remote=remote, local=self.local, proto="udp", wire_len=len(data))
        w = UDPWriter(transport, addr, remote, self.local, req)
        state.spawn(server.serve(w, req))

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP errors for earlier replies: nothing to do
