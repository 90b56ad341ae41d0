"""forward against real upstream sockets on 127.0.0.1: routing, transports, pooling, failures."""

from __future__ import annotations

import asyncio
import time

import dns.flags
import dns.message
import dns.rcode
import pytest

from kdns.errors import ConfigError
from kdns.metrics import REGISTRY
from kdns.plugins.forward import proxy
from kdns.plugins.forward.proxy import TCP, UDP
from kdns.testing import FakeUpstream, free_port, run_instance, until
from kdns.testing.upstream import HANGUP, Reply, answer, truncated, with_id

from .conftest import DoTServer, ScriptedUDP, forwards

NAME = "www.example.org."
ADDR = "www.example.org. 300 IN A 192.0.2.1"


def records(ip: str = "192.0.2.1") -> dict[tuple[str, str], list[str]]:
    return {(NAME, "A"): [f"{NAME} 300 IN A {ip}"]}


def ips(r: dns.message.Message) -> list[str]:
    return [rd.to_text() for rrset in r.answer for rd in rrset]


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_follows_client_protocol_and_restores_id_and_case() -> None:
    """A UDP query goes upstream over UDP, a TCP one over TCP; the reply has the client's ID and question case,
    while the upstream saw a randomised ID."""
    async with FakeUpstream(records=records()) as up, run_instance(f".:0 {{\n forward . {up.addr}\n}}") as inst:
        seen_ids = []
        for proto in ("udp", "tcp"):
            q = dns.message.make_query("WwW.Example.ORG.", "A")
            q.id = 4242
            r = await inst.query(q, proto=proto)
            assert r.id == 4242
            assert r.question[0].name.to_text() == "WwW.Example.ORG."
            assert ips(r) == ["192.0.2.1"]
            seen_ids.append(up.queries[-1][1].id)
        assert [p for p, _ in up.queries] == ["udp", "tcp"]
        assert seen_ids != [4242, 4242]


async def test_rcode_and_sections_relayed() -> None:
    """An upstream NXDOMAIN (with its authority section) reaches the client unchanged."""

    def handle(q: dns.message.Message, proto: str) -> Reply:
        r = answer(q, rcode=dns.rcode.NXDOMAIN)
        r.authority = [dns.rrset.from_text("example.org.", 60, "IN", "SOA", "ns. host. 1 2 3 4 5")]
        return r

    async with FakeUpstream(handle) as up, run_instance(f".:0 {{\n forward . {up.addr}\n}}") as inst:
        r = await inst.query("nope.example.org", "A")
        assert r.rcode() == dns.rcode.NXDOMAIN
        assert [s.to_text() for s in r.authority] == ["example.org. 60 IN SOA ns. host. 1 2 3 4 5"]


async def test_one_of_two_upstreams_dead() -> None:
    """With one silent upstream of two, no client sees an error; once it is marked down it gets no more queries."""
    dead = FakeUpstream(lambda q, p: None)
    async with dead, FakeUpstream(records=records()) as alive:
        corefile = (
            f".:0 {{\n forward . {dead.addr} {alive.addr} {{\n read_timeout 100ms\n policy sequential\n"
            "  max_fails 1\n  health_check 20ms\n }\n}"
        )
        async with run_instance(corefile) as inst:
            (fwd,) = forwards(inst)
            down = next(u for u in fwd.upstreams if u.to == dead.addr)
            r = await inst.query(NAME, "A")  # tries the dead one first, then the live one
            assert r.rcode() == dns.rcode.NOERROR
            assert ips(r) == ["192.0.2.1"]
            await until(lambda: down.health.down, 3)
            before = len([q for q in dead.queried() if q.question[0].rdtype == 1])
            results = await asyncio.gather(*(inst.query(NAME, "A") for _ in range(20)))
            assert all(r.rcode() == dns.rcode.NOERROR and ips(r) == ["192.0.2.1"] for r in results)
            assert len([q for q in dead.queried() if q.question[0].rdtype == 1]) == before
            assert any(q.question[0].rdtype == 2 for q in dead.queried())  # health probes: . IN NS
            assert metric("coredns_proxy_healthcheck_failures_total", proxy_name="forward", to=dead.addr) >= 2


