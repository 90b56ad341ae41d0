"""TCP flow control and framing against a fake transport (no sockets)."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import dns.message
import dns.rcode

from kdns.core.server import Route, Server
from kdns.core.state import Limits, ListenerState
from kdns.core.transport_tcp import TCPProtocol
from kdns.request import Request
from kdns.writer import ResponseWriter


class FakeTransport:
    def __init__(self) -> None:
        self.reading = True
        self.closed = False
        self.aborted = False
        self.gone = asyncio.Event()
        self.out = bytearray()

    def get_extra_info(self, key: str) -> Any:
        return ("127.0.0.1", 5353 if key == "sockname" else 40000)

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def write(self, data: bytes) -> None:
        self.out += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True
        self.gone.set()

    def abort(self) -> None:
        self.aborted = True
        self.close()

    def replies(self) -> list[dns.message.Message]:
        out, data = [], bytes(self.out)
        while data:
            (n,) = struct.unpack_from("!H", data)
            out.append(dns.message.from_wire(data[2 : 2 + n]))
            data = data[2 + n :]
        return out


class Held:
    """A chain whose answers wait for ``release``."""

    name = "held"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.waiting = 0

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        self.waiting += 1
        await self.release.wait()
        self.waiting -= 1
        await w.write_msg(req.reply())
        return dns.rcode.NOERROR


def frames(n: int) -> bytes:
    out = b""
    for i in range(n):
        q = dns.message.make_query(f"q{i}.example.org.", "A")
        q.id = i
        wire = q.to_wire()
        out += struct.pack("!H", len(wire)) + wire
    return out


def connection(limits: Limits) -> tuple[TCPProtocol, FakeTransport, Held]:
    chain = Held()
    state = ListenerState(Server("dns://:53", {".": Route(".", chain, False)}), limits)  # type: ignore[arg-type]
    proto = TCPProtocol(state)
    t = FakeTransport()
    proto.connection_made(t)  # type: ignore[arg-type]
    return proto, t, chain


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_pipeline_limit_pauses_and_resumes() -> None:
    """Reading pauses at max_pipeline queries in flight, the rest wait in the buffer, and all are answered."""
    proto, t, chain = connection(Limits(max_pipeline=3))
    proto.data_received(frames(10))
    await settle()
    assert chain.waiting == 3
    assert not t.reading
    chain.release.set()
    for _ in range(10):
        await settle()
    assert sorted(m.id for m in t.replies()) == list(range(10))
    assert t.reading
    assert proto.inflight == 0


async def test_full_write_buffer_pauses_reading() -> None:
    """When the client does not read its answers, the connection stops taking queries until it does."""
    proto, t, chain = connection(Limits())
    chain.release.set()
    proto.pause_writing()
    assert not t.reading
    proto.data_received(frames(5))
    await settle()
    assert t.replies() == []  # nothing started while paused
    proto.resume_writing()
    await settle()
    assert t.reading
    assert sorted(m.id for m in t.replies()) == list(range(5))


async def test_close_waits_for_answers() -> None:
    """A graceful close takes no new queries but keeps the connection until in-flight answers are written."""
    proto, t, chain = connection(Limits())
    proto.data_received(frames(2))
    await settle()
    proto.close()
    proto.data_received(frames(1))  # ignored
    assert not t.closed
    chain.release.set()
    await settle()
    assert t.closed
    assert sorted(m.id for m in t.replies()) == [0, 1]


async def test_idle_with_unread_answers_aborts() -> None:
    """A client that stops reading its answers is cut off at the idle timeout instead of waiting to flush."""
    proto, t, chain = connection(Limits(idle_timeout=0.05))
    chain.release.set()
    proto.data_received(frames(1))
    await settle()
    proto.pause_writing()
    async with asyncio.timeout(2):
        await t.gone.wait()
    assert t.aborted


async def test_idle_reader_closes_gracefully() -> None:
    """An idle connection whose answers were all read is closed, not aborted."""
    proto, t, _ = connection(Limits(idle_timeout=0.05))
    async with asyncio.timeout(2):
        await t.gone.wait()
    assert not t.aborted
    assert proto.inflight == 0


async def test_connection_cap_aborts() -> None:
    """A connection beyond max_connections is aborted and not tracked."""
    proto, _, _ = connection(Limits(max_connections=1))
    extra = TCPProtocol(proto.state)
    t2 = FakeTransport()
    extra.connection_made(t2)  # type: ignore[arg-type]
    assert t2.closed
    assert proto.state.connections == {proto}
