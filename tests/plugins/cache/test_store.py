"""The cache rules without I/O: verdicts, TTL clamping, stale window, prefetch bookkeeping, capacity."""

from __future__ import annotations

import random

import dns.flags
import dns.message
import dns.rcode
import pytest

from kdns.plugins.cache.entry import Key, make_entry
from kdns.plugins.cache.store import DENIAL, SUCCESS, Options, Shards, Store
from kdns.testing import rr

KEY: Key = (b"\x07example\x03org\x00", 1, 1, False, False)
SOA = "example.org. {ttl} IN SOA ns.example.org. host.example.org. 1 7200 3600 1209600 {minimum}"


def reply(
    qname: str = "example.org.",
    qtype: str = "A",
    answer: tuple[str, ...] = (),
    ns: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
    rcode: int = dns.rcode.NOERROR,
    tc: bool = False,
) -> dns.message.Message:
    m = dns.message.make_response(dns.message.make_query(qname, qtype))
    m.answer = [rr(t) for t in answer]
    m.authority = [rr(t) for t in ns]
    m.additional = [rr(t) for t in extra]
    m.set_rcode(dns.rcode.Rcode.make(rcode))
    if tc:
        m.flags |= dns.flags.TC
    return m


A300 = ("example.org. 300 IN A 10.0.0.1",)


@pytest.mark.parametrize(
    ("msg", "opts", "kind", "duration"),
    [
        (reply(answer=A300), Options(), SUCCESS, 300),
        (reply(answer=("example.org. 300 IN A 10.0.0.1", "example.org. 20 IN A 10.0.0.2")), Options(), SUCCESS, 20),
        (reply(answer=A300, extra=("ns.example.org. 40 IN A 10.0.0.3",)), Options(), SUCCESS, 40),
        (reply(answer=A300), Options(success_ttl=60), SUCCESS, 60),
        (reply(answer=("example.org. 2 IN A 10.0.0.1",)), Options(), SUCCESS, 5),
        (reply(answer=("example.org. 2 IN A 10.0.0.1",)), Options(success_minttl=0), SUCCESS, 2),
        (reply(answer=("example.org. 9000 IN A 10.0.0.1",)), Options(), SUCCESS, 3600),
        (reply(), Options(), SUCCESS, 5),
        (reply(rcode=dns.rcode.NXDOMAIN, ns=(SOA.format(ttl=3600, minimum=60),)), Options(), DENIAL, 60),
        (reply(rcode=dns.rcode.NXDOMAIN, ns=(SOA.format(ttl=30, minimum=600),)), Options(), DENIAL, 30),
        (reply(rcode=dns.rcode.NXDOMAIN, ns=(SOA.format(ttl=9000, minimum=9000),)), Options(), DENIAL, 1800),
        (reply(rcode=dns.rcode.NXDOMAIN, ns=(SOA.format(ttl=9000, minimum=9000),)), Options(denial_ttl=5), DENIAL, 5),
        (reply(rcode=dns.rcode.NXDOMAIN, ns=(SOA.format(ttl=1, minimum=1),)), Options(), DENIAL, 5),
        (reply(ns=(SOA.format(ttl=3600, minimum=120),)), Options(), DENIAL, 120),
        (reply(rcode=dns.rcode.SERVFAIL), Options(), DENIAL, 5),
        (reply(rcode=dns.rcode.SERVFAIL), Options(servfail=30), DENIAL, 30),
        (
            reply(
                qtype="A",
                answer=("example.org. 300 IN CNAME www.example.net.",),
                ns=(SOA.format(ttl=3600, minimum=50),),
            ),
            Options(),
            DENIAL,
            50,
        ),
        (
            reply(qtype="A", answer=("example.org. 300 IN CNAME a.example.org.", "a.example.org. 100 IN A 10.0.0.1")),
            Options(),
            SUCCESS,
            100,
        ),
        (reply(qtype="CNAME", answer=("example.org. 300 IN CNAME a.example.org.",)), Options(), SUCCESS, 300),
        (reply(qtype="ANY", answer=A300), Options(), SUCCESS, 300),
        (reply(qtype="MX", answer=("example.org. 300 IN MX 10 mail.example.org.",)), Options(), SUCCESS, 300),
    ],
)
def test_verdict(msg: dns.message.Message, opts: Options, kind: str, duration: int) -> None:
    """Cached duration = clamp(min TTL (denial: also the SOA MINIMUM), MINTTL, TTL); SERVFAIL for `servfail`."""
    v = Store(opts).verdict(msg, "example.org.", do=False)
    assert (v.kind, v.duration) == (kind, duration)