async def test_refused_upstream_fails_over_at_once() -> None:
    """A closed port (ICMP refusal) fails fast: the query moves to the next upstream and is answered."""
    closed = f"127.0.0.1:{free_port()}"
    async with FakeUpstream(records=records()) as alive:
        corefile = f".:0 {{\n forward . {closed} {alive.addr} {{\n policy sequential\n }}\n}}"
        async with run_instance(corefile) as inst:
            loop = asyncio.get_running_loop()
            start = loop.time()
            r = await inst.query(NAME, "A")
            assert ips(r) == ["192.0.2.1"]
            assert loop.time() - start < 1.0


async def test_all_upstreams_dead_servfail() -> None:
    """With every upstream refusing, the client gets SERVFAIL (the error goes to the errors plugin)."""
    a, b = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    async with run_instance(f".:0 {{\n errors\n forward . {a} {b}\n}}") as inst:
        r = await inst.query(NAME, "A")
        assert r.rcode() == dns.rcode.SERVFAIL


async def test_all_down_tries_a_random_one() -> None:
    """All upstreams down: a random one is still tried, and the event is counted as broken health checks."""
    async with FakeUpstream(records=records()) as up, run_instance(f".:0 {{\n forward . {up.addr}\n}}") as inst:
        (fwd,) = forwards(inst)
        fwd.upstreams[0].health.fails = 10  # as if its probes had failed
        broken = metric("coredns_forward_healthcheck_broken_total")
        r = await inst.query(NAME, "A")
        assert ips(r) == ["192.0.2.1"]
        assert metric("coredns_forward_healthcheck_broken_total") == broken + 1


async def test_all_down_failfast() -> None:
    """failfast_all_unhealthy_upstreams: all upstreams down means SERVFAIL at once, no upstream asked."""
    corefile = ".:0 {{\n forward . {} {{\n failfast_all_unhealthy_upstreams\n }}\n}}"
    async with FakeUpstream(records=records()) as up, run_instance(corefile.format(up.addr)) as inst:
        (fwd,) = forwards(inst)
        fwd.upstreams[0].health.fails = 10
        r = await inst.query(NAME, "A")
        assert r.rcode() == dns.rcode.SERVFAIL
        assert up.queries == []


@pytest.mark.parametrize("bad", ["id", "question", "type", "query"])
async def test_mismatched_reply_dropped(scripted: object, bad: str) -> None:
    """A reply with another ID, another question, another type, or no QR bit is dropped; the right one that
    follows is relayed."""

    def script(q: dns.message.Message) -> list[bytes]:
        right = answer(q, ADDR)
        wrong = answer(q, "www.example.org. 300 IN A 203.0.113.66")
        if bad == "id":
            wrong = with_id(wrong, (q.id + 1) % 65536)
        elif bad == "question":
            wrong.question = [dns.rrset.RRset(dns.name.from_text("evil.example."), 1, 1)]
        elif bad == "type":
            wrong.question = [dns.rrset.RRset(q.question[0].name, 1, 28)]
        else:
            wrong.flags &= ~dns.flags.QR
        return [wrong.to_wire(), right.to_wire()]

    up: ScriptedUDP = await scripted(script)  # type: ignore[operator]
    async with run_instance(f".:0 {{\n forward . 127.0.0.1:{up.port}\n}}") as inst:
        r = await inst.query(NAME, "A")
        assert ips(r) == ["192.0.2.1"]
        assert len(up.queries) == 1


async def test_only_wrong_replies_time_out_to_servfail(scripted: object) -> None:
    """An upstream that only ever sends a mismatched reply is a read timeout: SERVFAIL, not the wrong data."""

    def script(q: dns.message.Message) -> list[bytes]:
        return [with_id(answer(q, ADDR), (q.id + 7) % 65536).to_wire()]

    up: ScriptedUDP = await scripted(script)  # type: ignore[operator]
    corefile = f".:0 {{\n forward . 127.0.0.1:{up.port} {{\n read_timeout 50ms\n max_fails 0\n }}\n}}"
    async with run_instance(corefile) as inst:
        r = await inst.query(NAME, "A")
        assert r.rcode() == dns.rcode.SERVFAIL


async def test_truncated_udp_retried_over_tcp_with_prefer_udp() -> None:
    """prefer_udp: a TCP client's query goes over UDP; a truncated reply is asked again over TCP."""

    def handle(q: dns.message.Message, proto: str) -> Reply:
        return truncated(q) if proto == "udp" else answer(q, ADDR)

    async with (
        FakeUpstream(handle) as up,
        run_instance(f".:0 {{\n forward . {up.addr} {{\n prefer_udp\n }}\n}}") as inst,
    ):
        r = await inst.query(NAME, "A", proto="tcp")
        assert ips(r) == ["192.0.2.1"]
        assert not r.flags & dns.flags.TC
        assert [p for p, _ in up.queries] == ["udp", "tcp"]


