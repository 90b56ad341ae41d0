"""The cache-miss wire path: cache + forward answer a miss from callbacks, with the full path's answers.

A miss is sent upstream by ``Forward.wire_forward`` when a connection is ready (the first query of
a test opens it through the full path). Every test here checks the miss path against what the full
path does, or that an odd case is handed to the full path and still answered right.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from kdns.metrics import REGISTRY
from kdns.plugins.cache.plugin import Cache
from kdns.plugins.forward.plugin import Forward
from kdns.testing import FakeUpstream, RunningInstance, run_instance, until
from kdns.testing.upstream import HANGUP, Reply, answer, truncated, with_id

from .conftest import ScriptedUDP, forwards

MANIFESTS = Path(__file__).resolve().parents[3] / "examples" / "demo-cluster.yaml"
SOA = "example.org. 3600 IN SOA ns.example.org. host.example.org. 1 7200 3600 1209600 300"


def ips(r: dns.message.Message) -> list[str]:
    return [rd.to_text() for rrset in r.answer for rd in rrset]


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def fwd(inst: RunningInstance) -> Forward:
    (f,) = forwards(inst)
    return f


def address_of(q: dns.message.Message) -> str:
    """A different address per name: 192.0.2.N with N from the first label's digits."""
    label = q.question[0].name.labels[0].decode()
    digits = "".join(c for c in label if c.isdigit()) or "0"
    return f"192.0.2.{int(digits) % 250}"


def by_name(q: dns.message.Message, proto: str) -> Reply:
    return answer(q, f"{q.question[0].name} 300 IN A {address_of(q)}")


async def warm(inst: RunningInstance) -> None:
    """One miss through the full path: it opens the UDP and TCP connections the wire path reuses."""
    for proto in ("udp", "tcp"):
        r = await inst.query(f"warm-{proto}.example.org.", "A", proto=proto)
        assert r.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL, dns.rcode.REFUSED)


async def test_misses_take_the_wire_path_and_are_cached() -> None:
    """Unique names over UDP and TCP: each answered right by the wire path, stored, then a cache hit."""
    async with FakeUpstream(by_name) as up, run_instance(f".:0 {{\n cache\n forward . {up.addr}\n}}") as inst:
        f = fwd(inst)
        await warm(inst)
        sent = f.wire_sent
        for i in range(1, 21):
            proto = "udp" if i % 2 else "tcp"
            r = await inst.query(f"host{i}.example.org.", "A", proto=proto)
            assert ips(r) == [f"192.0.2.{i}"]
            assert r.answer[0].ttl == 300
        assert f.wire_sent == sent + 20
        upstream_queries = len(up.queries)
        for i in range(1, 21):
            r = await inst.query(f"HOST{i}.example.org.", "A")
            assert ips(r) == [f"192.0.2.{i}"]
        assert len(up.queries) == upstream_queries  # all hits


def _replies() -> dict[str, Any]:
    """Upstream replies as handler functions: name -> handler(query, proto)."""

    def positive(q: dns.message.Message, proto: str) -> Reply:
        r = answer(q, f"{q.question[0].name} 300 IN A 192.0.2.1", f"{q.question[0].name} 120 IN A 192.0.2.2")
        r.flags |= dns.flags.AA
        return r

    def cname(q: dns.message.Message, proto: str) -> Reply:
        n = q.question[0].name
        return answer(q, f"{n} 300 IN CNAME a.example.net.", "a.example.net. 60 IN A 192.0.2.3")

    def nxdomain(q: dns.message.Message, proto: str) -> Reply:
        r = answer(q, rcode=dns.rcode.NXDOMAIN)
        r.authority = [dns.rrset.from_text("example.org.", 3600, "IN", "SOA", SOA.split(" IN SOA ")[1])]
        return r

    def nodata(q: dns.message.Message, proto: str) -> Reply:
        r = answer(q)
        r.authority = [dns.rrset.from_text("example.org.", 600, "IN", "SOA", SOA.split(" IN SOA ")[1])]
        return r

    def servfail(q: dns.message.Message, proto: str) -> Reply:
        return answer(q, rcode=dns.rcode.SERVFAIL)

    def refused(q: dns.message.Message, proto: str) -> Reply:
        return answer(q, rcode=dns.rcode.REFUSED)

    def ad_flag(q: dns.message.Message, proto: str) -> Reply:
        r = answer(q, f"{q.question[0].name} 300 IN A 192.0.2.4")
        r.flags |= dns.flags.AD
        return r

    def big(q: dns.message.Message, proto: str) -> Reply:
        n = q.question[0].name
        return answer(q, *(f"{n} 300 IN A 10.0.{i // 250}.{i % 250}" for i in range(60)))

    def truncated_udp(q: dns.message.Message, proto: str) -> Reply:
        return truncated(q) if proto == "udp" else positive(q, proto)

    return {
        "positive": positive,
        "cname": cname,
        "nxdomain": nxdomain,
        "nodata": nodata,
        "servfail": servfail,
        "refused": refused,
        "ad flag": ad_flag,
        "big": big,
        "truncated": truncated_udp,
    }


