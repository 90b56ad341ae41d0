"""The cache-hit path: plain queries parsed from bytes, answered by a wire cache, others fall through."""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.rcode
import pytest

from kdns.core import fastpath
from kdns.core.fastpath import WireQuery
from kdns.plugin import Handler, next_or_failure
from kdns.request import Request
from kdns.testing import PassThrough, chain_plugin, run_instance
from kdns.writer import ResponseWriter

REMOTE = ("127.0.0.1", 5353)


def wire(name: str = "Example.ORG.", qtype: str = "A", **kw: object) -> bytes:
    return dns.message.make_query(name, qtype, **kw).to_wire()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name", ["a\\.b.example.", "A\\040B.Example.", "\\(x\\).example.", "x\\255y.example.", "semi\\;colon.", "."]
)
def test_qname_is_the_full_paths(name: str) -> None:
    """The wire path's qname is Request.qname, escapes and all (read from the bytes when first asked for)."""
    data = wire(name)
    q = fastpath.parse(data, REMOTE, "udp")
    assert q is not None
    assert q.qname == Request(dns.message.from_wire(data)).qname


class TestParse:
    def test_plain_query(self) -> None:
        """Header, question and a lower-cased name are read from the bytes."""
        q = fastpath.parse(wire(), REMOTE, "udp")
        assert q is not None
        assert (q.qname, q.qkey, q.qtype, q.qclass) == ("example.org.", b"\x07example\x03org\x00", 1, 1)
        assert (q.edns, q.do, q.size) == (False, False, 512)

    def test_edns_do_and_size(self) -> None:
        """The OPT record gives the client's size and DO; TCP always allows 64 KiB."""
        q = fastpath.parse(wire(use_edns=0, payload=1232, want_dnssec=True), REMOTE, "udp")
        assert q is not None
        assert (q.edns, q.do, q.size) == (True, True, 1232)
        q = fastpath.parse(wire(use_edns=0, payload=1232), REMOTE, "tcp")
        assert q is not None
        assert q.size == 65535

    @pytest.mark.parametrize(
        ("data", "why"),
        [
            (wire(use_edns=1), "EDNS version 1 needs BADVERS from the full path"),
            (b"\x00\x01\x81\x00" + wire()[4:], "a response"),
            (wire()[:2] + struct.pack("!H", 0x2800) + wire()[4:], "opcode UPDATE"),
            (wire() + b"\x00", "trailing bytes"),
            (wire()[:-3], "truncated question"),
            (wire()[:12] + b"\xc0\x0c" + wire()[-4:], "a pointer in the question"),
            (b"\x00" * 11, "shorter than a header"),
        ],
    )
    def test_unusual_queries_take_the_full_path(self, data: bytes, why: str) -> None:
        """Anything but a plain query gives None, so the full path (with its error rules) answers."""
        assert fastpath.parse(data, REMOTE, "udp") is None, why


@dataclass(slots=True)
class FakeCache:
    """A wire cache answering one name from canned bytes, counting what it saw."""

    next: Handler | None = None
    name: str = "fakecache"
    hits: int = 0
    full: int = 0
    seen: list[str] = field(default_factory=list)

    def wire_lookup(self, q: WireQuery) -> tuple[bytearray, int] | None:
        self.seen.append(q.qname)
        if q.qname != "cached.example.org.":
            return None
        self.hits += 1
        reply = dns.message.make_response(dns.message.from_wire(q.wire))
        reply.flags |= dns.flags.AA
        return bytearray(reply.to_wire()), dns.rcode.NOERROR

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        self.full += 1
        return await next_or_failure(self.name, self.next, w, req)


def fake_cache(cache: FakeCache) -> contextlib.AbstractContextManager[None]:
    """Directive ``fakecache`` (where *cache* goes) puts ``cache`` in the chain."""

    def make(nxt: Handler | None) -> Handler:
        cache.next = nxt
        return cache

    return chain_plugin("fakecache", make, before="cache")


@dataclass(slots=True)
class Stage:
    """A plugin before the cache with a wire form that records the order of calls."""

    log: list[str]
    passing: bool = True
    next: Handler | None = None
    name: str = "stage"

    def wire_pass(self, q: WireQuery) -> bool:
        self.log.append("pass")
        return self.passing

    def wire_done(self, q: WireQuery, reply: bytearray, rcode: int) -> None:
        self.log.append(f"done {rcode}")

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        self.log.append("full")
        return await next_or_failure(self.name, self.next, w, req)


async def test_cache_hit_answers_from_bytes_and_misses_take_the_full_path() -> None:
    """A hit never reaches serve_dns; a miss goes down the chain to whoami; stages see both."""
    cache = FakeCache()
    calls: list[str] = []

    with fake_cache(cache), chain_plugin("stage", lambda nxt: Stage(calls, next=nxt), before="log"):
        async with run_instance(".:0 {\n stage\n fakecache\n whoami\n}\n") as inst:
            for proto in ("udp", "tcp"):
                hit = await inst.query("Cached.Example.ORG", proto=proto)
                assert hit.flags & dns.flags.AA
                assert not hit.additional
                miss = await inst.query("other.example.org", proto=proto)
                assert miss.additional  # whoami answered
    assert cache.hits == 2
    assert cache.full == 2
    assert calls == ["pass", "done 0", "pass", "full"] * 2


async def test_stage_refusal_sends_the_query_down_the_full_path() -> None:
    """When a plugin before the cache says no, the cache's wire lookup is not even asked."""
    cache = FakeCache()
    calls: list[str] = []

    with fake_cache(cache), chain_plugin("stage", lambda nxt: Stage(calls, passing=False, next=nxt), before="log"):
        async with run_instance(".:0 {\n stage\n fakecache\n whoami\n}\n") as inst:
            r = await inst.query("cached.example.org")
    assert r.additional  # answered by whoami through the full path
    assert cache.seen == []
    assert (cache.hits, cache.full) == (0, 1)


async def test_a_plugin_without_wire_form_disables_the_fast_path() -> None:
    """A plugin with no wire form before the cache: every query takes the full path."""
    cache = FakeCache()

    with fake_cache(cache), chain_plugin("plain", PassThrough, before="log"):
        async with run_instance(".:0 {\n plain\n fakecache\n whoami\n}\n") as inst:
            assert inst.runner.instance is not None
            assert all(s.fast is None for s in inst.runner.instance.servers.values())
            r = await inst.query("cached.example.org")
    assert r.additional
    assert (cache.hits, cache.full) == (0, 1)