async def test_truncated_udp_relayed_without_prefer_udp() -> None:
    """Without prefer_udp a UDP client gets the truncated reply (TC set) and may retry over TCP itself."""

    def handle(q: dns.message.Message, proto: str) -> Reply:
        return truncated(q) if proto == "udp" else answer(q, ADDR)

    async with FakeUpstream(handle) as up, run_instance(f".:0 {{\n forward . {up.addr}\n}}") as inst:
        r = await inst.query(NAME, "A")
        assert r.flags & dns.flags.TC
        assert [p for p, _ in up.queries] == ["udp"]


async def test_force_tcp() -> None:
    """force_tcp: a UDP client's query goes upstream over TCP, and repeated queries reuse one connection."""
    async with (
        FakeUpstream(records=records()) as up,
        run_instance(f".:0 {{\n forward . {up.addr} {{\n force_tcp\n }}\n}}") as inst,
    ):
        hits = metric("coredns_proxy_conn_cache_hits_total", proxy_name="forward", to=up.addr, proto=TCP)
        for _ in range(3):
            assert ips(await inst.query(NAME, "A")) == ["192.0.2.1"]
        assert [p for p, _ in up.queries] == ["tcp"] * 3
        assert metric("coredns_proxy_conn_cache_hits_total", proxy_name="forward", to=up.addr, proto=TCP) == (hits + 2)


async def test_pooled_tcp_connection_closed_by_upstream_is_retried() -> None:
    """An upstream closing a pooled TCP connection instead of answering: the query is retried on a new one."""
    hung_up = False

    def handle(q: dns.message.Message, proto: str) -> Reply:
        nonlocal hung_up
        if q.question[0].name.to_text().startswith("second") and not hung_up:
            hung_up = True
            return HANGUP
        return answer(q, f"{q.question[0].name} 60 IN A 192.0.2.7")

    async with (
        FakeUpstream(handle) as up,
        run_instance(f".:0 {{\n forward . {up.addr} {{\n force_tcp\n }}\n}}") as inst,
    ):
        assert ips(await inst.query("first.example.", "A")) == ["192.0.2.7"]
        r = await inst.query("second.example.", "A")
        assert r.rcode() == dns.rcode.NOERROR
        assert ips(r) == ["192.0.2.7"]
        assert hung_up
        assert [m.question[0].name.to_text() for m in up.queried("tcp")] == [
            "first.example.",
            "second.example.",
            "second.example.",
        ]


async def test_tcp_spreads_then_pipelines() -> None:
    """Concurrent TCP queries first spread over SPREAD connections, then share them (pipelined, matched by ID)."""
    release = asyncio.Event()

    async def handle(q: dns.message.Message, proto: str) -> Reply:
        await release.wait()
        return answer(q, f"{q.question[0].name} 60 IN A 192.0.2.9")

    n = proxy.SPREAD * 3
    async with (
        FakeUpstream(handle) as up,
        run_instance(f".:0 {{\n forward . {up.addr} {{\n force_tcp\n }}\n}}") as inst,
    ):
        (fwd,) = forwards(inst)
        tasks = [asyncio.create_task(inst.query(f"n{i}.example.", "A")) for i in range(n)]
        await until(lambda: len(up.queries) == n)
        conns = fwd.upstreams[0].pool(TCP).conns
        assert len(conns) == proxy.SPREAD
        assert sorted(len(c.waiters) for c in conns) == [3] * proxy.SPREAD
        release.set()
        for i, r in enumerate(await asyncio.gather(*tasks)):
            assert r.question[0].name.to_text() == f"n{i}.example."
            assert ips(r) == ["192.0.2.9"]


