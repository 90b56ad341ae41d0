"""FakeUpstream answers over real UDP and TCP, and can be scripted slow, dead, truncating or confused."""

from __future__ import annotations

import asyncio
import socket
import struct

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import pytest

from kdns.testing.upstream import HANGUP, FakeUpstream, Reply, answer, truncated, with_id

PROTOS = ["udp", "tcp"]


async def ask(up: FakeUpstream, name: str, proto: str, timeout: float = 2.0) -> dns.message.Message:
    q = dns.message.make_query(name, "A")
    if proto == "tcp":
        return await dns.asyncquery.tcp(q, up.host, port=up.port, timeout=timeout)
    return await dns.asyncquery.udp(q, up.host, port=up.port, timeout=timeout)


@pytest.mark.parametrize("proto", PROTOS)
async def test_records_and_nxdomain(proto: str) -> None:
    """The default handle answers from ``records`` (case-insensitively) and NXDOMAIN otherwise; queries are kept."""
    async with FakeUpstream(records={("example.org.", "A"): ["example.org. 60 IN A 10.0.0.1"]}) as up:
        ok = await ask(up, "Example.ORG", proto)
        nx = await ask(up, "example.net", proto)
    assert ok.answer[0][0].address == "10.0.0.1"
    assert nx.rcode() == dns.rcode.NXDOMAIN
    assert [q.question[0].name.to_text() for q in up.queried(proto)] == ["Example.ORG.", "example.net."]


@pytest.mark.parametrize("proto", PROTOS)
async def test_dead_upstream_times_out(proto: str) -> None:
    """A handler returning None sends nothing: the client times out."""
    async with FakeUpstream(lambda q, p: None) as up:
        with pytest.raises(dns.exception.Timeout):
            await ask(up, "example.org", proto, timeout=0.2)
    assert len(up.queries) == 1


@pytest.mark.parametrize("proto", PROTOS)
async def test_slow_upstream(proto: str) -> None:
    """An async handler answers when it is ready; a TCP connection answers a fast query meanwhile."""
    release = asyncio.Event()

    async def handle(q: dns.message.Message, p: str) -> Reply:
        if q.question[0].name.labels[0] == b"slow":
            await release.wait()
        return answer(q, f"{q.question[0].name} 5 IN A 10.0.0.2")

    async with FakeUpstream(handle) as up:
        slow = asyncio.create_task(ask(up, "slow.example.org", proto))
        fast = await ask(up, "fast.example.org", proto)
        assert not slow.done()
        release.set()
        r = await slow
    assert fast.answer
    assert r.answer[0][0].address == "10.0.0.2"


async def test_pipelined_tcp_answers_as_they_complete() -> None:
    """Two queries on one TCP connection: the quick one's answer comes first."""
    release = asyncio.Event()

    async def handle(q: dns.message.Message, p: str) -> Reply:
        if q.id == 1:
            await release.wait()
        return answer(q)

    async with FakeUpstream(handle) as up:
        reader, writer = await asyncio.open_connection(up.host, up.port)
        for qid in (1, 2):
            q = dns.message.make_query("example.org", "A")
            q.id = qid
            wire = q.to_wire()
            writer.write(struct.pack("!H", len(wire)) + wire)
        (n,) = struct.unpack("!H", await reader.readexactly(2))
        first = dns.message.from_wire(await reader.readexactly(n))
        release.set()
        (n,) = struct.unpack("!H", await reader.readexactly(2))
        second = dns.message.from_wire(await reader.readexactly(n))
        writer.close()
    assert (first.id, second.id) == (2, 1)


async def test_truncated_reply() -> None:
    """``truncated`` gives an empty reply with TC set."""

    def handle(q: dns.message.Message, p: str) -> Reply:
        return truncated(q) if p == "udp" else answer(q, "example.org. 5 IN A 10.0.0.3")

    async with FakeUpstream(handle) as up:
        udp = await ask(up, "example.org", "udp")
        tcp = await ask(up, "example.org", "tcp")
    assert udp.flags & dns.flags.TC
    assert not udp.answer
    assert tcp.answer[0][0].address == "10.0.0.3"


async def test_wrong_id_reply() -> None:
    """``with_id`` sends the reply under another ID, as a confused or spoofing upstream would."""
    async with FakeUpstream(lambda q, p: with_id(answer(q), (q.id + 1) % 65536)) as up:
        q = dns.message.make_query("example.org", "A")
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            s.connect((up.host, up.port))
            await loop.sock_sendall(s, q.to_wire())
            async with asyncio.timeout(2):
                r = dns.message.from_wire(await loop.sock_recv(s, 65535))
    assert r.id == (q.id + 1) % 65536
    assert r.question == q.question


async def test_raw_bytes_and_hangup() -> None:
    """Raw bytes are sent as they are; HANGUP closes the TCP connection without an answer."""
    async with FakeUpstream(lambda q, p: b"\x00\x01garbage" if p == "udp" else HANGUP) as up:
        q = dns.message.make_query("example.org", "A")
        with pytest.raises(dns.exception.DNSException):
            await dns.asyncquery.udp(q, up.host, port=up.port, timeout=1)
        with pytest.raises((EOFError, ConnectionError)):
            await dns.asyncquery.tcp(q, up.host, port=up.port, timeout=1)


async def test_handler_error_is_raised_on_stop() -> None:
    """A handler that raises sends nothing, and ``stop`` raises its error so the test sees it."""

    def broken(q: dns.message.Message, p: str) -> Reply:
        raise ValueError("bad handler")

    up = await FakeUpstream(broken).start()
    with pytest.raises(dns.exception.Timeout):
        await ask(up, "example.org", "udp", timeout=0.2)
    with pytest.raises(ValueError, match="bad handler"):
        await up.stop()


async def test_subclass_handle() -> None:
    """Overriding ``handle`` in a subclass works like passing ``handler``."""

    class Up(FakeUpstream):
        def handle(self, query: dns.message.Message, proto: str) -> Reply:
            return answer(query, rcode=dns.rcode.REFUSED)

    async with Up() as up:
        r = await ask(up, "example.org", "tcp")
    assert r.rcode() == dns.rcode.REFUSED
