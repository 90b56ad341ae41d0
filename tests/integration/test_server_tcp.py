"""TCP transport over real sockets: pipelining, out-of-order answers, timeouts, connection cap, flow control."""

from __future__ import annotations

import asyncio
import struct
import time

import dns.message
import dns.rcode
import pytest

from kdns.core.state import Limits
from kdns.testing import Gate, until
from kdns.testing.instance import run_instance

COREFILE = ".:0 {\n gate\n whoami\n}\n"


def frame(name: str, qid: int) -> bytes:
    q = dns.message.make_query(name, "A")
    q.id = qid
    wire = q.to_wire()
    return struct.pack("!H", len(wire)) + wire


async def read_reply(reader: asyncio.StreamReader) -> dns.message.Message:
    async with asyncio.timeout(5):
        (n,) = struct.unpack("!H", await reader.readexactly(2))
        return dns.message.from_wire(await reader.readexactly(n))


async def closed_by_server(reader: asyncio.StreamReader, within: float = 5.0) -> bool:
    """True when the server closes the connection (EOF or reset) within ``within`` seconds."""
    try:
        async with asyncio.timeout(within):
            while await reader.read(65536):
                pass
    except ConnectionError:
        return True
    except TimeoutError:
        return False
    return True


async def test_pipelined_answers_out_of_order(gate: Gate) -> None:
    """Two queries sent back to back on one connection: the fast one is answered while the slow one waits."""
    async with run_instance(COREFILE) as inst:
        reader, writer = await asyncio.open_connection("127.0.0.1", inst.port)
        writer.write(frame("slow.example.org", 1) + frame("fast.example.org", 2))
        first = await read_reply(reader)
        assert first.id == 2
        assert gate.waiting == 1  # the slow one is still in the chain
        gate.release.set()
        second = await read_reply(reader)
        writer.close()
    assert second.id == 1
    assert first.rcode() == second.rcode() == dns.rcode.NOERROR


async def test_many_queries_per_connection(gate: Gate) -> None:
    """One connection carries query after query, each answered."""
    async with run_instance(COREFILE) as inst:
        reader, writer = await asyncio.open_connection("127.0.0.1", inst.port)
        for i in range(50):
            writer.write(frame(f"q{i}.example.org", i))
            r = await read_reply(reader)
            assert r.id == i
            assert r.rcode() == dns.rcode.NOERROR
        writer.close()


async def test_many_pipelined_queries_all_answered(gate: Gate) -> None:
    """Thousands of queries written at once (far beyond the per-connection limit) are all answered."""
    n = 3000
    async with run_instance(COREFILE, limits=Limits(max_pipeline=16)) as inst:
        reader, writer = await asyncio.open_connection("127.0.0.1", inst.port)
        writer.write(b"".join(frame(f"q{i}.example.org", i) for i in range(n)))
        ids = {(await read_reply(reader)).id for _ in range(n)}
        writer.close()
    assert ids == set(range(n))


async def test_pipeline_limit_pauses_reading(gate: Gate) -> None:
    """With max_pipeline=4, no more than 4 queries of a connection are in the chain at once; all get answers."""
    async with run_instance(COREFILE, limits=Limits(max_pipeline=4)) as inst:
        reader, writer = await asyncio.open_connection("127.0.0.1", inst.port)
        writer.write(b"".join(frame(f"slow{i}.example.org", i) for i in range(20)))
        await until(lambda: gate.arrived >= 4)
        await asyncio.sleep(0)  # let any task that should not exist run (it would raise max_waiting)
        assert gate.max_waiting == 4
        gate.release.set()
        ids = {(await read_reply(reader)).id for _ in range(20)}
        writer.close()
    assert ids == set(range(20))
    assert gate.max_waiting == 4


async def test_client_half_close_still_answered(gate: Gate) -> None:
    """A client that sends its queries and shuts down its sending side still gets every answer, then EOF."""
    async with run_instance(COREFILE) as inst:
        reader, writer = await asyncio.open_connection("127.0.0.1", inst.port)
        writer.write(frame("slow.example.org", 1) + frame("fast.example.org", 2))
        writer.write_eof()
        await until(lambda: gate.waiting == 1)
        gate.release.set()
        ids = {(await read_reply(reader)).id for _ in range(2)}
        assert await closed_by_server(reader)
        writer.close()
    assert ids == {1, 2}


async def test_idle_connection_is_closed(gate: Gate) -> None:
    """A connection with nothing to read and nothing to answer is closed after the idle timeout."""
    async with run_instance(COREFILE, limits=Limits(idle_timeout=0.2)) as inst:
        reader, writer = await asyncio.open_connection("127.0.0.1", inst.port)
        writer.write(frame("a.example.org", 1))
        assert (await read_reply(reader)).id == 1
        start = time.monotonic()
        assert await closed_by_server(reader)
        elapsed = time.monotonic() - start
        writer.close()
    assert 0.15 < elapsed < 3


async def test_slow_answer_is_not_idle(gate: Gate) -> None:
    """A connection waiting for a slow answer is not closed by the idle timeout."""
    async with run_instance(COREFILE, limits=Limits(idle_timeout=0.1)) as inst:
        reader, writer = await asyncio.open_connection("127.0.0.1", inst.port)
        writer.write(frame("slow.example.org", 1))
        await until(lambda: gate.waiting == 1)
        await asyncio.sleep(0.3)  # three idle periods pass while the answer is pending
        gate.release.set()
        r = await read_reply(reader)
        writer.close()
    assert r.id == 1


@pytest.mark.parametrize(
    "partial",
    [b"\x00", b"\x00\x40", b"\x00\x40" + b"\x00" * 20],
    ids=["half-length", "length-only", "short-body"],
)
async def test_partial_frame_read_timeout(gate: Gate, partial: bytes) -> None:
    """A frame that does not arrive whole within the read timeout closes the connection (idle timeout is long)."""
    async with run_instance(COREFILE, limits=Limits(read_timeout=0.2, idle_timeout=60)) as inst:
        reader, writer = await asyncio.open_connection("127.0.0.1", inst.port)
        writer.write(partial)
        start = time.monotonic()
        assert await closed_by_server(reader)
        elapsed = time.monotonic() - start
        writer.close()
        ok = await inst.query("example.org", "A", proto="tcp")
    assert 0.15 < elapsed < 3
    assert ok.rcode() == dns.rcode.NOERROR


async def test_connection_cap(gate: Gate) -> None:
    """Beyond max_connections a new connection is closed unanswered; once one closes, new ones are served."""
    async with run_instance(COREFILE, limits=Limits(max_connections=2)) as inst:
        conns = [await asyncio.open_connection("127.0.0.1", inst.port) for _ in range(2)]
        for i, (reader, writer) in enumerate(conns):
            writer.write(frame("a.example.org", i))
            assert (await read_reply(reader)).id == i
        reader3, writer3 = await asyncio.open_connection("127.0.0.1", inst.port)
        writer3.write(frame("a.example.org", 3))
        assert await closed_by_server(reader3)
        writer3.close()
        state = next(iter(inst.runner.listeners.values())).state
        conns[0][1].close()
        await until(lambda: len(state.connections) < 2)
        r = await inst.query("example.org", "A", proto="tcp")
        conns[1][1].close()
    assert r.rcode() == dns.rcode.NOERROR
