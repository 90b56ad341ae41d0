"""Reload and stop while queries are in flight: nothing answered by the old config is lost."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import dns.exception
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset
import pytest

from kdns.config.controller import Controller
from kdns.plugin import Handler
from kdns.request import Request
from kdns.testing import until
from kdns.testing.instance import run_instance, test_plugin
from kdns.writer import ResponseWriter


@dataclass
class Control:
    release: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0
    started: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Tagged:
    """Answers TXT ``tag``; names starting with 'slow' first wait for ``ctl.release``."""

    tag: str
    ctl: Control
    next: Handler | None
    name: str = "tagged"

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        if req.qname.startswith("slow"):
            self.ctl.waiting += 1
            try:
                await self.ctl.release.wait()
            finally:
                self.ctl.waiting -= 1
        reply = req.reply()
        rrset = dns.rrset.RRset(req.msg.question[0].name, dns.rdataclass.IN, dns.rdatatype.TXT)
        rrset.add(dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [self.tag.encode()]))
        reply.answer = [rrset]
        await w.write_msg(reply)
        return dns.rcode.NOERROR


@pytest.fixture
def ctl() -> Iterator[Control]:
    control = Control()

    def setup(c: Controller) -> None:
        tag = c.once().args[0]

        async def start() -> None:
            if tag == "failstart":
                raise RuntimeError("cannot start")
            control.started.append(tag)

        async def stop() -> None:
            control.stopped.append(tag)

        c.on_startup(start)
        c.on_shutdown(stop)
        c.add_plugin(lambda nxt: Tagged(tag, control, nxt))

    with test_plugin("tagged", setup):
        yield control


def corefile(tag: str) -> str:
    return f".:0 {{\n tagged {tag}\n}}\n"


def tag_of(r: dns.message.Message) -> str:
    assert r.rcode() == dns.rcode.NOERROR
    return r.answer[0][0].strings[0].decode()


async def test_reload_under_load_loses_nothing(ctl: Control) -> None:
    """Queries over UDP and TCP keep flowing through repeated reloads; every one is answered."""
    async with run_instance(corefile("v0")) as inst:
        done = asyncio.Event()
        answered: list[str] = []
        failures: list[BaseException] = []

        async def client(i: int) -> None:
            proto = "tcp" if i % 2 else "udp"
            while not done.is_set():
                try:
                    answered.append(tag_of(await inst.query(f"q{i}.example.org", "TXT", proto=proto)))
                except (dns.exception.DNSException, OSError, AssertionError) as e:
                    failures.append(e)

        clients = [asyncio.create_task(client(i)) for i in range(20)]
        for v in range(1, 6):
            await until(lambda v=v: len(answered) >= 200 * v)
            inst.write(corefile(f"v{v}"))
            assert await inst.reload()
        await until(lambda: answered[-1] == "v5")
        done.set()
        await asyncio.gather(*clients)
        last = tag_of(await inst.query("example.org", "TXT"))
    assert not failures
    assert len(answered) >= 1000
    assert last == "v5"
    assert ctl.stopped[:5] == ["v0", "v1", "v2", "v3", "v4"]


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_query_in_flight_during_reload_uses_old_chain(ctl: Control, proto: str) -> None:
    """A query still in the old chain when the reload swaps configs is answered by the old chain."""
    async with run_instance(corefile("old")) as inst:
        state = next(iter(inst.runner.listeners.values())).state
        old_server = state.server
        slow = asyncio.create_task(inst.query("slow.example.org", "TXT", proto=proto))
        await until(lambda: ctl.waiting == 1)
        inst.write(corefile("new"))
        reload = asyncio.create_task(inst.reload())
        await until(lambda: state.server is not old_server)  # the new config is swapped in
        fresh = tag_of(await inst.query("example.org", "TXT", proto=proto))
        assert not reload.done()  # still draining the old config
        ctl.release.set()
        old = tag_of(await slow)
        assert await reload
    assert (old, fresh) == ("old", "new")


async def test_open_tcp_connection_survives_reload(ctl: Control) -> None:
    """A TCP connection opened before a reload stays open and its next query is answered by the new config."""
    async with run_instance(corefile("before")) as inst:
        reader, writer = await asyncio.open_connection("127.0.0.1", inst.port)

        async def ask(qid: int) -> str:
            q = dns.message.make_query("example.org", "TXT")
            q.id = qid
            wire = q.to_wire()
            writer.write(struct.pack("!H", len(wire)) + wire)
            async with asyncio.timeout(5):
                (n,) = struct.unpack("!H", await reader.readexactly(2))
                r = dns.message.from_wire(await reader.readexactly(n))
            assert r.id == qid
            return tag_of(r)

        first = await ask(1)
        inst.write(corefile("after"))
        assert await inst.reload()
        second = await ask(2)
        writer.close()
    assert (first, second) == ("before", "after")


async def test_failing_reload_keeps_old_config(ctl: Control) -> None:
    """A Corefile that does not load leaves the running config answering, and the failure is counted."""
    async with run_instance(corefile("good")) as inst:
        inst.write(".:0 {\n nosuchplugin\n}\n")
        assert not await inst.reload()
        after_parse_error = tag_of(await inst.query("example.org", "TXT", proto="udp"))
        inst.write(corefile("failstart"))
        assert not await inst.reload()
        after_startup_error = tag_of(await inst.query("example.org", "TXT", proto="tcp"))
        failures = inst.runner.reload_failures
    assert after_parse_error == after_startup_error == "good"
    assert failures == 2
    assert "failstart" in ctl.stopped  # the half-started config was shut down again


async def test_reload_that_cannot_bind_keeps_old_config(ctl: Control) -> None:
    """A reload whose new address is taken fails as a whole: the old config answers on, the new one is shut down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        async with run_instance(corefile("old")) as inst:
            inst.write(corefile("old") + f".:{port} {{\n tagged new\n}}\n")
            assert not await inst.reload()
            r = await inst.query("example.org", "TXT")
            listeners = list(inst.runner.listeners)
    assert tag_of(r) == "old"
    assert len(listeners) == 1
    assert "new" in ctl.stopped


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_stop_drains_queries_in_flight(ctl: Control, proto: str) -> None:
    """A slow query in flight when stop begins still gets its answer before the server closes."""
    async with run_instance(corefile("v")) as inst:
        runner = inst.runner
        state = next(iter(runner.listeners.values())).state
        slow = asyncio.create_task(inst.query("slow.example.org", "TXT", proto=proto, timeout=5))
        await until(lambda: ctl.waiting == 1)
        stop = asyncio.create_task(runner.stop())
        await until(lambda: not state.accepting)  # stop is now draining
        assert not stop.done()
        ctl.release.set()
        r = await slow
        await stop
    assert tag_of(r) == "v"
    assert runner.stopped.is_set()
    assert "v" in ctl.stopped


async def test_stop_with_nothing_in_flight_is_prompt(ctl: Control) -> None:
    """Stopping an idle server does not wait for the grace period."""
    async with run_instance(corefile("v")) as inst:
        assert tag_of(await inst.query("example.org", "TXT")) == "v"
        start = time.monotonic()
        await inst.runner.stop()
        elapsed = time.monotonic() - start
    assert elapsed < 1
