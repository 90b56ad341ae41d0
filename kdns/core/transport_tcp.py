"""TCP adapter: 2-byte framing, pipelined queries answered as they complete, read/idle timeouts."""

from __future__ import annotations

import asyncio
import struct
from typing import cast

import dns.exception
import dns.message
import dns.rcode

from kdns.core.state import ListenerState, plain_addr
from kdns.core.wire import finalize, header_reply, precheck
from kdns.request import Request

READ_TIMEOUT = 3.0
IDLE_TIMEOUT = 10.0
#: queries in flight on one connection before reading pauses
MAX_PIPELINE = 128
_LEN = struct.Struct("!H")


class TCPWriter:
    __slots__ = ("conn", "local", "proto", "remote", "req", "written")

    def __init__(self, conn: TCPProtocol, req: Request) -> None:
        self.conn = conn
        self.remote = conn.remote
        self.local = conn.local
        self.proto = "tcp"
        self.req = req
        self.written = False

    async def write_msg(self, msg: dns.message.Message) -> int:
        wire = finalize(self.req, msg)
        self.written = True
        self.conn.send(wire)
        return len(wire)


class TCPProtocol(asyncio.Protocol):
    def __init__(
        self, state: ListenerState, *, read_timeout: float = READ_TIMEOUT, idle_timeout: float = IDLE_TIMEOUT
    ) -> None:
        self.state = state
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self.transport: asyncio.Transport | None = None
        self.remote: tuple[str, int] = ("", 0)
        self.local: tuple[str, int] = ("", 0)
        self.buf = bytearray()
        self.inflight = 0
        self.paused = False
        self.timer: asyncio.TimerHandle | None = None
        self.loop = asyncio.get_running_loop()

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self.transport = transport
        if len(self.state.connections) >= self.state.max_connections or self.state.server is None:
            transport.abort()
            return
        self.state.connections.add(self)
        self.remote = plain_addr(transport.get_extra_info("peername"))
        self.local = plain_addr(transport.get_extra_info("sockname"))
        self._arm(self.idle_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.connections.discard(self)
        if self.timer:
            self.timer.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        buf = self.buf
        while len(buf) >= 2:
            (n,) = _LEN.unpack_from(buf)
            if len(buf) < 2 + n:
                break
            frame = bytes(buf[2 : 2 + n])
            del buf[: 2 + n]
            self._frame(frame)
            if self.transport is None:
                return
        self._arm(self.read_timeout if buf else self.idle_timeout)

    # -- private ----------------------------------------------------------------------

    def _arm(self, delay: float) -> None:
        if self.timer:
            self.timer.cancel()
        self.timer = self.loop.call_later(delay, self._timeout)

    def _timeout(self) -> None:
        if self.inflight and not self.buf:
            self._arm(self.idle_timeout)  # answers still coming: not idle
            return
        if self.transport is not None:
            self.transport.close()

    def send(self, wire: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_LEN.pack(len(wire)) + wire)

    def close(self) -> None:
        """Stop reading new queries; close once the in-flight ones are answered."""
        if self.transport is not None and not self.inflight:
            self.transport.close()

    def _frame(self, frame: bytes) -> None:
        state = self.state
        code = precheck(frame)
        if code is not None:
            if code >= 0 and (reply := header_reply(frame, code)) is not None:
                self.send(reply)
            elif code < 0 and self.transport is not None:
                self.transport.close()  # not DNS: hang up
            return
        try:
            msg = dns.message.from_wire(frame)
        except (dns.exception.DNSException, ValueError, IndexError, UnicodeError):
            if (reply := header_reply(frame, dns.rcode.FORMERR)) is not None:
                self.send(reply)
            return
        server = state.server
        if server is None:
            return
        req = Request(msg, remote=self.remote, local=self.local, proto="tcp", wire_len=len(frame))
        self.inflight += 1
        if self.inflight >= MAX_PIPELINE and self.transport is not None and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        task = state.spawn(server.serve(TCPWriter(self, req), req))
        task.add_done_callback(self._answered)

    def _answered(self, _: asyncio.Task[None]) -> None:
        self.inflight -= 1
        if self.paused and self.inflight < MAX_PIPELINE // 2 and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