async def test_max_concurrent_refuses_excess() -> None:
    """max_concurrent 1: while one query is in flight another is REFUSED at once and counted."""
    release = asyncio.Event()

    async def handle(q: dns.message.Message, proto: str) -> Reply:
        if q.question[0].name.to_text().startswith("slow"):
            await release.wait()
        return answer(q, f"{q.question[0].name} 60 IN A 192.0.2.2")

    async with (
        FakeUpstream(handle) as up,
        run_instance(f".:0 {{\n forward . {up.addr} {{\n max_concurrent 1\n }}\n}}") as inst,
    ):
        rejects = metric("coredns_forward_max_concurrent_rejects_total")
        slow = asyncio.create_task(inst.query("slow.example.", "A"))
        await until(lambda: len(up.queries) == 1)
        r = await inst.query("fast.example.", "A")
        assert r.rcode() == dns.rcode.REFUSED
        assert metric("coredns_forward_max_concurrent_rejects_total") == rejects + 1
        release.set()
        assert ips(await slow) == ["192.0.2.2"]
        assert ips(await inst.query("fast.example.", "A")) == ["192.0.2.2"]


async def test_identical_queries_in_flight_sent_once() -> None:
    """N identical concurrent queries (any case, any ID) make one upstream query; each client gets its own ID
    and question case back."""
    release = asyncio.Event()

    async def handle(q: dns.message.Message, proto: str) -> Reply:
        await release.wait()
        return answer(q, f"{q.question[0].name} 60 IN A 192.0.2.3")

    names = ["www.example.org.", "WWW.example.org.", "www.EXAMPLE.org.", "Www.Example.Org."] * 3
    async with FakeUpstream(handle) as up, run_instance(f".:0 {{\n forward . {up.addr}\n}}") as inst:
        queries = []
        for i, n in enumerate(names):
            q = dns.message.make_query(n, "A")
            q.id = 1000 + i
            queries.append(q)
        tasks = [asyncio.create_task(inst.query(q)) for q in queries]
        await until(lambda: len(up.queries) == 1)
        await asyncio.sleep(0.05)  # give the other queries time to arrive (they must not reach the upstream)
        release.set()
        replies = await asyncio.gather(*tasks)
        assert len(up.queries) == 1
        for q, r in zip(queries, replies, strict=True):
            assert r.id == q.id
            assert r.question[0].name.to_text() == q.question[0].name.to_text()
            assert ips(r) == ["192.0.2.3"]


async def test_different_qtypes_not_coalesced() -> None:
    """Queries differing in type (or DO bit) are not merged."""
    release = asyncio.Event()

    async def handle(q: dns.message.Message, proto: str) -> Reply:
        await release.wait()
        return answer(q)

    async with FakeUpstream(handle) as up, run_instance(f".:0 {{\n forward . {up.addr}\n}}") as inst:
        tasks = [
            asyncio.create_task(inst.query(NAME, "A")),
            asyncio.create_task(inst.query(NAME, "AAAA")),
            asyncio.create_task(inst.query(NAME, "A", want_dnssec=True)),
        ]
        await until(lambda: len(up.queries) == 3)
        release.set()
        assert all(r.rcode() == dns.rcode.NOERROR for r in await asyncio.gather(*tasks))


async def test_except_passes_to_next_plugin() -> None:
    """Names under an except name (and FROM's outside names) go to the next plugin; the rest are forwarded."""
    async with FakeUpstream(records=records()) as up:
        corefile = f".:0 {{\n forward example.org {up.addr} {{\n except internal.example.org\n }}\n whoami\n}}"
        async with run_instance(corefile) as inst:
            assert ips(await inst.query(NAME, "A")) == ["192.0.2.1"]
            for name in ("a.internal.example.org.", "internal.example.org.", "www.example.net."):
                r = await inst.query(name, "A")
                assert r.additional, f"{name} should be answered by whoami"
            assert len(up.queries) == 1


async def test_chained_forward_lines_in_written_order() -> None:
    """Several forward lines: the first whose FROM matches takes the query, in written order."""
    async with FakeUpstream(records=records("192.0.2.10")) as one, FakeUpstream(records=records("192.0.2.20")) as two:
        two.records[("www.example.net.", "A")] = ["www.example.net. 60 IN A 192.0.2.20"]
        corefile = f".:0 {{\n forward example.org {one.addr}\n forward . {two.addr}\n}}"
        async with run_instance(corefile) as inst:
            assert ips(await inst.query(NAME, "A")) == ["192.0.2.10"]
            assert ips(await inst.query("www.example.net.", "A")) == ["192.0.2.20"]
            assert len(one.queries) == len(two.queries) == 1


