"""loop in a running server: a self-loop is fatal with CoreDNS's log line; a real upstream is not.

The ``relay`` test directive stands in for a forwarder: it sends every query it gets over UDP to a
target and writes the reply back; to the server's own listener by default (a forwarding loop
without *forward*), or to ``Relay.to``. The *forward* variants run once that plugin is installed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import dns.asyncquery
import dns.exception
import dns.rcode
import dns.rdatatype
import pytest

from kdns.plugin import Handler
from kdns.plugins.loop import plugin as loop_plugin
from kdns.plugins.loop.plugin import Loop
from kdns.request import Request
from kdns.testing import FakeUpstream, RunningInstance, free_port, require_plugins, run_instance, until
from kdns.testing.instance import chain_plugin
from kdns.writer import ResponseWriter

LINE = re.compile(
    r'^Loop \(127\.0\.0\.1:\d+ -> :(\d+)\) detected for zone "(\S+)", '
    r'see https://coredns\.io/plugins/loop#troubleshooting\. Query: "HINFO (\d+\.\d+\.\S*)"$'
)


@dataclass
class Exits:
    """Records the loop plugin's exit calls instead of exiting."""

    called: asyncio.Event = field(default_factory=asyncio.Event)
    count: int = 0

    def __call__(self) -> None:
        self.count += 1
        self.called.set()


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> Exits:
    """Loop settings for tests: exit recorded, probes every 20 ms, 0.5 s per probe, 5 s in all, no linger."""
    e = Exits()
    monkeypatch.setattr(loop_plugin.SETTINGS, "on_loop", e)
    monkeypatch.setattr(loop_plugin.SETTINGS, "interval", 0.02)
    monkeypatch.setattr(loop_plugin.SETTINGS, "timeout", 0.5)
    monkeypatch.setattr(loop_plugin.SETTINGS, "deadline", 5.0)
    monkeypatch.setattr(loop_plugin.SETTINGS, "linger", 0.0)
    return e


@dataclass
class Relay:
    """Where ``relay`` sends queries (None: the listener the query came in on) and how many it sent."""

    to: tuple[str, int] | None = None
    sent: int = 0


@dataclass(slots=True)
class RelayPlugin:
    relay: Relay
    next: Handler | None
    name: str = "relay"

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        host, port = self.relay.to or ("127.0.0.1", req.local[1])
        self.relay.sent += 1
        try:
            reply = await dns.asyncquery.udp(req.msg, host, port=port, timeout=1.0)
        except dns.exception.Timeout:
            return dns.rcode.SERVFAIL
        await w.write_msg(reply)
        return reply.rcode()


@pytest.fixture
def relay() -> Iterator[Relay]:
    """Directive ``relay`` (after loop in the chain) bound to the Relay yielded."""
    r = Relay()
    with chain_plugin("relay", lambda nxt: RelayPlugin(r, nxt)):
        yield r


def loop_of(inst: RunningInstance, block: int = 0) -> Loop:
    assert inst.runner.instance is not None
    h = inst.runner.instance.blocks[block].handlers["loop"]
    assert isinstance(h, Loop)
    return h


def loop_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "kdns.plugin.loop"]


async def test_self_loop_is_fatal(exits: Exits, relay: Relay, caplog: pytest.LogCaptureFixture) -> None:
    """A block that relays queries to its own listener: the probe comes back, the third arrival exits."""
    async with run_instance("example.org {\n loop\n relay\n}\n") as inst:
        await asyncio.wait_for(exits.called.wait(), 5)
        h = loop_of(inst)
        m = LINE.match(loop_lines(caplog)[0])
        assert m is not None, loop_lines(caplog)
        assert int(m.group(1)) == inst.port
        assert m.group(2) == "example.org."
        assert m.group(3) == h.qname
        assert h.qname.endswith(".example.org.")
        assert h.seen == 3
        assert exits.count == 1
        assert h.address == f":{inst.port}"


