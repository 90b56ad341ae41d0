"""cache in a running server: hits over UDP and TCP come from the cache-hit path with decremented TTLs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.IN.A
import dns.rrset
import pytest

from kdns.errors import PluginError
from kdns.plugin import Handler
from kdns.plugins.cache.plugin import Cache
from kdns.request import Request
from kdns.testing import PassThrough, RunningInstance, chain_plugin, run_instance
from kdns.writer import ResponseWriter


class Clock:
    def __init__(self) -> None:
        self.t = 5000.0

    def __call__(self) -> float:
        return self.t


@dataclass(slots=True)
class Origin:
    """Answers every A query with 10.0.0.1, TTL 300, owner as asked; counts calls; can play dead."""

    calls: int = 0
    dead: bool = False
    next: Handler | None = None
    name: str = "origin"

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        self.calls += 1
        if self.dead:
            raise PluginError("origin", "upstream down", dns.rcode.SERVFAIL)
        reply = req.reply()
        a = dns.rrset.RRset(req.msg.question[0].name, dns.rdataclass.IN, dns.rdatatype.A)
        a.add(dns.rdtypes.IN.A.A(dns.rdataclass.IN, dns.rdatatype.A, "10.0.0.1"), 300)
        reply.answer = [a]
        await w.write_msg(reply)
        return 0


@pytest.fixture
def origin() -> Iterator[Origin]:
    o = Origin()
    with (
        chain_plugin("origin", lambda nxt: o),
        chain_plugin("plain", lambda nxt: PassThrough(next=nxt), before="cache"),
    ):
        yield o


def cache_of(inst: RunningInstance) -> Cache:
    assert inst.runner.instance is not None
    h = inst.runner.instance.blocks[0].handlers["cache"]
    assert isinstance(h, Cache)
    return h


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_hits_come_from_the_fast_path(origin: Origin, proto: str) -> None:
    """After one miss, queries (any case, EDNS or not) are answered from bytes: the origin is not asked again,
    TTLs count down with the cache's clock, the question echoes the client's spelling, OPT mirrors the query."""
    async with run_instance(".:0 {\n cache\n origin\n}\n") as inst:
        cache = cache_of(inst)
        clock = Clock()
        cache.now = clock
        first = await inst.query("www.example.org", proto=proto)
        assert first.answer[0].ttl == 300
        clock.t += 100
        hit = await inst.query("WWW.Example.Org", proto=proto)
        assert (origin.calls, cache.wire_hits) == (1, 1)
        assert hit.answer[0].ttl == 200
        assert hit.flags & dns.flags.AA
        assert hit.question[0].name.to_text() == "WWW.Example.Org."
        assert hit.answer[0].name.to_text() == "WWW.Example.Org."
        assert hit.edns < 0
        q = dns.message.make_query("www.example.org", "A", use_edns=0, payload=1400)
        edns = await inst.query(q, proto=proto)
        assert (edns.edns, edns.payload, edns.answer[0].ttl) == (0, 1400, 200)
        assert (origin.calls, cache.wire_hits) == (1, 2)


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_full_path_hits_when_a_plugin_before_has_no_wire_form(origin: Origin, proto: str) -> None:
    """With a plugin before the cache that has no wire form, hits are served by serve_dns from the same entries."""
    async with run_instance(".:0 {\n plain\n cache\n origin\n}\n") as inst:
        cache = cache_of(inst)
        clock = Clock()
        cache.now = clock
        await inst.query("www.example.org", proto=proto)
        clock.t += 10
        hit = await inst.query("www.example.org", proto=proto)
        assert hit.answer[0].ttl == 290
        assert (origin.calls, cache.wire_hits) == (1, 0)


async def test_serve_stale_when_the_origin_is_dead(origin: Origin) -> None:
    """serve_stale: with the origin down, expired entries are answered with TTL 0 (UDP and TCP, fast path)."""
    async with run_instance(".:0 {\n cache {\n serve_stale 1h\n }\n origin\n}\n") as inst:
        cache = cache_of(inst)
        clock = Clock()
        cache.now = clock
        await inst.query("www.example.org")
        origin.dead = True
        clock.t += 400
        for proto in ("udp", "tcp"):
            r = await inst.query("www.example.org", proto=proto)
            assert r.rcode() == dns.rcode.NOERROR
            assert r.answer[0].ttl == 0
        assert cache.wire_hits == 2
        while cache.tasks:  # the background refreshes (failing) finish
            await next(iter(cache.tasks))
        assert origin.calls >= 2
        clock.t += 3600
        r = await inst.query("www.example.org")
        assert r.rcode() == dns.rcode.SERVFAIL


async def test_cache_in_front_of_hosts() -> None:
    """A real plugin behind the cache: hosts answers each key once, the cache the rest (DO and CD keyed apart)."""
    corefile = ".:0 {\n cache 60\n hosts {\n  ttl 30\n  10.1.1.1 db.example.org\n }\n}\n"
    async with run_instance(corefile) as inst:
        cache = cache_of(inst)
        plain = dns.message.make_query("db.example.org", "A")
        dnssec = dns.message.make_query("db.example.org", "A", want_dnssec=True)
        for q in (plain, dnssec, plain, dnssec):
            for proto in ("udp", "tcp"):
                r = await inst.query(q, proto=proto)
                assert [rd.address for rd in r.answer[0]] == ["10.1.1.1"]
                assert 29 <= r.answer[0].ttl <= 30
                assert r.flags & dns.flags.AA
                assert bool(r.ednsflags & dns.flags.DO) == (q is dnssec)
        nx = await inst.query("nope.example.org", proto="udp")
        assert nx.rcode() == dns.rcode.NXDOMAIN
        assert (await inst.query("nope.example.org", proto="udp")).rcode() == dns.rcode.NXDOMAIN
        # 2 keys x 2 protocols x 2 rounds, minus the 2 misses; NXDOMAIN without SOA is never cached
        assert cache.wire_hits == 6
        assert len(cache.store.success) == 2
        assert len(cache.store.denial) == 0