async def test_next_rcode_hands_to_next_forward() -> None:
    """next NXDOMAIN: an NXDOMAIN from the first forward's upstream is asked of the next forward."""
    async with FakeUpstream() as nx, FakeUpstream(records=records("192.0.2.30")) as good:
        corefile = f".:0 {{\n forward . {nx.addr} {{\n next NXDOMAIN\n }}\n forward . {good.addr}\n}}"
        async with run_instance(corefile) as inst:
            assert ips(await inst.query(NAME, "A")) == ["192.0.2.30"]
        corefile = f".:0 {{\n forward . {nx.addr}\n forward . {good.addr}\n}}"
        async with run_instance(corefile) as inst:
            assert (await inst.query(NAME, "A")).rcode() == dns.rcode.NXDOMAIN


async def test_next_on_nodata() -> None:
    """next_on_nodata: NOERROR with an empty answer goes to the next forward."""
    async with FakeUpstream(lambda q, p: answer(q)) as empty, FakeUpstream(records=records("192.0.2.31")) as good:
        corefile = f".:0 {{\n forward . {empty.addr} {{\n next_on_nodata\n }}\n forward . {good.addr}\n}}"
        async with run_instance(corefile) as inst:
            assert ips(await inst.query(NAME, "A")) == ["192.0.2.31"]


async def test_next_ignored_when_next_plugin_is_not_forward() -> None:
    """next only hands over to another forward; otherwise the upstream's reply is returned."""
    async with FakeUpstream() as nx:
        corefile = f".:0 {{\n forward . {nx.addr} {{\n next NXDOMAIN\n }}\n whoami\n}}"
        async with run_instance(corefile) as inst:
            assert (await inst.query(NAME, "A")).rcode() == dns.rcode.NXDOMAIN


async def test_failover_rcode_tries_next_upstream() -> None:
    """failover SERVFAIL: a SERVFAIL reply moves on to the next upstream; if all fail so, the last reply is sent."""
    sf = FakeUpstream(lambda q, p: answer(q, rcode=dns.rcode.SERVFAIL))
    async with sf, FakeUpstream(records=records("192.0.2.40")) as good:
        corefile = f".:0 {{\n forward . {sf.addr} {good.addr} {{\n policy sequential\n failover SERVFAIL\n }}\n}}"
        async with run_instance(corefile) as inst:
            assert ips(await inst.query(NAME, "A")) == ["192.0.2.40"]
            assert len(sf.queries) == 1
        corefile = f".:0 {{\n forward . {sf.addr} {{\n failover SERVFAIL\n }}\n}}"
        async with run_instance(corefile) as inst:
            assert (await inst.query(NAME, "A")).rcode() == dns.rcode.SERVFAIL
        corefile = f".:0 {{\n forward . {sf.addr} {good.addr} {{\n policy sequential\n }}\n}}"
        async with run_instance(corefile) as inst:  # without failover the SERVFAIL is the answer
            assert (await inst.query(NAME, "A")).rcode() == dns.rcode.SERVFAIL


async def test_overall_deadline() -> None:
    """A silent upstream costs one query at most the overall deadline, then SERVFAIL."""
    async with FakeUpstream(lambda q, p: None) as silent:
        corefile = f".:0 {{\n forward . {silent.addr} {{\n read_timeout 40ms\n max_connect_attempts 0\n }}\n}}"
        async with run_instance(corefile) as inst:
            (fwd,) = forwards(inst)
            fwd.timeout = 0.3
            loop = asyncio.get_running_loop()
            start = loop.time()
            r = await inst.query(NAME, "A", timeout=3)
            assert r.rcode() == dns.rcode.SERVFAIL
            assert 0.25 < loop.time() - start < 1.5
            assert len(silent.queried()) >= 3  # retried until the deadline


async def test_dns_over_tls(tls_cert: tuple[object, object]) -> None:
    """tls:// upstream with a CA file and a server name: queries go over TLS and are answered."""
    cert, key = tls_cert
    async with DoTServer(cert, key) as dot:  # type: ignore[arg-type]
        corefile = f".:0 {{\n forward . tls://127.0.0.1%dns.test:{dot.port} {{\n tls {cert}\n }}\n}}"
        async with run_instance(corefile) as inst:
            for proto in ("udp", "tcp"):
                r = await inst.query(NAME, "A", proto=proto)
                assert ips(r) == ["192.0.2.53"]
            assert len(dot.queries) == 2