REPLIES = _replies()
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "udp": ("udp", {}),
    "udp edns": ("udp", {"use_edns": 0, "payload": 1232}),
    "udp DO": ("udp", {"want_dnssec": True, "payload": 1232}),
    "tcp CD": ("tcp", {"use_edns": 0}),
}


def view(r: dns.message.Message) -> tuple[Any, ...]:
    """Everything of a reply but its ID: flags, question, records with TTLs, EDNS."""
    return (
        r.flags,
        [str(q) for q in r.question],
        [str(s) for s in r.answer],
        [str(s) for s in r.authority],
        [str(s) for s in r.additional],
        r.edns,
        r.ednsflags,
        r.payload,
        r.options,
    )


@pytest.mark.parametrize("reply", sorted(REPLIES))
async def test_wire_miss_answers_as_the_full_path(reply: str) -> None:
    """For each kind of upstream reply and each client variant, a miss answered on the wire path equals the
    same miss answered by the full path (``hosts`` between cache and forward keeps a chain off the wire path)."""
    handler = REPLIES[reply]
    wire_cf = ".:0 {{\n cache\n forward . {}\n}}"
    full_cf = ".:0 {{\n cache\n hosts {{\n  fallthrough\n }}\n forward . {}\n}}"
    async with (
        FakeUpstream(handler) as up,
        run_instance(wire_cf.format(up.addr)) as wire_inst,
        run_instance(full_cf.format(up.addr)) as full,
    ):
        await warm(wire_inst)
        for i, (variant, (proto, kw)) in enumerate(sorted(VARIANTS.items())):
            q = dns.message.make_query(f"Name{i}.Example.ORG.", "A", **kw)
            if variant.endswith("CD"):
                q.flags |= dns.flags.CD
            sent = fwd(wire_inst).wire_sent
            got = await wire_inst.query(q, proto=proto)
            assert fwd(wire_inst).wire_sent == sent + 1, variant
            want = await full.query(q, proto=proto)
            assert view(got) == view(want), variant
        assert not forwards(full)[0].wire_sent


async def test_identical_misses_share_one_upstream_query() -> None:
    """Concurrent identical misses (any case, any ID) send one upstream query; each client gets its ID and case."""
    release = asyncio.Event()

    async def handle(q: dns.message.Message, proto: str) -> Reply:
        if q.question[0].name.to_text().lower().startswith("slow"):
            await release.wait()
        return answer(q, f"{q.question[0].name} 60 IN A 192.0.2.3")

    names = ["slow.example.org.", "SLOW.example.org.", "slow.EXAMPLE.org.", "Slow.Example.Org."] * 3
    async with FakeUpstream(handle) as up, run_instance(f".:0 {{\n cache\n forward . {up.addr}\n}}") as inst:
        await warm(inst)
        before = len(up.queries)
        queries = []
        for i, n in enumerate(names):
            q = dns.message.make_query(n, "A")
            q.id = 2000 + i
            queries.append(q)
        tasks = [asyncio.create_task(inst.query(q)) for q in queries]
        await until(lambda: len(up.queries) == before + 1)
        await until(lambda: sum(len(fl.queries) for fl in fwd(inst).wire_flights.values()) == len(names))
        release.set()
        replies = await asyncio.gather(*tasks)
        assert len(up.queries) == before + 1
        for q, r in zip(queries, replies, strict=True):
            assert r.id == q.id
            assert r.question[0].name.to_text() == q.question[0].name.to_text()
            assert ips(r) == ["192.0.2.3"]


