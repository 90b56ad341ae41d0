"""The cache handler on both ways in: serve_dns (full path) and wire_lookup (the cache-hit path)."""

from __future__ import annotations

import asyncio
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import pytest

from kdns.errors import PluginError
from kdns.testing import Case, FakeWriter, sample

SOA = "example.org. {ttl} IN SOA ns.example.org. host.example.org. 1 7200 3600 1209600 {minimum}"
PATHS = ("full", "wire")


async def ask(kit: Any, cache: Any, path: str, q: dns.message.Message) -> dns.message.Message:
    """A reply from ``path``; the wire path must answer (a hit)."""
    if path == "wire":
        data = kit.wire(cache, q)
        assert data is not None, "the cache-hit path did not answer"
    else:
        _, data = await kit.full(cache, q)
    return dns.message.from_wire(data)


CASES = [
    # (cache config, backend reply, seconds between miss and hit, the hit expected)
    (
        "cache",
        {"answer": ("example.org. 300 IN A 10.0.0.1",)},
        10,
        Case("example.org.", answer=["example.org. 290 IN A 10.0.0.1"], authoritative=True),
    ),
    (
        "cache",
        {"answer": ("example.org. 300 IN A 10.0.0.1", "example.org. 300 IN A 10.0.0.2"), "aa": False},
        0,
        Case(
            "example.org.",
            answer=["example.org. 300 IN A 10.0.0.1", "example.org. 300 IN A 10.0.0.2"],
            authoritative=True,
        ),
    ),
    (
        "cache 30",
        {"answer": ("example.org. 300 IN A 10.0.0.1",)},
        10,
        Case("example.org.", answer=["example.org. 20 IN A 10.0.0.1"]),
    ),
    (
        "cache",
        {"answer": ("example.org. 2 IN A 10.0.0.1",)},
        1,
        Case("example.org.", answer=["example.org. 4 IN A 10.0.0.1"]),
    ),
    (
        "cache {\n keepttl\n}",
        {"answer": ("example.org. 300 IN A 10.0.0.1",)},
        100,
        Case("example.org.", answer=["example.org. 300 IN A 10.0.0.1"]),
    ),
    (
        "cache",
        {"rcode": dns.rcode.NXDOMAIN, "ns": (SOA.format(ttl=3600, minimum=60),)},
        15,
        Case("example.org.", rcode=dns.rcode.NXDOMAIN, ns=[SOA.format(ttl=45, minimum=60)]),
    ),
    (
        "cache",
        {"ns": (SOA.format(ttl=3600, minimum=60),)},
        30,
        Case("example.org.", ns=[SOA.format(ttl=30, minimum=60)]),
    ),
    (
        "cache",
        {"rcode": dns.rcode.SERVFAIL},
        4,
        Case("example.org.", rcode=dns.rcode.SERVFAIL),
    ),
    (
        "cache",
        {
            "answer": ("example.org. 300 IN MX 10 mail.example.org.",),
            "extra": ("mail.example.org. 100 IN A 10.0.0.9",),
        },
        0,
        Case(
            "example.org.",
            qtype="MX",
            answer=["example.org. 100 IN MX 10 mail.example.org."],
            extra=["mail.example.org. 100 IN A 10.0.0.9"],
        ),
    ),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("config", "spec", "later", "tc"), CASES, ids=[f"{c[0]}-{c[3]}-{i}" for i, c in enumerate(CASES)]
)
async def test_hit_after_miss(
    kit: Any, clock: Any, path: str, config: str, spec: dict[str, Any], later: int, tc: Case
) -> None:
    """The first query goes to the next plugin; a later one is answered from the cache (next not called),
    with AA set and every TTL the stored duration minus the time since (or the stored one with keepttl)."""
    backend = kit.Backend(default=kit.Spec(**spec))
    cache = kit.make_cache(config, backend, clock)
    q = tc.msg()
    await kit.full(cache, q)
    assert backend.calls == 1
    clock.advance(later)
    hit = await ask(kit, cache, path, tc.msg())
    assert backend.calls == 1
    tc.check(hit.rcode(), hit)
    assert hit.flags & dns.flags.AA