async def test_dns_over_tls_bad_name_fails(tls_cert: tuple[object, object]) -> None:
    """A server name the certificate does not cover fails verification: SERVFAIL, nothing asked."""
    cert, key = tls_cert
    async with DoTServer(cert, key) as dot:  # type: ignore[arg-type]
        corefile = (
            f".:0 {{\n forward . tls://127.0.0.1:{dot.port} {{\n tls {cert}\n tls_servername other.test\n"
            "  max_fails 0\n }\n}"
        )
        async with run_instance(corefile) as inst:
            assert (await inst.query(NAME, "A")).rcode() == dns.rcode.SERVFAIL
            assert dot.queries == []


async def test_request_duration_metric() -> None:
    """Each upstream exchange is observed in coredns_proxy_request_duration_seconds by upstream and rcode."""
    async with FakeUpstream(records=records()) as up, run_instance(f".:0 {{\n forward . {up.addr}\n}}") as inst:
        labels = {"proxy_name": "forward", "to": up.addr, "rcode": "NOERROR"}
        before = metric("coredns_proxy_request_duration_seconds_count", **labels)
        await inst.query(NAME, "A")
        assert metric("coredns_proxy_request_duration_seconds_count", **labels) == before + 1
        assert metric("coredns_proxy_conn_cache_misses_total", proxy_name="forward", to=up.addr, proto=UDP) >= 1


async def test_idle_connections_expire() -> None:
    """A pooled connection idle longer than expire is closed and not reused."""
    async with FakeUpstream(records=records()) as up:
        corefile = f".:0 {{\n forward . {up.addr} {{\n force_tcp\n expire 50ms\n }}\n}}"
        async with run_instance(corefile) as inst:
            (fwd,) = forwards(inst)
            pool = fwd.upstreams[0].pool(TCP)
            await inst.query(NAME, "A")
            first = pool.conns[0]
            await until(lambda: first.last_used < time.monotonic() - 0.06)
            await inst.query(NAME, "A")
            assert first.closed
            assert pool.conns
            assert pool.conns[0] is not first


async def test_hostname_upstream_resolved_at_startup() -> None:
    """A host-name TO is resolved at startup through the ``resolver`` given, then used like an address."""
    async with FakeUpstream(records=records("192.0.2.60")) as up:
        names = {("resolver-target.test.", "A"): ["resolver-target.test. 60 IN A 127.0.0.1"]}
        async with FakeUpstream(records=names) as resolver:
            corefile = (
                f".:0 {{\n forward . resolver-target.test:{up.port} {{\n resolver 127.0.0.1:{resolver.port}\n }}\n}}"
            )
            async with run_instance(corefile) as inst:
                assert ips(await inst.query(NAME, "A")) == ["192.0.2.60"]
                assert [u.to for u in forwards(inst)[0].upstreams] == [up.addr]
            assert {m.question[0].name.to_text() for m in resolver.queried()} == {"resolver-target.test."}


async def test_unresolvable_hostname_fails_startup() -> None:
    """A host name that does not resolve stops the start with a located error."""
    async with FakeUpstream() as resolver:  # NXDOMAIN for everything
        corefile = f".:0 {{\n forward . nowhere.test {{\n resolver 127.0.0.1:{resolver.port}\n }}\n}}"
        with pytest.raises(ConfigError, match=r"plugin/forward: cannot resolve nowhere\.test\."):
            async with run_instance(corefile):
                pass


async def test_max_idle_conns_caps_idle_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """max_idle_conns 1: after a burst that needed several connections, one idle connection is kept."""
    monkeypatch.setitem(proxy.MAX_INFLIGHT, TCP, 1)  # one query per connection: a burst opens several
    release = asyncio.Event()

    async def handle(q: dns.message.Message, proto: str) -> Reply:
        await release.wait()
        return answer(q, f"{q.question[0].name} 60 IN A 192.0.2.11")

    corefile = ".:0 {{\n forward . {} {{\n force_tcp\n max_idle_conns 1\n }}\n}}"
    async with FakeUpstream(handle) as up, run_instance(corefile.format(up.addr)) as inst:
        pool = forwards(inst)[0].upstreams[0].pool(TCP)
        tasks = [asyncio.create_task(inst.query(f"b{i}.example.", "A")) for i in range(3)]
        await until(lambda: len(up.queries) == 3)
        assert len(pool.conns) == 3
        release.set()
        await asyncio.gather(*tasks)
        assert len(pool.conns) == 1


