"""TCP adapter: 2-byte framing, pipelined queries answered as they complete, timeouts, flow control.

No DNS rules here: a frame becomes a Request and a task running the server, like UDP.

Timeouts follow CoreDNS: a frame must arrive whole within ``read_timeout`` of its first byte, and a
connection with nothing to read and nothing to answer closes after ``idle_timeout`` (it is aborted
when the client is not reading its answers). One timer per
connection is pushed back by moving a deadline, not by re-scheduling on every read.

Flow control: a connection stops reading when ``max_pipeline`` of its queries are in flight or when
the client does not read its answers (transport write buffer full), and resumes when both clear.
"""

from __future__ import annotations

import asyncio
import struct
import time
from typing import cast

import dns.message
import dns.rcode

from kdns.core.fastpath import PENDING, WireQuery
from kdns.core.state import ListenerState, plain_addr
from kdns.core.wire import PARSE_ERRORS, finalize, header_reply, parse_query, precheck
from kdns.request import Request

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
    def __init__(self, state: ListenerState) -> None:
        # per listener
        self.state = state
        limits = state.limits
        self.read_timeout = limits.read_timeout
        self.idle_timeout = limits.idle_timeout
        self.max_pipeline = limits.max_pipeline
        self.loop = asyncio.get_running_loop()
        # per connection
        self.transport: asyncio.Transport | None = None
        self.remote: tuple[str, int] = ("", 0)
        self.local: tuple[str, int] = ("", 0)
        self.buf = bytearray()
        #: queries of this connection being answered
        self.inflight = 0
        self.reading = True
        self.write_paused = False
        #: no more queries are taken (EOF, shutdown, timeout); close once the in-flight ones are answered
        self.closing = False
        #: loop time after which the connection is closed; None while answers are pending
        self.deadline: float | None = None
        #: True while ``buf`` holds the start of a frame (its read deadline is running)
        self.partial = False
        self.timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        state = self.state
        if len(state.connections) >= state.limits.max_connections or state.server is None or not state.accepting:
            transport.abort()
            return
        self.transport = transport
        state.connections.add(self)
        self.remote = plain_addr(transport.get_extra_info("peername"))
        self.local = plain_addr(transport.get_extra_info("sockname"))
        self._set_deadline(self.idle_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.transport = None
        self.buf.clear()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.buf += data
        self._process()

    def eof_received(self) -> bool:
        """The client sent all its queries: answer them, then close."""
        self.closing = True
        self.buf.clear()
        return self.inflight > 0  # True keeps the transport open for the answers

    def pause_writing(self) -> None:
        self.write_paused = True
        self._flow()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._process()

    # -- used by writers and the listener ---------------------------------------------

    def send(self, wire: bytes) -> None:
        t = self.transport
        if t is not None and not t.is_closing():
            t.write(_LEN.pack(len(wire)) + wire)

    def close(self) -> None:
        """Take no more queries; close once the in-flight ones are answered (graceful stop)."""
        self.closing = True
        self.buf.clear()
        self._flow()
        if not self.inflight and self.transport is not None:
            self.transport.close()

    # -- private ----------------------------------------------------------------------

    def _process(self) -> None:
        """Start every whole frame in the buffer, as far as flow control allows."""
        buf = self.buf
        while len(buf) >= 2 and self.inflight < self.max_pipeline and not self.write_paused and not self.closing:
            (n,) = _LEN.unpack_from(buf)
            end = 2 + n
            if len(buf) < end:
                break
            frame = bytes(buf[2:end])
            del buf[:end]
            self.partial = False
            self._frame(frame)
        if self.transport is None or self.closing:
            return
        self._flow()
        if not buf:
            self.partial = False
            self._set_deadline(None if self.inflight else self.idle_timeout)
        elif not self.partial and self._waiting_on_client():
            self.partial = True
            self._set_deadline(self.read_timeout)
        elif not self.partial:
            self._set_deadline(None)  # whole frames wait for us, not for the client

    def _waiting_on_client(self) -> bool:
        buf = self.buf
        return len(buf) < 2 or len(buf) < 2 + _LEN.unpack_from(buf)[0]

    def _flow(self) -> None:
        """Pause or resume reading from the socket."""
        t = self.transport
        if t is None:
            return
        want = not self.closing and not self.write_paused and self.inflight < self.max_pipeline
        if want != self.reading:
            self.reading = want
            if want:
                t.resume_reading()
            else:
                t.pause_reading()

    def _set_deadline(self, delay: float | None) -> None:
        if delay is None:
            self.deadline = None
            return
        self.deadline = self.loop.time() + delay
        timer = self.timer
        if timer is None or timer.when() > self.deadline:  # a later deadline only moves the field
            if timer is not None:
                timer.cancel()
            self.timer = self.loop.call_at(self.deadline, self._check_deadline)

    def _check_deadline(self) -> None:
        self.timer = None
        if self.deadline is None or self.transport is None:
            return
        if self.loop.time() < self.deadline:
            self.timer = self.loop.call_at(self.deadline, self._check_deadline)
            return
        if self.write_paused:
            self.transport.abort()  # the client stopped reading its answers: do not wait to flush
            return
        self.close()

    def _frame(self, frame: bytes) -> None:
        server = self.state.server
        if server is not None and server.fast is not None:
            out = server.fast(frame, self.remote, "tcp", self, None)
            if out is PENDING:
                self.inflight += 1  # a miss sent upstream: ``reply`` sends its answer
                self.state.hold()
                return
            if out is not None:
                self.send(bytes(out))  # a cache hit, answered from bytes
                return
        code = precheck(frame)
        if code is not None:
            if code >= 0 and (reply := header_reply(frame, code)) is not None:
                self.send(reply)
            elif code < 0:
                self.close()  # not a DNS query: hang up after what is in flight
            return
        try:
            msg = parse_query(frame)
        except PARSE_ERRORS:
            if (reply := header_reply(frame, dns.rcode.FORMERR)) is not None:
                self.send(reply)
            return
        self.inflight += 1
        self._serve(msg, frame, None)

    def _serve(self, msg: dns.message.Message, frame: bytes, upstream: bytes | None, spent: float = 0.0) -> None:
        """Answer a query (counted in ``inflight``) through the full path, in a task."""
        state = self.state
        server = state.server
        if server is None:
            self._answered(None)
            return
        req = Request(msg, remote=self.remote, local=self.local, proto="tcp", wire_len=len(frame))
        req.upstream = upstream
        req.spent = spent
        task = state.spawn(server.serve(TCPWriter(self, req), req))
        task.add_done_callback(self._answered)

    # -- a pending miss of the wire path ------------------------------------------------

    def reply(self, q: WireQuery, out: bytearray) -> None:
        self.state.release()
        self.send(bytes(out))
        self._answered(None)

    def full(self, q: WireQuery, upstream: bytes | None) -> None:
        self.state.release()
        if self.transport is None:  # the client hung up meanwhile
            self._answered(None)
            return
        try:
            msg = parse_query(q.wire)
        except PARSE_ERRORS:
            self._answered(None)
            return
        self._serve(msg, q.wire, upstream, time.monotonic() - q.start)

    def _answered(self, _: asyncio.Task[None] | None) -> None:
        self.inflight -= 1
        if self.transport is None:
            return
        if self.closing:
            if not self.inflight:
                self.transport.close()
            return
        self._process()
