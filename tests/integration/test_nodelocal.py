"""kdns as the node-local DNS cache: the stock node-local-dns Corefile, placeholders filled, runs unchanged.

tests/config/corefiles/nodelocaldns.Corefile.base (a copy of ../shared/corefiles) gets loopback
addresses for its __PILLAR__ placeholders and nothing else changes: the keys stay on port 53, health
on 127.0.0.10:8080 and metrics on :9253. The cluster DNS (127.0.0.12) and the node's upstream
(127.0.0.13) are FakeUpstreams on port 53, so binding port 53 on 127.0.0.10-13 must work (root, as
here and in CI); the tests skip when it does not. Reverse zones and cluster.local must reach the
cluster DNS over TCP (``force_tcp``), everything else the upstream over the client's protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import dns.message
import dns.rcode
import dns.rdatatype
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kdns.plugins.loop import plugin as loop_plugin
from kdns.plugins.loop.plugin import Loop
from kdns.testing import FakeUpstream, RunningInstance, bindable, query, require_plugins, rr, run_instance, until

BASE = Path(__file__).parent.parent / "config" / "corefiles" / "nodelocaldns.Corefile.base"
LOCAL, DNS_SERVER, CLUSTER, UPSTREAM = "127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13"
PILLARS = {
    "__PILLAR__LOCAL__DNS__": LOCAL,
    "__PILLAR__DNS__SERVER__": DNS_SERVER,
    "__PILLAR__CLUSTER__DNS__": CLUSTER,
    "__PILLAR__UPSTREAM__SERVERS__": UPSTREAM,
    "__PILLAR__DNS__DOMAIN__": "cluster.local",
}
V6PTR = "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
CLUSTER_RECORDS = {
    ("web.default.svc.cluster.local.", "A"): ["web.default.svc.cluster.local. 30 IN A 10.96.0.20"],
    ("10.0.96.10.in-addr.arpa.", "PTR"): ["10.0.96.10.in-addr.arpa. 30 IN PTR kube-dns.kube-system.svc.cluster.local."],
    (V6PTR, "PTR"): [f"{V6PTR} 30 IN PTR web.default.svc.cluster.local."],
}
UPSTREAM_RECORDS = {
    ("example.com.", "A"): ["example.com. 300 IN A 192.0.2.1"],
    ("example.net.", "A"): ["example.net. 300 IN A 192.0.2.2"],
}


def corefile() -> str:
    """The template with its placeholders filled; nothing else touched."""
    text = BASE.read_text()
    for pillar, value in PILLARS.items():
        text = text.replace(pillar, value)
    assert "__PILLAR__" not in text
    return text


@dataclass
class NodeLocal:
    inst: RunningInstance
    cluster: FakeUpstream
    upstream: FakeUpstream
    exits: list[int]

    async def ask(self, name: str, qtype: str = "A", *, host: str = LOCAL, proto: str = "udp") -> dns.message.Message:
        return await query(host, 53, name, qtype, proto=proto)

    def loops(self) -> list[Loop]:
        assert self.inst.runner.instance is not None
        return [b.handlers["loop"] for b in self.inst.runner.instance.blocks]  # type: ignore[misc]


def names(up: FakeUpstream, proto: str | None = None, *, probes: bool = False) -> list[str]:
    """Query names an upstream received (loop's HINFO probes left out unless ``probes``)."""
    return [
        m.question[0].name.to_text()
        for m in up.queried(proto)
        if probes == (m.question[0].rdtype == dns.rdatatype.HINFO)
    ]


@pytest.fixture
async def nodelocal(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[NodeLocal]:
    require_plugins("forward", "cache")
    busy = [f"{h}:53" for h in (LOCAL, DNS_SERVER, CLUSTER, UPSTREAM) if not bindable(h, 53)]
    busy += [a for a, (h, p) in {f"{LOCAL}:8080": (LOCAL, 8080), ":9253": ("", 9253)}.items() if not bindable(h, p)]
    if busy:
        pytest.skip(f"cannot bind {', '.join(busy)} (not root, or in use)")
    exits: list[int] = []
    monkeypatch.setattr(loop_plugin.SETTINGS, "on_loop", lambda: exits.append(1))  # never os._exit in pytest
    monkeypatch.setattr(loop_plugin.SETTINGS, "linger", 0.0)
    cluster = FakeUpstream(host=CLUSTER, records=CLUSTER_RECORDS)
    upstream = FakeUpstream(host=UPSTREAM, records=UPSTREAM_RECORDS)
    cluster.port = upstream.port = 53
    async with cluster, upstream, run_instance(corefile()) as inst:
        yield NodeLocal(inst, cluster, upstream, exits)


async def test_cluster_zone_goes_to_cluster_dns_over_tcp(nodelocal: NodeLocal) -> None:
    """A UDP query for a cluster.local name is answered by the cluster DNS, which got it over TCP."""
    r = await nodelocal.ask("web.default.svc.cluster.local")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer[0][0].address == "10.96.0.20"
    assert names(nodelocal.cluster, "tcp") == ["web.default.svc.cluster.local."]
    assert names(nodelocal.cluster, "udp") == []
    assert names(nodelocal.upstream) == []


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("10.0.96.10.in-addr.arpa.", "kube-dns.kube-system.svc.cluster.local."),
        (V6PTR, "web.default.svc.cluster.local."),
    ],
)
async def test_reverse_zones_go_to_cluster_dns_over_tcp(nodelocal: NodeLocal, name: str, target: str) -> None:
    """PTR queries in in-addr.arpa and ip6.arpa go to the cluster DNS over TCP, never the upstream."""
    r = await nodelocal.ask(name, "PTR")
    assert r.answer[0][0].target.to_text() == target
    assert names(nodelocal.cluster, "tcp") == [name]
    assert names(nodelocal.upstream) == []


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_other_names_go_upstream_in_client_protocol(nodelocal: NodeLocal, proto: str) -> None:
    """Names outside the cluster zones go to the node's upstream, over the protocol the client used."""
    r = await nodelocal.ask("example.com", proto=proto)
    assert r.answer[0][0].address == "192.0.2.1"
    assert names(nodelocal.upstream, proto) == ["example.com."]
    assert names(nodelocal.upstream) == ["example.com."]
    assert names(nodelocal.cluster) == []