async def test_timeout_on_the_wire_path_is_answered_by_the_next_upstream() -> None:
    """A miss sent to a silent upstream times out and the full path answers it from the live one; the
    silent one is probed and marked down, after which misses go only to the live one."""
    dead = FakeUpstream(lambda q, p: None)
    async with dead, FakeUpstream(by_name) as alive:
        corefile = (
            f".:0 {{\n cache\n forward . {dead.addr} {alive.addr} {{\n read_timeout 100ms\n policy sequential\n"
            "  max_fails 1\n  health_check 20ms\n }\n}"
        )
        async with run_instance(corefile) as inst:
            f = fwd(inst)
            down = next(u for u in f.upstreams if u.to == dead.addr)
            r = await inst.query("host1.example.org.", "A")  # full path: opens both UDP sockets
            assert ips(r) == ["192.0.2.1"]
            sent = f.wire_sent
            r = await inst.query("host2.example.org.", "A")
            assert ips(r) == ["192.0.2.2"]
            await until(lambda: down.health.down, 3)
            assert f.wire_sent >= sent + 1  # host2 went out on the wire path first
            results = await asyncio.gather(*(inst.query(f"host{i}.example.org.", "A") for i in range(3, 23)))
            assert [ips(r) for r in results] == [[f"192.0.2.{i}"] for i in range(3, 23)]
            assert not [q for q in dead.queried() if q.question[0].name.to_text().startswith("host1")][1:]


async def test_mismatched_replies_dropped_on_the_wire_path(scripted: Any) -> None:
    """Replies with a wrong ID or question are dropped; the right one that follows answers the client."""

    def script(q: dns.message.Message) -> list[bytes]:
        good = answer(q, f"{q.question[0].name} 60 IN A 192.0.2.9")
        wrong_id = with_id(answer(q, f"{q.question[0].name} 60 IN A 192.0.2.66"), (q.id + 1) % 65536)
        other = answer(dns.message.make_query("other.example.org.", "A"), "other.example.org. 60 IN A 192.0.2.66")
        other.id = q.id
        return [wrong_id.to_wire(), other.to_wire(), good.to_wire()]

    up: ScriptedUDP = await scripted(script)
    async with run_instance(f".:0 {{\n cache\n forward . 127.0.0.1:{up.port}\n}}") as inst:
        await inst.query("first.example.org.", "A")
        sent = fwd(inst).wire_sent
        r = await inst.query("second.example.org.", "A")
        assert ips(r) == ["192.0.2.9"]
        assert fwd(inst).wire_sent == sent + 1


async def test_truncated_reply_retried_over_tcp_with_prefer_udp() -> None:
    """With prefer_udp a truncated UDP reply on the wire path goes to the full path, which asks again over TCP."""

    def handle(q: dns.message.Message, proto: str) -> Reply:
        if proto == "udp":
            return truncated(q)
        return answer(q, f"{q.question[0].name} 60 IN A 192.0.2.7")

    async with FakeUpstream(handle) as up:
        corefile = f".:0 {{\n cache\n forward . {up.addr} {{\n prefer_udp\n }}\n}}"
        async with run_instance(corefile) as inst:
            await inst.query("first.example.org.", "A")
            sent = fwd(inst).wire_sent
            r = await inst.query("second.example.org.", "A")
            assert not r.flags & dns.flags.TC
            assert ips(r) == ["192.0.2.7"]
            assert fwd(inst).wire_sent == sent + 1
            assert [p for p, m in up.queries if m.question[0].name.to_text() == "second.example.org."] == [
                "udp",
                "tcp",
            ]


async def test_pooled_tcp_connection_closed_is_retried_transparently() -> None:
    """force_tcp: the upstream hangs up on a pooled connection instead of answering; the client still gets
    its answer (the full path retries on a fresh connection)."""
    hung = set()

    def handle(q: dns.message.Message, proto: str) -> Reply:
        name = q.question[0].name.to_text()
        if name.startswith("hangup") and name not in hung:
            hung.add(name)
            return HANGUP
        return answer(q, f"{name} 60 IN A 192.0.2.8")

    corefile = ".:0 {{\n cache\n forward . {} {{\n force_tcp\n }}\n}}"
    async with FakeUpstream(handle) as up, run_instance(corefile.format(up.addr)) as inst:
        await inst.query("first.example.org.", "A")
        sent = fwd(inst).wire_sent
        r = await inst.query("hangup.example.org.", "A")
        assert ips(r) == ["192.0.2.8"]
        assert fwd(inst).wire_sent == sent + 1
        assert len([m for p, m in up.queries if m.question[0].name.to_text() == "hangup.example.org."]) == 2