@pytest.mark.parametrize(
    ("msg", "opts", "why"),
    [
        (reply(answer=A300, tc=True), Options(), "truncated"),
        (reply(rcode=dns.rcode.REFUSED), Options(), "REFUSED"),
        (reply(rcode=dns.rcode.FORMERR), Options(), "FORMERR"),
        (reply(rcode=dns.rcode.NOTIMP), Options(), "NOTIMP"),
        (reply(rcode=dns.rcode.NXDOMAIN), Options(), "NXDOMAIN without SOA"),
        (reply(qtype="AXFR", answer=A300), Options(), "a zone transfer"),
        (reply(qtype="A", answer=("example.org. 300 IN CNAME elsewhere.example.net.",)), Options(), "dangling CNAME"),
        (
            reply(qtype="MX", answer=("example.org. 300 IN CNAME a.example.org.", "a.example.org. 300 IN A 10.0.0.1")),
            Options(),
            "a chain that does not reach the asked type",
        ),
        (
            reply(answer=("example.org. 300 IN CNAME a.example.org.", "a.example.org. 300 IN CNAME example.org.")),
            Options(),
            "a CNAME loop",
        ),
        (reply(rcode=dns.rcode.SERVFAIL), Options(servfail=0), "servfail 0"),
        (reply(answer=("example.org. 0 IN A 10.0.0.1",)), Options(success_minttl=0), "TTL 0"),
        (reply(answer=A300), Options(disable_success=(".",)), "disable success"),
        (reply(answer=A300), Options(disable_success=("org.",)), "disable success org"),
        (reply(ns=(SOA.format(ttl=60, minimum=60),)), Options(disable_denial=("example.org.",)), "disable denial"),
    ],
)
def test_not_cached(msg: dns.message.Message, opts: Options, why: str) -> None:
    """What CoreDNS never caches (reference 2.3), and what `disable` or a zero duration leaves out."""
    assert Store(opts).verdict(msg, "example.org.", do=False).kind is None, why


def test_disable_is_per_zone() -> None:
    """`disable success example.net` leaves example.org cached."""
    store = Store(Options(disable_success=("example.net.",)))
    assert store.verdict(reply(answer=A300), "example.org.", do=False).kind == SUCCESS


def put(store: Store, msg: dns.message.Message, now: float, key: Key = KEY) -> None:
    v = store.verdict(msg, "example.org.", do=False)
    assert v.kind is not None
    store.put(key, make_entry(msg, v.kind, now, v.duration))


def test_ttl_decrements_with_the_clock() -> None:
    """An entry's TTL left is its duration minus whole seconds since it was stored; expired is a miss."""
    store = Store(Options())
    put(store, reply(answer=A300), 1000.0)
    found = store.get(KEY, 1000.0)
    assert found is not None
    assert found[1] == 300
    assert store.get(KEY, 1100.9) is not None
    assert store.get(KEY, 1100.9)[1] == 200  # type: ignore[index]
    assert store.get(KEY, 1299.5)[1] == 1  # type: ignore[index]
    assert store.get(KEY, 1300.0) is None


def test_stale_window() -> None:
    """With serve_stale, an expired entry is served (TTL left <= 0) until DUR past expiry, then it is a miss."""
    store = Store(Options(stale=60))
    put(store, reply(answer=A300), 1000.0)
    assert store.get(KEY, 1300.0)[1] == 0  # type: ignore[index]
    assert store.get(KEY, 1359.0)[1] == -59  # type: ignore[index]
    assert store.get(KEY, 1360.0) is None