async def test_miss_reply_gets_the_capped_ttl(kit: Any, clock: Any) -> None:
    """On a miss every record is written with the cached duration (CoreDNS: no 1799 -> 8 jump later)."""
    spec = kit.Spec(answer=("example.org. 9000 IN A 10.0.0.1",), extra=("ns.example.org. 40 IN A 10.0.0.2",))
    cache = kit.make_cache("cache", kit.Backend(default=spec), clock)
    _, data = await kit.full(cache, kit.query("example.org."))
    assert kit.ttls(data) == [40, 40]


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ({"rcode": dns.rcode.REFUSED}, "REFUSED"),
        ({"rcode": dns.rcode.FORMERR}, "FORMERR"),
        ({"rcode": dns.rcode.NOTIMP}, "NOTIMP"),
        ({"rcode": dns.rcode.NXDOMAIN}, "NXDOMAIN without SOA"),
        ({"answer": ("example.org. 300 IN A 10.0.0.1",), "tc": True}, "truncated"),
        ({"answer": ("example.org. 300 IN CNAME gone.example.net.",)}, "dangling CNAME"),
    ],
)
async def test_not_cached_replies_go_to_next_every_time(kit: Any, clock: Any, spec: dict[str, Any], why: str) -> None:
    """Replies the cache must not keep: every query reaches the next plugin, and the wire path misses."""
    backend = kit.Backend(default=kit.Spec(**spec))
    cache = kit.make_cache("cache", backend, clock)
    for _ in range(2):
        await kit.full(cache, kit.query("example.org."))
        assert kit.wire(cache, kit.query("example.org.")) is None, why
    assert backend.calls == 2, why


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"do": False}, {"do": True}),
        ({"do": True}, {"do": False}),
        ({"cd": False}, {"cd": True}),
        ({}, {"qtype": "AAAA"}),
    ],
)
async def test_key_includes_type_do_and_cd(kit: Any, clock: Any, first: dict[str, Any], second: dict[str, Any]) -> None:
    """Queries differing in type, DO or CD have separate entries; the same query with EDNS or not shares one."""
    backend = kit.Backend(default=kit.Spec(answer=("example.org. 300 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache", backend, clock)
    await kit.full(cache, kit.query("example.org.", **first))
    assert kit.wire(cache, kit.query("example.org.", **second)) is None
    await kit.full(cache, kit.query("example.org.", **second))
    assert backend.calls == 2
    assert kit.wire(cache, kit.query("Example.ORG.", edns=True, **{**first, "do": first.get("do", False)})) is not None


@pytest.mark.parametrize("path", PATHS)
async def test_ad_bit_only_for_dnssec_aware_clients(kit: Any, clock: Any, path: str) -> None:
    """AD from the upstream is cleared unless the query has DO or AD, on the miss and on hits."""
    backend = kit.Backend(default=kit.Spec(answer=("example.org. 300 IN A 10.0.0.1",), ad=True))
    cache = kit.make_cache("cache", backend, clock)
    _, miss = await kit.full(cache, kit.query("example.org."))
    assert not dns.message.from_wire(miss).flags & dns.flags.AD
    assert not (await ask(kit, cache, path, kit.query("example.org."))).flags & dns.flags.AD
    with_ad = kit.query("example.org.")
    with_ad.flags |= dns.flags.AD
    assert (await ask(kit, cache, path, with_ad)).flags & dns.flags.AD
    _, miss_do = await kit.full(cache, kit.query("example.org.", do=True))
    assert dns.message.from_wire(miss_do).flags & dns.flags.AD
    assert (await ask(kit, cache, path, kit.query("example.org.", do=True))).flags & dns.flags.AD


async def test_names_outside_the_zones_pass_through(kit: Any, clock: Any) -> None:
    """`cache example.org`: other names always go to the next plugin and are never stored."""
    backend = kit.Backend(default=kit.Spec(answer=("www.example.net. 300 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache example.org", backend, clock)
    for _ in range(2):
        await kit.full(cache, kit.query("www.example.net."))
        assert kit.wire(cache, kit.query("www.example.net.")) is None
    assert backend.calls == 2
    assert len(cache.store.success) == 0


async def test_disable_success_for_a_zone(kit: Any, clock: Any) -> None:
    """`disable success example.org`: positive answers there are not stored; elsewhere they are."""
    backend = kit.Backend(default=kit.Spec(answer=("a.example.org. 300 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache {\n disable success example.org\n}", backend, clock)
    await kit.full(cache, kit.query("a.example.org."))
    assert kit.wire(cache, kit.query("a.example.org.")) is None
    backend.default = kit.Spec(answer=("a.example.net. 300 IN A 10.0.0.1",))
    await kit.full(cache, kit.query("a.example.net."))
    assert kit.wire(cache, kit.query("a.example.net.")) is not None


async def test_reply_to_another_question_is_dropped(kit: Any, clock: Any) -> None:
    """A reply whose question is not the query's is passed on but not stored, and counted in drops_total."""

    class Other(kit.Backend):  # type: ignore[misc, name-defined]
        async def serve_dns(self, w: Any, req: Any) -> int:
            self.calls += 1
            m = dns.message.make_response(dns.message.make_query("other.example.org.", "A"))
            m.id = req.id
            await w.write_msg(m)
            return 0

    labels = {"server": kit.SERVER, "zones": ".", "view": ""}
    before = sample("coredns_cache_drops_total", **labels)
    backend = Other()
    cache = kit.make_cache("cache", backend, clock)
    await kit.full(cache, kit.query("example.org."))
    await kit.full(cache, kit.query("example.org."))
    assert backend.calls == 2
    assert sample("coredns_cache_drops_total", **labels) == before + 2


@pytest.mark.parametrize("path", PATHS)
async def test_prefetch_refreshes_a_popular_entry(kit: Any, clock: Any, path: str) -> None:
    """`prefetch 2 1m 10%`: the 2nd hit within 10% of the TTL refreshes the entry in the background."""
    backend = kit.Backend(default=kit.Spec(answer=("example.org. 100 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache {\n prefetch 2 1m 10%\n}", backend, clock)
    await kit.full(cache, kit.query("example.org."))
    clock.advance(89)
    await ask(kit, cache, path, kit.query("example.org."))  # hit 1, 11s left: not yet
    clock.advance(1)
    hit = await ask(kit, cache, path, kit.query("example.org."))  # hit 2, 10s left: prefetch
    assert kit.ttls(hit.to_wire()) == [10]  # this reply still comes from the old entry
    await kit.settle(cache)
    assert backend.calls == 2
    assert backend.seen[-1].proto == "tcp"  # refreshes ask as a TCP client (no truncation)
    fresh = await ask(kit, cache, path, kit.query("example.org."))
    assert kit.ttls(fresh.to_wire()) == [100]
    entry = cache.store.peek((b"\x07example\x03org\x00", 1, 1, False, False))
    assert entry.hits >= 2  # the refreshed entry keeps the popularity it had


@pytest.mark.parametrize("path", PATHS)
async def test_one_refresh_in_flight_per_item(kit: Any, clock: Any, path: str) -> None:
    """While a refresh of an entry is running, more hits do not start another one."""
    backend = kit.Backend(default=kit.Spec(answer=("example.org. 100 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache {\n prefetch 1\n}", backend, clock)
    await kit.full(cache, kit.query("example.org."))
    backend.gate = asyncio.Event()
    clock.advance(95)
    for _ in range(5):
        await ask(kit, cache, path, kit.query("example.org."))
    await asyncio.sleep(0)  # let the refresh task reach the backend
    assert len(cache.tasks) == 1
    assert backend.calls == 2
    backend.gate.set()
    await kit.settle(cache)
    assert backend.calls == 2


@pytest.mark.parametrize("path", PATHS)
async def test_serve_stale_immediate(kit: Any, clock: Any, path: str) -> None:
    """Expired entries are answered with TTL 0 at once and refreshed in the background; a dead next plugin
    keeps the stale answer coming until DUR past expiry, then queries fail."""
    backend = kit.Backend(default=kit.Spec(answer=("example.org. 60 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache {\n serve_stale 1h\n}", backend, clock)
    await kit.full(cache, kit.query("example.org."))
    backend.fail = True
    clock.advance(120)
    stale = await ask(kit, cache, path, kit.query("example.org."))
    assert kit.ttls(stale.to_wire()) == [0]
    assert stale.answer[0][0].address == "10.0.0.1"
    await kit.settle(cache)
    assert backend.calls == 2  # the refresh ran and failed
    clock.advance(60)
    assert kit.ttls((await ask(kit, cache, path, kit.query("example.org."))).to_wire()) == [0]
    await kit.settle(cache)
    backend.fail = False
    backend.default = kit.Spec(answer=("example.org. 60 IN A 10.0.0.2",))
    await ask(kit, cache, path, kit.query("example.org."))
    await kit.settle(cache)
    fresh = await ask(kit, cache, path, kit.query("example.org."))
    assert (kit.ttls(fresh.to_wire()), fresh.answer[0][0].address) == ([60], "10.0.0.2")
    backend.fail = True
    clock.advance(60 + 3600)
    assert kit.wire(cache, kit.query("example.org.")) is None
    with pytest.raises(PluginError):
        await kit.full(cache, kit.query("example.org."))


async def test_serve_stale_verify(kit: Any, clock: Any) -> None:
    """verify: an expired entry is refreshed before answering; stale (TTL 0) only when the refresh fails.
    The cache-hit path leaves such queries to the full path."""
    backend = kit.Backend(default=kit.Spec(answer=("example.org. 60 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache {\n serve_stale 1h verify\n}", backend, clock)
    await kit.full(cache, kit.query("example.org."))
    clock.advance(61)
    assert kit.wire(cache, kit.query("example.org.")) is None
    backend.default = kit.Spec(answer=("example.org. 60 IN A 10.0.0.2",))
    _, data = await kit.full(cache, kit.query("example.org."))
    m = dns.message.from_wire(data)
    assert (kit.ttls(data), m.answer[0][0].address, backend.calls) == ([60], "10.0.0.2", 2)
    clock.advance(61)
    backend.default = kit.Spec(rcode=dns.rcode.SERVFAIL)
    _, data = await kit.full(cache, kit.query("example.org."))
    m = dns.message.from_wire(data)
    assert (m.rcode(), kit.ttls(data), m.answer[0][0].address, backend.calls) == (0, [0], "10.0.0.2", 3)
    backend.fail = True
    _, data = await kit.full(cache, kit.query("example.org."))
    assert (kit.ttls(data), backend.calls) == ([0], 4)


async def test_serve_stale_verify_joins_the_refresh_in_flight(kit: Any, clock: Any) -> None:
    """Two clients hitting the same expired entry under verify wait for one refresh."""
    backend = kit.Backend(default=kit.Spec(answer=("example.org. 60 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache {\n serve_stale 1h verify\n}", backend, clock)
    await kit.full(cache, kit.query("example.org."))
    clock.advance(61)
    backend.gate = asyncio.Event()
    t1 = asyncio.create_task(kit.full(cache, kit.query("example.org.")))
    t2 = asyncio.create_task(kit.full(cache, kit.query("example.org.")))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    backend.gate.set()
    results = await asyncio.gather(t1, t2)
    assert backend.calls == 2
    assert all(kit.ttls(data) == [60] for _, data in results)


async def test_big_reply_takes_the_full_path_over_udp(kit: Any, clock: Any) -> None:
    """A cached reply larger than the client's UDP size is not answered by the wire path; the full path truncates."""
    txt = tuple(f'example.org. 300 IN TXT "{i:03d}{"x" * 200}"' for i in range(5))
    backend = kit.Backend(default=kit.Spec(answer=txt))
    cache = kit.make_cache("cache", backend, clock)
    await kit.full(cache, kit.query("example.org.", "TXT"), proto="tcp")
    assert kit.wire(cache, kit.query("example.org.", "TXT")) is None
    assert kit.wire(cache, kit.query("example.org.", "TXT", edns=True, payload=4096)) is not None
    _, data = await kit.full(cache, kit.query("example.org.", "TXT"))
    assert dns.message.from_wire(data).flags & dns.flags.TC
    assert backend.calls == 1


async def test_metrics(kit: Any, clock: Any) -> None:
    """requests, hits by type, misses, served_stale, prefetch, evictions and entries, labelled server/zones/view."""
    server = "dns://metrics-test:53"
    backend = kit.Backend(default=kit.Spec(answer=("a.example.org. 60 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache example.org example.net {\n serve_stale\n}", backend, clock)
    base = {"server": server, "zones": "example.org.,example.net.", "view": ""}

    async def q(name: str) -> None:
        req = kit.request(kit.query(name))
        req.server = server
        await cache.serve_dns(FakeWriter(), req)

    await q("a.example.org.")
    await q("a.example.org.")
    backend.default = kit.Spec(rcode=dns.rcode.NXDOMAIN, ns=(SOA.format(ttl=60, minimum=60),))
    await q("b.example.org.")
    await q("b.example.org.")
    clock.advance(100)
    await q("a.example.org.")
    await kit.settle(cache)
    assert sample("coredns_cache_requests_total", **base) == 5
    assert sample("coredns_cache_misses_total", **base) == 2
    assert sample("coredns_cache_hits_total", type="success", **base) == 2
    assert sample("coredns_cache_hits_total", type="denial", **base) == 1
    assert sample("coredns_cache_served_stale_total", **base) == 1
    assert sample("coredns_cache_prefetch_total", **base) == 1
    assert sample("coredns_cache_entries", type="success", **base) == 0  # the refresh got NXDOMAIN
    assert sample("coredns_cache_entries", type="denial", **base) == 2
    assert sample("coredns_cache_evictions_total", type="success", **base) == 0


async def test_stop_cancels_refreshes(kit: Any, clock: Any) -> None:
    """When the config goes away, refreshes still waiting on the next plugin are cancelled."""
    backend = kit.Backend(default=kit.Spec(answer=("example.org. 100 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache {\n prefetch 1\n}", backend, clock)
    await kit.full(cache, kit.query("example.org."))
    backend.gate = asyncio.Event()
    clock.advance(95)
    await kit.full(cache, kit.query("example.org."))
    assert len(cache.tasks) == 1
    await cache.stop()
    assert not cache.tasks


async def drain(cache: Any) -> None:
    """Wait for the cache's background refreshes."""
    while cache.tasks:
        await next(iter(cache.tasks))


async def test_serve_stale_ttl(kit: Any, clock: Any) -> None:
    """serve_stale's STALE_TTL is the TTL of stale answers, on both paths (0 without it)."""
    backend = kit.Backend(default=kit.Spec(answer=("example.org. 60 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache {\n serve_stale 1h immediate 30s\n}", backend, clock)
    await kit.full(cache, kit.query("example.org."))
    clock.advance(61)
    backend.fail = True
    wire = kit.wire(cache, kit.query("example.org."))
    assert wire is not None
    assert kit.ttls(wire) == [30]
    _, data = await kit.full(cache, kit.query("example.org.", edns=True))
    assert kit.ttls(data) == [30]
    await drain(cache)


async def test_serve_stale_failure_recheck(kit: Any, clock: Any) -> None:
    """After a failed refresh, stale answers come without asking again until FAILURE_RECHECK has passed."""
    backend = kit.Backend(default=kit.Spec(answer=("example.org. 60 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache {\n serve_stale 1h immediate 0s 30s\n}", backend, clock)
    await kit.full(cache, kit.query("example.org."))
    clock.advance(61)
    backend.fail = True
    assert kit.wire(cache, kit.query("example.org.")) is not None  # stale; starts a refresh, which fails
    await drain(cache)
    assert backend.calls == 2
    for _ in range(3):
        clock.advance(5)
        assert kit.wire(cache, kit.query("example.org.")) is not None
        await kit.full(cache, kit.query("example.org.", edns=True))
        await drain(cache)
    assert backend.calls == 2  # within the recheck: no new refresh
    clock.advance(20)
    backend.fail = False
    assert kit.wire(cache, kit.query("example.org.")) is not None
    await drain(cache)
    assert backend.calls == 3
    fresh = kit.wire(cache, kit.query("example.org."))
    assert fresh is not None
    assert kit.ttls(fresh) == [60]


async def test_serve_stale_verify_timeout(kit: Any, clock: Any) -> None:
    """verify with a timeout: a slow refresh does not hold the client past it (stale answer); when the refresh
    completes later, the next query gets the fresh entry."""
    backend = kit.Backend(default=kit.Spec(answer=("example.org. 60 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache {\n serve_stale 1h verify 50ms\n}", backend, clock)
    await kit.full(cache, kit.query("example.org."))
    clock.advance(61)
    backend.gate = asyncio.Event()
    backend.default = kit.Spec(answer=("example.org. 60 IN A 10.0.0.2",))
    _, data = await kit.full(cache, kit.query("example.org."))
    m = dns.message.from_wire(data)
    assert (m.answer[0][0].address, kit.ttls(data)) == ("10.0.0.1", [0])
    assert cache.tasks  # the refresh goes on
    backend.gate.set()
    await drain(cache)
    _, data = await kit.full(cache, kit.query("example.org."))
    m = dns.message.from_wire(data)
    assert (m.answer[0][0].address, kit.ttls(data)) == ("10.0.0.2", [60])


async def test_serve_stale_verify_recheck_answers_from_bytes(kit: Any, clock: Any) -> None:
    """verify with a failure recheck: after a failed verify, stale answers come at once (cache-hit path too)
    without asking again until the recheck has passed."""
    backend = kit.Backend(default=kit.Spec(answer=("example.org. 60 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache {\n serve_stale 1h verify 0s 0s 1m\n}", backend, clock)
    await kit.full(cache, kit.query("example.org."))
    clock.advance(61)
    assert kit.wire(cache, kit.query("example.org.")) is None  # verify first: the full path
    backend.fail = True
    _, data = await kit.full(cache, kit.query("example.org."))
    assert kit.ttls(data) == [0]
    assert backend.calls == 2
    clock.advance(10)
    assert kit.wire(cache, kit.query("example.org.")) is not None
    await kit.full(cache, kit.query("example.org.", edns=True))
    assert backend.calls == 2
    clock.advance(60)
    assert kit.wire(cache, kit.query("example.org.")) is None  # recheck over: verify again


@pytest.mark.parametrize("mode", ["immediate", "verify"])
async def test_prefer_positive_keeps_the_last_answer(kit: Any, clock: Any, mode: str) -> None:
    """serve_stale_policy prefer_positive: when the refresh of an expired answer brings NXDOMAIN, the last
    answer is still served (stale) while serve_stale allows; without the policy the NXDOMAIN is."""
    soa = "example.org. 60 IN SOA ns.example.org. host.example.org. 1 7200 3600 1209600 60"
    for policy, want in (("\n serve_stale_policy prefer_positive", "10.0.0.1"), ("", None)):
        backend = kit.Backend(default=kit.Spec(answer=("www.example.org. 60 IN A 10.0.0.1",)))
        cache = kit.make_cache(f"cache {{\n serve_stale 1h {mode}{policy}\n}}", backend, clock)
        await kit.full(cache, kit.query("www.example.org."))
        clock.advance(61)
        backend.default = kit.Spec(rcode=dns.rcode.NXDOMAIN, ns=(soa,))
        await kit.full(cache, kit.query("www.example.org."))
        await drain(cache)
        _, data = await kit.full(cache, kit.query("www.example.org."))
        m = dns.message.from_wire(data)
        if want is None:
            assert m.rcode() == dns.rcode.NXDOMAIN, policy
        else:
            assert (m.rcode(), m.answer[0][0].address, kit.ttls(data)) == (0, want, [0])
        clock.advance(3600)  # past the stale window: the denial is the answer in both cases
        _, data = await kit.full(cache, kit.query("www.example.org."))
        assert dns.message.from_wire(data).rcode() == dns.rcode.NXDOMAIN


async def test_prefer_positive_ignores_answers_that_do_not_answer(kit: Any, clock: Any) -> None:
    """prefer_positive: a later NOERROR whose answer does not answer the question does not replace the last
    answer that did."""
    backend = kit.Backend(default=kit.Spec(answer=("www.example.org. 60 IN A 10.0.0.1",)))
    cache = kit.make_cache("cache {\n serve_stale 1h\n serve_stale_policy prefer_positive\n}", backend, clock)
    await kit.full(cache, kit.query("www.example.org."))
    clock.advance(61)
    soa = "example.org. 60 IN SOA ns.example.org. host.example.org. 1 7200 3600 1209600 60"
    backend.default = kit.Spec(answer=("www.example.org. 60 IN CNAME gone.example.org.",), ns=(soa,))
    await kit.full(cache, kit.query("www.example.org."))
    await drain(cache)
    _, data = await kit.full(cache, kit.query("www.example.org."))
    m = dns.message.from_wire(data)
    assert (m.rcode(), m.answer[0].rdtype, m.answer[0][0].address) == (0, dns.rdatatype.A, "10.0.0.1")