async def test_real_upstream_is_no_loop(exits: Exits, relay: Relay, upstream: FakeUpstream) -> None:
    """Relayed to a real upstream, the probe is answered once: no exit, loop goes quiet, probe seen once."""
    relay.to = ("127.0.0.1", upstream.port)
    async with run_instance(".:0 {\n loop\n relay\n}\n") as inst:
        h = loop_of(inst)
        await until(lambda: h.off)
        assert exits.count == 0
        assert h.seen == 1
        probes = [m for m in upstream.queried("udp") if m.question[0].rdtype == dns.rdatatype.HINFO]
        assert [m.question[0].name.to_text() for m in probes] == [h.qname]
        for _ in range(4):  # off: the probe name itself is now just another query
            r = await inst.query(h.qname, "HINFO")
            assert r.rcode() == dns.rcode.NXDOMAIN
        assert exits.count == 0


async def test_dead_upstream_retries_then_gives_up(
    exits: Exits, relay: Relay, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Unanswered probes are retried (each resets the count, so retries are no loop) until the deadline."""
    monkeypatch.setattr(loop_plugin.SETTINGS, "timeout", 0.05)
    monkeypatch.setattr(loop_plugin.SETTINGS, "deadline", 0.6)

    async def silent(q: object, proto: str) -> None:
        return None

    async with FakeUpstream(silent) as dead:
        relay.to = ("127.0.0.1", dead.port)
        async with run_instance(".:0 {\n loop\n relay\n}\n") as inst:
            h = loop_of(inst)
            await until(lambda: h.off)
            assert exits.count == 0
            assert len(dead.queried()) >= 3  # several probes, each passed on once
    assert any("no answer to the loop probe" in line for line in loop_lines(caplog))


async def test_probe_goes_to_the_bound_address(exits: Exits, relay: Relay, upstream: FakeUpstream) -> None:
    """With bind, the probe is sent to the first bound address, and the log names it."""
    relay.to = ("127.0.0.1", upstream.port)
    async with run_instance(".:0 {\n bind 127.0.0.1\n loop\n relay\n}\n") as inst:
        h = loop_of(inst)
        await until(lambda: h.off)
        assert h.address == f"127.0.0.1:{inst.port}"
        assert h.seen == 1
        assert exits.count == 0


async def test_reload_probes_again(exits: Exits, relay: Relay, upstream: FakeUpstream) -> None:
    """A reload builds a new loop with a new probe name, and probes again."""
    relay.to = ("127.0.0.1", upstream.port)
    async with run_instance(".:0 {\n loop\n relay\n}\n") as inst:
        first = loop_of(inst)
        await until(lambda: first.off)
        assert await inst.reload()
        second = loop_of(inst)
        assert second is not first
        assert second.qname != first.qname
        await until(lambda: second.off)
        names = [m.question[0].name.to_text() for m in upstream.queried() if m.question[0].rdtype == 13]
        assert names == [first.qname, second.qname]
        assert exits.count == 0


async def test_forward_self_loop_is_fatal(exits: Exits, caplog: pytest.LogCaptureFixture) -> None:
    """``forward . 127.0.0.1:<own port>``: the loop is found and the exit called, as CoreDNS does."""
    require_plugins("forward")
    port = free_port()
    async with run_instance(f".:{port} {{\n loop\n forward . 127.0.0.1:{port}\n}}\n"):
        await asyncio.wait_for(exits.called.wait(), 5)
    m = LINE.match(loop_lines(caplog)[0])
    assert m is not None
    assert int(m.group(1)) == port
    assert m.group(2) == "."


async def test_forward_to_upstream_is_no_loop(exits: Exits, upstream: FakeUpstream) -> None:
    """``forward`` to a working upstream: the probe is answered, loop goes quiet, no exit."""
    require_plugins("forward")
    async with run_instance(f".:0 {{\n loop\n forward . {upstream.addr}\n}}\n") as inst:
        h = loop_of(inst)
        await until(lambda: h.off)
        assert exits.count == 0
        assert h.seen == 1
        assert any(m.question[0].name.to_text() == h.qname for m in upstream.queried())