def test_denial_and_success_replace_each_other() -> None:
    """The newest answer wins: NXDOMAIN replaces a positive entry and a positive one replaces the denial."""
    store = Store(Options(stale=3600))
    put(store, reply(answer=A300), 1000.0)
    put(store, reply(rcode=dns.rcode.NXDOMAIN, ns=(SOA.format(ttl=60, minimum=60),)), 1001.0)
    assert store.get(KEY, 1002.0)[0].kind == DENIAL  # type: ignore[index]
    assert len(store.success) == 0
    put(store, reply(answer=A300), 1003.0)
    assert store.get(KEY, 1004.0)[0].kind == SUCCESS  # type: ignore[index]
    assert len(store.denial) == 0


def test_cached_servfail_gives_way_to_a_usable_positive_entry() -> None:
    """A SERVFAIL stored by a failed refresh does not hide the (stale) positive entry; alone it is served."""
    store = Store(Options(stale=3600))
    put(store, reply(answer=A300), 1000.0)
    put(store, reply(rcode=dns.rcode.SERVFAIL), 1400.0)
    entry, left = store.get(KEY, 1401.0)  # type: ignore[misc]
    assert (entry.kind, entry.rcode, left) == (SUCCESS, 0, -101)
    other: Key = (b"\x03www\x07example\x03org\x00", 1, 1, False, False)
    put(store, reply(rcode=dns.rcode.SERVFAIL), 1400.0, key=other)
    assert store.get(other, 1401.0)[0].rcode == dns.rcode.SERVFAIL  # type: ignore[index]
    fresh = Store(Options())
    put(fresh, reply(rcode=dns.rcode.SERVFAIL), 1400.0)
    assert fresh.get(KEY, 1404.0) is not None
    assert fresh.get(KEY, 1405.0) is None  # 5 s later the SERVFAIL has expired


def test_prefetch_trigger() -> None:
    """`prefetch 3 1m 10%`: the 3rd hit without a gap of 1m, once the TTL left is at most 10% (ceil), triggers."""
    store = Store(Options(prefetch=3, prefetch_window=60, prefetch_pct=10))
    put(store, reply(answer=A300), 1000.0)
    e = store.peek(KEY)
    assert e is not None
    assert not store.should_prefetch(e, 280, 1020.0)  # hit 1
    assert not store.should_prefetch(e, 240, 1060.0)  # hit 2
    assert not store.should_prefetch(e, 200, 1100.0)  # hit 3, but 200s left > 30s
    assert not store.should_prefetch(e, 31, 1269.0)  # 169s gap: the count starts again at 1
    assert not store.should_prefetch(e, 30, 1270.0)  # hit 2
    assert store.should_prefetch(e, 29, 1271.0)  # hit 3 at 29s <= 30s
    assert e.hits == 3


def test_prefetch_off() -> None:
    """Without `prefetch` no hit ever triggers one."""
    store = Store(Options())
    put(store, reply(answer=A300), 1000.0)
    e = store.peek(KEY)
    assert e is not None
    assert not any(store.should_prefetch(e, 1, 1299.0) for _ in range(10))


def key(i: int) -> Key:
    return (f"\x04n{i:03d}\x07example\x03org\x00".encode(), 1, 1, False, False)


def test_eviction_at_capacity() -> None:
    """A full shard evicts one random entry for a new key; an existing key is replaced without eviction."""
    shards = Shards(4, shards=1, rand=random.Random(7))
    e = make_entry(reply(answer=A300), SUCCESS, 0.0, 300)
    assert [shards.put(key(i), e) for i in range(4)] == [False] * 4
    assert shards.put(key(0), e) is False
    assert shards.put(key(4), e) is True
    assert len(shards) == 4
    assert shards.get(key(4)) is e
    assert sum(shards.get(key(i)) is not None for i in range(4)) == 3


def test_eviction_is_per_shard() -> None:
    """Capacity 1024 over 256 shards: 4 per shard, so evictions start before 1024 entries are stored."""
    store = Store(Options(success_cap=1024))
    e = make_entry(reply(answer=A300), SUCCESS, 0.0, 300)
    evicted = sum(store.put(key(i), e) for i in range(1024))
    assert evicted > 0
    assert len(store.success) == 1024 - evicted
    assert all(len(s) <= 4 for s in store.success.shards)