async def test_max_age_retires_old_connections() -> None:
    """max_age: a connection older than max_age takes no new query; the next query opens a new one."""
    corefile = ".:0 {{\n forward . {} {{\n force_tcp\n expire 50ms\n max_age 50ms\n }}\n}}"
    async with FakeUpstream(records=records()) as up, run_instance(corefile.format(up.addr)) as inst:
        pool = forwards(inst)[0].upstreams[0].pool(TCP)
        await inst.query(NAME, "A")
        first = pool.conns[0]
        await until(lambda: first.created < time.monotonic() - 0.06)
        await inst.query(NAME, "A")
        assert first.closed
        assert pool.conns[0] is not first


async def test_down_upstream_reprobed_until_it_answers() -> None:
    """A down upstream keeps being probed; when it answers a probe it is up again and gets queries."""
    alive = False

    def handle(q: dns.message.Message, proto: str) -> Reply:
        return answer(q, f"{q.question[0].name} 60 IN A 192.0.2.70") if alive else None

    corefile = ".:0 {{\n forward . {} {{\n read_timeout 50ms\n max_fails 1\n health_check 10ms\n }}\n}}"
    async with FakeUpstream(handle) as up, run_instance(corefile.format(up.addr)) as inst:
        health = forwards(inst)[0].upstreams[0].health
        r = await inst.query(NAME, "A")
        assert r.rcode() == dns.rcode.SERVFAIL
        await until(lambda: health.down)
        probes = len(up.queried())
        await until(lambda: len(up.queried()) > probes + 2)  # still probing while down
        alive = True
        await until(lambda: not health.down and not health.probing)
        assert ips(await inst.query(NAME, "A")) == ["192.0.2.70"]


@pytest.mark.parametrize(
    ("opts", "name", "rd"), [("", ".", True), (" no_rec domain Health.Example", "health.example.", False)]
)
async def test_health_probe_query(opts: str, name: str, rd: bool) -> None:
    """A network error starts probes: '<domain> IN NS', RD unless no_rec; any reply (here REFUSED) is healthy."""

    def handle(q: dns.message.Message, proto: str) -> Reply:
        return answer(q, rcode=dns.rcode.REFUSED) if q.question[0].rdtype == 2 else None

    corefile = ".:0 {{\n forward . {} {{\n read_timeout 30ms\n health_check 10ms{}\n }}\n}}"
    async with FakeUpstream(handle) as up, run_instance(corefile.format(up.addr, opts)) as inst:
        health = forwards(inst)[0].upstreams[0].health
        assert (await inst.query(NAME, "A")).rcode() == dns.rcode.SERVFAIL
        await until(lambda: any(m.question[0].rdtype == 2 for m in up.queried()))
        probe = next(m for m in up.queried() if m.question[0].rdtype == 2)
        assert probe.question[0].name.to_text() == name
        assert bool(probe.flags & dns.flags.RD) is rd
        await until(lambda: not health.probing)
        assert health.fails == 0


async def test_tcp_connection_retired_after_max_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    """After MAX_QUERIES queries a TCP connection takes no more and is closed; the next query opens another."""
    monkeypatch.setattr(proxy, "MAX_QUERIES", 3)
    corefile = ".:0 {{\n forward . {} {{\n force_tcp\n }}\n}}"
    async with FakeUpstream(records=records()) as up, run_instance(corefile.format(up.addr)) as inst:
        pool = forwards(inst)[0].upstreams[0].pool(TCP)
        await inst.query(NAME, "A")
        first = pool.conns[0]
        for _ in range(3):
            assert ips(await inst.query(NAME, "A")) == ["192.0.2.1"]
        assert first.closed
        assert first.sent == 3
        assert pool.conns[0].sent == 1


async def test_hinfo_queries_not_merged() -> None:
    """Identical HINFO queries in flight (loop's probe) each go upstream: a forwarding loop stays visible."""
    release = asyncio.Event()

    async def handle(q: dns.message.Message, proto: str) -> Reply:
        await release.wait()
        return answer(q)

    async with FakeUpstream(handle) as up, run_instance(f".:0 {{\n forward . {up.addr}\n}}") as inst:
        tasks = [asyncio.create_task(inst.query("probe.example.", "HINFO")) for _ in range(3)]
        await until(lambda: len(up.queries) == 3)
        release.set()
        assert all(r.rcode() == dns.rcode.NOERROR for r in await asyncio.gather(*tasks))