async def test_wire_path_metrics_match_the_full_path() -> None:
    """A wire-path miss counts as the full path's: one cache request and miss, a response written by forward,
    one upstream request duration."""
    async with FakeUpstream(by_name) as up:
        corefile = f".:0 {{\n prometheus 127.0.0.1:0\n cache\n forward . {up.addr}\n}}"
        async with run_instance(corefile) as inst:
            await warm(inst)
            server = f"dns://:{inst.port}"
            labels = {"server": server, "view": "", "zones": "."}
            misses = metric("coredns_cache_misses_total", **labels)
            requests = metric("coredns_cache_requests_total", **labels)
            written = metric(
                "coredns_dns_responses_total", server=server, zone=".", view="", rcode="NOERROR", plugin="forward"
            )
            durations = metric(
                "coredns_proxy_request_duration_seconds_count", proxy_name="forward", to=up.addr, rcode="NOERROR"
            )
            sent = fwd(inst).wire_sent
            r = await inst.query("host7.example.org.", "A")
            assert ips(r) == ["192.0.2.7"]
            assert fwd(inst).wire_sent == sent + 1
            assert metric("coredns_cache_misses_total", **labels) == misses + 1
            assert metric("coredns_cache_requests_total", **labels) == requests + 1
            assert (
                metric(
                    "coredns_dns_responses_total", server=server, zone=".", view="", rcode="NOERROR", plugin="forward"
                )
                == written + 1
            )
            assert (
                metric(
                    "coredns_proxy_request_duration_seconds_count", proxy_name="forward", to=up.addr, rcode="NOERROR"
                )
                == durations + 1
            )


async def test_pipelined_tcp_misses() -> None:
    """Several misses pipelined on one TCP connection are all answered, each with its own ID (the upstream
    connection is busy after the first, so the pool spreads the rest over new ones through the full path)."""
    async with FakeUpstream(by_name) as up, run_instance(f".:0 {{\n cache\n forward . {up.addr}\n}}") as inst:
        await warm(inst)
        sent = fwd(inst).wire_sent
        reader, writer = await asyncio.open_connection("127.0.0.1", inst.port)
        try:
            ids = {}
            for i in range(1, 11):
                q = dns.message.make_query(f"pipe{i}.example.org.", "A")
                ids[q.id] = i
                w = q.to_wire()
                writer.write(len(w).to_bytes(2, "big") + w)
            await writer.drain()
            got = {}
            for _ in range(10):
                n = int.from_bytes(await reader.readexactly(2), "big")
                r = dns.message.from_wire(await reader.readexactly(n))
                got[r.id] = ips(r)
            assert got == {qid: [f"192.0.2.{i}"] for qid, i in ids.items()}
        finally:
            writer.close()
        assert fwd(inst).wire_sent >= sent + 1


async def test_pending_miss_answered_before_stop() -> None:
    """A graceful stop waits for a miss still pending upstream on the wire path, which is answered."""
    release = asyncio.Event()

    async def handle(q: dns.message.Message, proto: str) -> Reply:
        if q.question[0].name.to_text().startswith("slow"):
            await release.wait()
        return answer(q, f"{q.question[0].name} 60 IN A 192.0.2.5")

    async with FakeUpstream(handle) as up:
        inst_cm = run_instance(f".:0 {{\n cache\n forward . {up.addr}\n}}")
        inst = await inst_cm.__aenter__()
        try:
            await warm(inst)
            pending = asyncio.create_task(inst.query("slow.example.org.", "A"))
            await until(lambda: bool(fwd(inst).wire_flights))
            stopping = asyncio.create_task(inst_cm.__aexit__(None, None, None))
            await until(
                lambda: (
                    not inst.runner.listeners or any(not lst.state.accepting for lst in inst.runner.listeners.values())
                )
            )
            release.set()
            assert ips(await pending) == ["192.0.2.5"]
            await stopping
        finally:
            release.set()


