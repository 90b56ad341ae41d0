"""FakeUpstream: a small real DNS server on 127.0.0.1 (UDP and TCP) for forward-style tests.

Subclass it and override ``handle`` (sync or async), or pass ``handler=``. ``handle`` returns a
reply message, raw bytes, or None to send nothing. Every query received is kept in ``queries``.
"""

from __future__ import annotations

import asyncio
import inspect
import struct
from collections.abc import Awaitable, Callable
from typing import Any, cast

import dns.message
import dns.rcode
import dns.rrset

Reply = dns.message.Message | bytes | None
HandlerFn = Callable[[dns.message.Message, str], Reply | Awaitable[Reply]]


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
        self.port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def addr(self) -> str:
        return f"{self.host}:{self.port}"

    def handle(self, query: dns.message.Message, proto: str) -> Reply | Awaitable[Reply]:
        """Default: answer from ``records``, else NXDOMAIN."""
        if self.handler is not None:
            return self.handler(query, proto)
        reply = dns.message.make_response(query)
        q = query.question[0]
        key = (q.name.to_text().lower(), dns.rdatatype.to_text(q.rdtype))
        texts = self.records.get(key)
        if texts is None:
            reply.set_rcode(dns.rcode.NXDOMAIN)
        else:
            from kdns.testing.case import rr

            reply.answer = [rr(t) for t in texts]
        return reply

    async def _answer(self, data: bytes, proto: str) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except Exception:
            return None
        self.queries.append((proto, query))
        out = self.handle(query, proto)
        if inspect.isawaitable(out):
            out = await out
        if out is None:
            return None
        return out if isinstance(out, bytes) else out.to_wire()

    def _spawn(self, coro: Any) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def start(self) -> FakeUpstream:
        loop = asyncio.get_running_loop()
        up = self

        class UDP(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = cast(asyncio.DatagramTransport, transport)

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                async def run() -> None:
                    out = await up._answer(data, "udp")
                    if out is not None and not self.transport.is_closing():
                        self.transport.sendto(out, addr)

                up._spawn(run())

        async def tcp_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    (n,) = struct.unpack("!H", await reader.readexactly(2))
                    data = await reader.readexactly(n)
                    out = await up._answer(data, "tcp")
                    if out is not None:
                        writer.write(struct.pack("!H", len(out)) + out)
                        await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        for _ in range(20):
            transport, _ = await loop.create_datagram_endpoint(UDP, local_addr=(self.host, self.port))
            port = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(tcp_client, self.host, port)
            except OSError:
                transport.close()
                continue
            self._udp = transport
            self.port = port
            return self
        raise OSError("no free port for FakeUpstream")

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
        for t in list(self._tasks):
            t.cancel()

    async def __aenter__(self) -> FakeUpstream:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def answer(query: dns.message.Message, *rrs: str, rcode: int = dns.rcode.NOERROR) -> dns.message.Message:
    """A reply to ``query`` holding ``rrs`` (zone-file text)."""
    from kdns.testing.case import rr

    reply = dns.message.make_response(query)
    reply.set_rcode(dns.rcode.Rcode.make(rcode))
    reply.answer = [rr(t) for t in rrs]
    return reply


__all__ = ["FakeUpstream", "answer"]
_ = dns.rrset
