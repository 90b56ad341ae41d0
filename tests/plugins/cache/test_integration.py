"""cache in a running server: hits over UDP and TCP come from the cache-hit path with decremented TTLs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.IN.A
import dns.rrset
import pytest

from kdns.core.server import Server
from kdns.errors import PluginError
from kdns.metrics import REGISTRY
from kdns.plugin import Handler
from kdns.plugins.cache.entry import make_entry
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


def server_of(inst: RunningInstance) -> Server:
    server = next(iter(inst.runner.listeners.values())).state.server
    assert server is not None
    return server


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_the_same_query_bytes_replay_the_hit_until_the_ttl_changes(origin: Origin, proto: str) -> None:
    """A query identical in its bytes (ID aside) to a hit is answered again from that hit: same records, its
    own ID, the hit counted; once the cache's clock moves a second the TTL goes down as usual."""
    async with run_instance(".:0 {\n cache\n origin\n}\n") as inst:
        cache = cache_of(inst)
        server = server_of(inst)
        clock = Clock()
        cache.now = clock
        await inst.query("www.example.org", proto=proto)
        q = dns.message.make_query("www.example.org", "A", use_edns=0, payload=1232)
        first = await inst.query(q, proto=proto)  # a hit: remembered by its bytes
        assert server.replayed == 0
        for qid in (1, 2, 3):
            q.id = qid
            r = await inst.query(q, proto=proto)
            assert r.id == qid
            assert r.answer == first.answer
            assert r.answer[0].ttl == 300
        assert server.replayed == 3
        assert (origin.calls, cache.wire_hits) == (1, 4)
        clock.t += 1.0
        r = await inst.query(q, proto=proto)
        assert r.answer[0].ttl == 299
        assert server.replayed == 3  # the clock moved: the hit was looked up again
        r = await inst.query(q, proto=proto)
        assert (r.answer[0].ttl, server.replayed) == (299, 4)


async def test_a_replaced_entry_is_not_replayed(origin: Origin) -> None:
    """When the entry behind a remembered hit is replaced, the next identical query gets the new entry."""
    async with run_instance(".:0 {\n cache\n origin\n}\n") as inst:
        cache = cache_of(inst)
        server = server_of(inst)
        q = dns.message.make_query("www.example.org", "A")
        await inst.query(q)
        await inst.query(q)
        await inst.query(q)
        assert server.replayed == 1
        key = (b"\x03www\x07example\x03org\x00", 1, 1, False, False)
        old = cache.store.peek(key)
        assert old is not None
        new = make_entry(
            dns.message.from_wire(bytes(old.reply(0, 0, old.wire[12 : old.qend], 300, False))),
            "success",
            cache.now(),
            60,
        )
        cache.store.put(key, new)
        assert old.dead
        r = await inst.query(q)
        assert r.answer[0].ttl == 60
        assert server.replayed == 1


async def test_a_replay_still_runs_the_plugins_before_the_cache(origin: Origin) -> None:
    """acl runs for every replayed query: the same bytes from a blocked address are refused."""
    corefile = ".:0 {\n acl {\n  block net 127.0.0.2/32\n }\n cache\n origin\n}\n"
    async with run_instance(corefile) as inst:
        server = server_of(inst)
        q = dns.message.make_query("www.example.org", "A")
        for _ in range(3):
            r = await inst.query(q)
            assert r.rcode() == dns.rcode.NOERROR
        assert server.replayed == 1
        blocked = await dns.asyncquery.udp(q, "127.0.0.1", port=inst.port, source="127.0.0.2", timeout=2)
        assert blocked.rcode() == dns.rcode.REFUSED
        assert server.replayed == 1
        assert (await inst.query(q)).rcode() == dns.rcode.NOERROR
        assert server.replayed == 2


async def test_replayed_hits_are_counted_like_any_hit(origin: Origin) -> None:
    """prometheus counts every replayed query (requests, responses by rcode and plugin, cache hits)."""
    async with run_instance(".:0 {\n prometheus 127.0.0.1:0\n cache\n origin\n}\n") as inst:
        server = server_of(inst)
        label = server.label
        q = dns.message.make_query("counted.example.org", "A")
        for _ in range(5):
            assert (await inst.query(q)).rcode() == dns.rcode.NOERROR
        assert server.replayed == 3
        requests = REGISTRY.get_sample_value(
            "coredns_dns_requests_total",
            {"server": label, "zone": ".", "view": "", "proto": "udp", "family": "1", "type": "A"},
        )
        hits = REGISTRY.get_sample_value(
            "coredns_dns_responses_total",
            {"server": label, "zone": ".", "view": "", "rcode": "NOERROR", "plugin": "cache"},
        )
        cache_hits = REGISTRY.get_sample_value(
            "coredns_cache_hits_total", {"server": label, "type": "success", "zones": ".", "view": ""}
        )
        assert (requests, hits, cache_hits) == (5, 4, 4)
