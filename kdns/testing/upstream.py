"""FakeUpstream: a small real DNS server on 127.0.0.1 (UDP and TCP) for forward-style tests.

Subclass it and override ``handle`` (sync or async), or pass ``handler=``. ``handle(query, proto)``
returns what to send:

- a ``dns.message.Message`` (use ``answer``, ``truncated``, ``with_id`` to build odd replies),
- raw ``bytes`` (garbage, a cut-off packet),
- ``None``: send nothing (a dead upstream; an async ``handle`` that sleeps is a slow one),
- ``HANGUP``: over TCP close the connection without answering; over UDP send nothing.

TCP queries on one connection are answered concurrently, in the order they complete. Every query
received is kept in ``queries`` as (proto, message). An exception in ``handle`` is kept in ``errors``
and raised again by ``stop`` (so a broken test handler fails the test instead of looking dead).
"""

from __future__ import annotations

import asyncio
import inspect
import struct
from collections.abc import Awaitable, Callable
from typing import Any, Final, cast

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from kdns.testing.case import rr


class _Hangup:
    def __repr__(self) -> str:
        return "HANGUP"


#: ``handle`` result: close the TCP connection without an answer
HANGUP: Final = _Hangup()

Reply = dns.message.Message | bytes | _Hangup | None
HandlerFn = Callable[[dns.message.Message, str], Reply | Awaitable[Reply]]
_LEN = struct.Struct("!H")


class FakeUpstream:
    def __init__(
        self,
        handler: HandlerFn | None = None,
        *,
        host: str = "127.0.0.1",
        records: dict[tuple[str, str], list[str]] | None = None,
    ) -> None:
        self.handler = handler
        self.host = host
        #: (qname lower-case FQDN, type) -> zone-file text RRs answered by the default ``handle``
        self.records = records or {}
        self.queries: list[tuple[str, dns.message.Message]] = []
        #: exceptions raised by ``handle``
        self.errors: list[BaseException] = []
        self.port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def addr(self) -> str:
        """``127.0.0.1:PORT``, as a forward line wants it."""
        return f"{self.host}:{self.port}"

    def handle(self, query: dns.message.Message, proto: str) -> Reply | Awaitable[Reply]:
        """Default: ``handler`` when given, else answer from ``records``, else NXDOMAIN."""
        if self.handler is not None:
            return self.handler(query, proto)
        q = query.question[0]
        texts = self.records.get((q.name.to_text().lower(), dns.rdatatype.to_text(q.rdtype)))
        if texts is None:
            return answer(query, rcode=dns.rcode.NXDOMAIN)
        return answer(query, *texts)

    def queried(self, proto: str | None = None) -> list[dns.message.Message]:
        """The queries received (over ``proto`` only, when given)."""
        return [m for p, m in self.queries if proto is None or p == proto]

    # -- serving ----------------------------------------------------------------------

    async def _answer(self, data: bytes, proto: str) -> bytes | _Hangup | None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        self.queries.append((proto, query))
        try:
            out = self.handle(query, proto)
            if inspect.isawaitable(out):
                out = await out
        except Exception as e:
            self.errors.append(e)
            return None
        if out is None or isinstance(out, bytes | _Hangup):
            return out
        return out.to_wire()

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    async def _udp_reply(self, transport: asyncio.DatagramTransport, data: bytes, addr: tuple[str, int]) -> None:
        out = await self._answer(data, "udp")
        if isinstance(out, bytes) and not transport.is_closing():
            transport.sendto(out, addr)

    async def _tcp_reply(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        out = await self._answer(data, "tcp")
        if isinstance(out, _Hangup):
            writer.close()
        elif out is not None and not writer.is_closing():
            writer.write(_LEN.pack(len(out)) + out)

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        pending: set[asyncio.Task[None]] = set()
        try:
            while True:
                (n,) = _LEN.unpack(await reader.readexactly(2))
                t = self._spawn(self._tcp_reply(writer, await reader.readexactly(n)))
                pending.add(t)
                t.add_done_callback(pending.discard)
        except (asyncio.IncompleteReadError, ConnectionError):
            if pending:  # the client half-closed: answer what it sent before hanging up
                await asyncio.wait(pending)
        finally:
            self._writers.discard(writer)
            writer.close()

    async def start(self) -> FakeUpstream:
        """Bind UDP and TCP on the same free port of ``host``."""
        loop = asyncio.get_running_loop()
        up = self

        class UDP(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = cast(asyncio.DatagramTransport, transport)

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                up._spawn(up._udp_reply(self.transport, data, addr))

        for _ in range(20):
            transport, _ = await loop.create_datagram_endpoint(UDP, local_addr=(self.host, self.port))
            port = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._tcp_client, self.host, port)
            except OSError:
                transport.close()
                if self.port:
                    raise
                continue
            self._udp = transport
            self.port = port
            return self
        raise OSError("no free port for FakeUpstream")

    async def stop(self) -> None:
        """Close the sockets and open connections; raise the first error ``handle`` raised."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            for w in list(self._writers):
                w.close()
            await self._tcp.wait_closed()
            self._tcp = None
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.errors:
            raise self.errors[0]

    async def __aenter__(self) -> FakeUpstream:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            await self.stop()
            return
        try:
            await self.stop()
        except Exception:
            pass  # the test already failed: keep its exception


def answer(query: dns.message.Message, *rrs: str, rcode: int = dns.rcode.NOERROR) -> dns.message.Message:
    """A reply to ``query`` holding ``rrs`` (zone-file text) in the answer section."""
    reply = dns.message.make_response(query)
    reply.set_rcode(dns.rcode.Rcode.make(rcode))
    reply.answer = [rr(t) for t in rrs]
    return reply


def truncated(query: dns.message.Message) -> dns.message.Message:
    """An empty reply with TC set, as a server sends over UDP when the answer does not fit."""
    reply = dns.message.make_response(query)
    reply.flags |= dns.flags.TC
    return reply


def with_id(reply: dns.message.Message, qid: int) -> dns.message.Message:
    """``reply`` with another message ID (a spoofed or confused upstream)."""
    reply.id = qid
    return reply


__all__ = ["HANGUP", "FakeUpstream", "answer", "truncated", "with_id"]
