"""UDP transport over real sockets: concurrent queries, and the in-flight cap that sheds load."""

from __future__ import annotations

import asyncio
import socket

import dns.message
import dns.rcode

from kdns.core.state import Limits
from kdns.testing import Gate, until
from kdns.testing.instance import run_instance

COREFILE = ".:0 {\n gate\n whoami\n}\n"


async def test_slow_query_does_not_block_others(gate: Gate) -> None:
    """A query waiting in the chain does not hold up later UDP queries."""
    async with run_instance(COREFILE) as inst:
        slow = asyncio.create_task(inst.query("slow.example.org", "A"))
        await until(lambda: gate.waiting == 1)
        fast = await inst.query("fast.example.org", "A")
        assert not slow.done()
        gate.release.set()
        r = await slow
    assert fast.rcode() == r.rcode() == dns.rcode.NOERROR


async def test_inflight_cap_drops_udp(gate: Gate) -> None:
    """With max_inflight queries in the chain, a further UDP query is dropped (counted), and service resumes."""
    async with run_instance(COREFILE, limits=Limits(max_inflight=2)) as inst:
        state = next(iter(inst.runner.listeners.values())).state
        slow = [asyncio.create_task(inst.query(f"slow{i}.example.org", "A", timeout=5)) for i in range(2)]
        await until(lambda: gate.waiting == 2)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(dns.message.make_query("dropped.example.org", "A").to_wire(), ("127.0.0.1", inst.port))
        await until(lambda: state.dropped == 1)
        gate.release.set()
        answers = await asyncio.gather(*slow)
        after = await inst.query("after.example.org", "A")
    assert [a.rcode() for a in answers] == [dns.rcode.NOERROR] * 2
    assert after.rcode() == dns.rcode.NOERROR
    assert state.dropped == 1