async def test_both_bind_addresses_answer(nodelocal: NodeLocal) -> None:
    """The link-local address and the kube-dns service address (bind's two addresses) both serve."""
    for host in (LOCAL, DNS_SERVER):
        for proto in ("udp", "tcp"):
            r = await nodelocal.ask("example.net", host=host, proto=proto)
            assert r.answer[0][0].address == "192.0.2.2", (host, proto)


async def test_cache_hits_do_not_reach_upstreams(nodelocal: NodeLocal) -> None:
    """Repeated queries are answered from the cache: each upstream sees a name once, TTLs capped at 30s."""
    for _ in range(3):
        r1 = await nodelocal.ask("web.default.svc.cluster.local")
        r2 = await nodelocal.ask("example.com", host=DNS_SERVER)
        assert r1.answer[0][0].address == "10.96.0.20"
        assert r2.answer[0][0].address == "192.0.2.1"
        assert r2.answer[0].ttl <= 30  # cache 30 caps the upstream's 300
    assert names(nodelocal.cluster) == ["web.default.svc.cluster.local."]
    assert names(nodelocal.upstream) == ["example.com."]


async def test_negative_answers_are_cached(nodelocal: NodeLocal) -> None:
    """NXDOMAIN from the cluster DNS (with its SOA) is cached too (denial cache): asked once."""
    soa = "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 30"

    def nx(q: dns.message.Message, proto: str) -> dns.message.Message:
        r = dns.message.make_response(q)
        r.set_rcode(dns.rcode.NXDOMAIN)
        r.authority = [rr(soa)]
        return r

    nodelocal.cluster.handler = nx
    for _ in range(3):
        r = await nodelocal.ask("missing.default.svc.cluster.local")
        assert r.rcode() == dns.rcode.NXDOMAIN
        assert r.authority[0].ttl <= 5  # denial 9984 5
    assert names(nodelocal.cluster) == ["missing.default.svc.cluster.local."]


async def test_health_and_metrics(nodelocal: NodeLocal) -> None:
    """/health answers on the local IP's port 8080; :9253/metrics has the cache and forward families."""
    await nodelocal.ask("web.default.svc.cluster.local")
    await nodelocal.ask("web.default.svc.cluster.local")
    await nodelocal.ask("example.com")
    async with aiohttp.ClientSession() as s:
        async with s.get(f"http://{LOCAL}:8080/health") as r:
            assert (r.status, await r.text()) == (200, "OK")
        async with s.get("http://127.0.0.1:9253/metrics") as r:
            assert r.status == 200
            text = await r.text()
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    by_name: dict[str, list[dict[str, str]]] = {}
    for s in samples:
        by_name.setdefault(s.name, []).append(s.labels)
    for name in ("coredns_cache_requests_total", "coredns_cache_hits_total", "coredns_cache_entries"):
        assert name in by_name, f"{name} missing"
    assert any(lb.get("server") == f"dns://{LOCAL}:53" for lb in by_name["coredns_cache_requests_total"])
    proxies = by_name.get("coredns_proxy_request_duration_seconds_count", [])
    assert {lb["to"] for lb in proxies if lb.get("proxy_name") == "forward"} >= {f"{CLUSTER}:53", f"{UPSTREAM}:53"}
    assert "coredns_proxy_conn_cache_misses_total" in by_name or "coredns_proxy_conn_cache_hits_total" in by_name
    servers = {lb["server"] for lb in by_name["coredns_dns_requests_total"]}
    assert f"dns://{LOCAL}:53" in servers


async def test_loop_probes_each_block_and_goes_quiet(nodelocal: NodeLocal) -> None:
    """Every block's loop probe goes through its forward (cluster zones over TCP) and is answered: no exit."""
    loops = nodelocal.loops()
    assert len(loops) == 4
    await until(lambda: all(h.off for h in loops))
    assert nodelocal.exits == []
    assert all(h.seen == 1 and h.address == f"{LOCAL}:53" for h in loops)
    cluster_probes = sorted(n.split(".", 2)[2] for n in names(nodelocal.cluster, "tcp", probes=True))
    assert cluster_probes == ["cluster.local.", "in-addr.arpa.", "ip6.arpa."]
    assert [n.split(".", 2)[2] for n in names(nodelocal.upstream, probes=True)] == [""]