async def test_kubeadm_chain_sends_external_misses_on_the_wire_path() -> None:
    """kubeadm's chain (errors, health, ready, kubernetes, prometheus, forward, cache, loop, reload,
    loadbalance): names outside cluster.local step over kubernetes and loop to forward on the wire path;
    cluster names are answered by kubernetes as before."""
    corefile = f""".:0 {{
    errors
    ready 127.0.0.1:0
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        objects {MANIFESTS}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    prometheus 127.0.0.1:0
    forward . {{addr}} {{
        max_concurrent 1000
    }}
    cache 30
    loop
    reload
    loadbalance
}}"""
    async with FakeUpstream(by_name) as up, run_instance(corefile.replace("{addr}", up.addr)) as inst:
        await warm(inst)
        sent = fwd(inst).wire_sent
        for i in range(1, 6):
            r = await inst.query(f"ext{i}.example.org.", "A")
            assert ips(r) == [f"192.0.2.{i}"]
            assert r.answer[0].ttl == 30  # cache 30 caps the TTL, as on the full path
        assert fwd(inst).wire_sent == sent + 5
        r = await inst.query("kubernetes.default.svc.cluster.local.", "A")
        assert r.rcode() == dns.rcode.NOERROR
        assert ips(r)
        assert fwd(inst).wire_sent == sent + 5
        assert not [m for _, m in up.queries if "cluster.local" in m.question[0].name.to_text()]


async def test_all_upstreams_dead_serve_stale_with_the_configured_ttl() -> None:
    """Every upstream silent, serve_stale with a stale TTL of 30s: expired answers keep coming, TTL 30, over
    UDP and TCP; one refresh at a time is tried and, failing, not retried within the failure recheck."""
    alive = True

    def handle(q: dns.message.Message, proto: str) -> Reply:
        return answer(q, f"{q.question[0].name} 60 IN A 192.0.2.20") if alive else None

    corefile = (
        ".:0 {{\n cache {{\n  serve_stale 1h immediate 30s 10s\n }}\n"
        " forward . {} {{\n  read_timeout 50ms\n  max_fails 0\n }}\n}}"
    )
    async with FakeUpstream(handle) as up, run_instance(corefile.format(up.addr)) as inst:
        assert inst.runner.instance is not None
        (cache,) = [h for h in inst.runner.instance.blocks[0].ordered if isinstance(h, Cache)]
        clock = [1000.0]
        cache.now = lambda: clock[0]
        r = await inst.query("stale.example.org.", "A")
        assert (ips(r), r.answer[0].ttl) == (["192.0.2.20"], 60)
        alive = False
        clock[0] += 120
        for proto in ("udp", "tcp", "udp"):
            r = await inst.query("stale.example.org.", "A", proto=proto)
            assert r.rcode() == dns.rcode.NOERROR
            assert (ips(r), r.answer[0].ttl) == (["192.0.2.20"], 30)
        while cache.tasks:
            await next(iter(cache.tasks))
        tried = len([m for _, m in up.queries if m.question[0].name.to_text() == "stale.example.org."])
        assert tried >= 2  # the first answer and one refresh (a second may have started before it failed)
        r = await inst.query("stale.example.org.", "A")
        assert r.answer[0].ttl == 30
        assert not cache.tasks  # within the recheck: no new refresh


async def test_one_deadline_through_the_wire_path() -> None:
    """A miss that times out on the wire path keeps the query's one deadline: the full path gets only what is
    left of it (about 1 s in all here, not the wire path's wait plus a whole new deadline)."""
    async with FakeUpstream(lambda q, p: None) as silent:
        corefile = f".:0 {{\n cache\n forward . {silent.addr} {{\n read_timeout 800ms\n max_fails 0\n }}\n}}"
        async with run_instance(corefile) as inst:
            f = fwd(inst)
            f.timeout = 1.0
            r = await inst.query("first.example.org.", "A", timeout=5)  # full path: opens the UDP socket
            assert r.rcode() == dns.rcode.SERVFAIL
            sent = f.wire_sent
            loop = asyncio.get_running_loop()
            start = loop.time()
            r = await inst.query("second.example.org.", "A", timeout=5)
            elapsed = loop.time() - start
            assert r.rcode() == dns.rcode.SERVFAIL
            assert f.wire_sent == sent + 1
            assert 0.75 < elapsed < 1.5
