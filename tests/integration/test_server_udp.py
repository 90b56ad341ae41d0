"""UDP transport over real sockets: concurrent queries, and the in-flight cap that sheds load."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import dns.message
import dns.rcode
import pytest

from kdns.config.controller import Controller
from kdns.core.state import Limits
from kdns.plugin import Handler, next_or_failure
from kdns.request import Request
from kdns.testing.instance import run_instance, test_plugin
from kdns.writer import ResponseWriter

COREFILE = ".:0 {\n hold\n whoami\n}\n"


@dataclass
class Gate:
    release: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0


@dataclass(slots=True)
class Hold:
    """Names starting with 'slow' wait for the gate."""

    gate: Gate
    next: Handler | None
    name: str = "hold"

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        if req.qname.startswith("slow"):
            self.gate.waiting += 1
            await self.gate.release.wait()
        return await next_or_failure(self.name, self.next, w, req)


@pytest.fixture
def gate() -> Iterator[Gate]:
    g = Gate()

    def setup(c: Controller) -> None:
        c.once()
        c.add_plugin(lambda nxt: Hold(g, nxt))

    with test_plugin("hold", setup):
        yield g


async def until(cond: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


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
