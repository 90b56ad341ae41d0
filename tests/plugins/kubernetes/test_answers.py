"""The kubernetes handler against Case tables, one group per rule of k8s-dns-spec.md (R0-R22) and
coredns.md §4.3-4.5, over a Store fed directly with the demo cluster (kdns.testing.kubecluster)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from kdns.pkg.fall import Fall
from kdns.plugins.kubernetes import objects
from kdns.plugins.kubernetes.options import KubeOptions
from kdns.plugins.kubernetes.plugin import Kubernetes
from kdns.request import Request
from kdns.testing import Case, FakeUpstream, FakeWriter, Recorder, next_handler, rr, run_instance, sort_section
from kdns.testing import kubeobjects as k
from kdns.testing.kubecluster import CLUSTER, make_store, manifest
from kdns.writer import ResponseWriter

NX = dns.rcode.NXDOMAIN
ZONES = ("cluster.local.", "in-addr.arpa.", "ip6.arpa.")
OPTS = KubeOptions(zones=ZONES, pods="insecure")
SERIAL = 1700000000
SOA = f"cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. {SERIAL} 7200 1800 86400 5"
RSOA = f"in-addr.arpa. 5 IN SOA ns.dns.in-addr.arpa. hostmaster.in-addr.arpa. {SERIAL} 7200 1800 86400 5"
R6SOA = f"ip6.arpa. 5 IN SOA ns.dns.ip6.arpa. hostmaster.ip6.arpa. {SERIAL} 7200 1800 86400 5"
#: what the next plugin (standing in for forward) answers for names outside the cluster
UPSTREAM = {
    ("example.net.", "A"): ["example.net. 300 IN A 192.0.2.10"],
    ("example.net.", "AAAA"): ["example.net. 300 IN AAAA 2001:db8::10"],
}
NEXT_RCODE = dns.rcode.NOTZONE

WEB_V6_PTR = "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa."
DB0_V6_PTR = "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa."


def case(rule: str, qname: str, qtype: str = "A", **kw: object) -> object:
    """A Case with its rule in the pytest id; ``nx=True`` for NXDOMAIN with the SOA, ``nodata=True`` for NODATA."""
    soa = kw.pop("soa", SOA)
    if kw.pop("nx", False):
        kw.setdefault("rcode", NX)
        kw.setdefault("ns", [soa])
    if kw.pop("nodata", False):
        kw.setdefault("ns", [soa])
    return pytest.param(Case(qname, qtype, authoritative=True, **kw), id=f"{rule} {qname} {qtype}")  # type: ignore[arg-type]


def glue(target: str, *ips: str, ttl: int = 5) -> list[str]:
    return [f"{target} {ttl} IN {'AAAA' if ':' in ip else 'A'} {ip}" for ip in ips]


WEB = "web.prod.svc.cluster.local."
DB = "db.prod.svc.cluster.local."
KUBE_DNS = "kube-dns.kube-system.svc.cluster.local."

CASES = [
    # R0: endpoint names: hostname, else the dashed IP (IPv6 colons to dashes); matching ignores case
    case(
        "R0",
        "10-244-2-12.db.prod.svc.cluster.local.",
        answer=["10-244-2-12.db.prod.svc.cluster.local. 5 IN A 10.244.2.12"],
    ),
    case(
        "R0",
        "fd00-10-244-1--10.web.prod.svc.cluster.local.",
        "AAAA",
        answer=["fd00-10-244-1--10.web.prod.svc.cluster.local. 5 IN AAAA fd00:10:244:1::10"],
    ),
    case("R0", "WEB.PROD.SVC.CLUSTER.LOCAL.", answer=["WEB.PROD.SVC.CLUSTER.LOCAL. 5 IN A 10.96.1.10"]),
    # R1: the schema version
    case("R1", "dns-version.cluster.local.", "TXT", answer=['dns-version.cluster.local. 28800 IN TXT "1.1.0"']),
    # R2: ClusterIP A/AAAA, the virtual IPs only, with or without endpoints or ports
    case("R2", WEB, answer=[f"{WEB} 5 IN A 10.96.1.10"]),
    case("R2", WEB, "AAAA", answer=[f"{WEB} 5 IN AAAA fd00:10:96::a"]),
    case("R2", "idle.prod.svc.cluster.local.", answer=["idle.prod.svc.cluster.local. 5 IN A 10.96.1.20"]),
    case("R2", "bare.prod.svc.cluster.local.", answer=["bare.prod.svc.cluster.local. 5 IN A 10.96.1.21"]),
    case("R2", "v6only.prod.svc.cluster.local.", nodata=True),
    case(
        "R2",
        "v6only.prod.svc.cluster.local.",
        "AAAA",
        answer=["v6only.prod.svc.cluster.local. 5 IN AAAA fd00:10:96::b"],
    ),
    # R3: SRV for named ports, the Service port, weight floor(100/N) (dual-stack: N=2), glue of both families
    case(
        "R3",
        f"_http._tcp.{WEB}",
        "SRV",
        answer=[f"_http._tcp.{WEB} 5 IN SRV 0 50 80 {WEB}"],
        extra=glue(WEB, "10.96.1.10", "fd00:10:96::a"),
    ),
    case(
        "R3",
        f"_HTTP._TCP.{WEB}",
        "SRV",
        answer=[f"_HTTP._TCP.{WEB} 5 IN SRV 0 50 80 {WEB}"],
        extra=glue(WEB, "10.96.1.10", "fd00:10:96::a"),
    ),
    case("R3", f"_http._udp.{WEB}", "SRV", nx=True),
    case("R3", "_dns._tcp.kube-dns.kube-system.svc.cluster.local.", "SRV", nx=True),
    case(
        "R3",
        f"_dns._udp.{KUBE_DNS}",
        "SRV",
        answer=[f"_dns._udp.{KUBE_DNS} 5 IN SRV 0 100 53 {KUBE_DNS}"],
        extra=glue(KUBE_DNS, "10.96.0.10"),
    ),
    case("R3", f"_unknown._tcp.{WEB}", "SRV", nx=True),
    # R4: PTR for ClusterIPs (both families), target in the primary zone
    case("R4", "10.1.96.10.in-addr.arpa.", "PTR", answer=[f"10.1.96.10.in-addr.arpa. 5 IN PTR {WEB}"]),
    case("R4", WEB_V6_PTR, "PTR", answer=[f"{WEB_V6_PTR} 5 IN PTR {WEB}"]),
    case(
        "R4",
        "1.0.96.10.in-addr.arpa.",
        "PTR",
        answer=["1.0.96.10.in-addr.arpa. 5 IN PTR kubernetes.default.svc.cluster.local."],
    ),
    # R5: headless: one record per ready address, deduplicated; none ready: NXDOMAIN for every type
    case("R5", DB, answer=[f"{DB} 5 IN A 10.244.2.10", f"{DB} 5 IN A 10.244.2.11", f"{DB} 5 IN A 10.244.2.12"]),
    case("R5", DB, "AAAA", answer=[f"{DB} 5 IN AAAA fd00:10:244:2::10"]),
    case("R5", DB, "TXT", nodata=True),
    case("R5", "gone.prod.svc.cluster.local.", nx=True),
    case("R5", "gone.prod.svc.cluster.local.", "AAAA", nx=True),
    case("R5", "gone.prod.svc.cluster.local.", "SRV", nx=True),
    case("R5", "_http._tcp.gone.prod.svc.cluster.local.", "SRV", nx=True),
    case("R5", "bare-hl.prod.svc.cluster.local.", answer=["bare-hl.prod.svc.cluster.local. 5 IN A 10.244.3.5"]),
    case("R5", "bare-hl.prod.svc.cluster.local.", "AAAA", nodata=True),
    # R6: per-endpoint hostname records, both families; not-ready or unknown hostnames do not exist
    case("R6", f"db-0.{DB}", answer=[f"db-0.{DB} 5 IN A 10.244.2.10"]),
    case("R6", f"db-0.{DB}", "AAAA", answer=[f"db-0.{DB} 5 IN AAAA fd00:10:244:2::10"]),
    case("R6", f"db-2.{DB}", nx=True),
    case("R6", f"nobody.{DB}", nx=True),
    case("R6", f"db-1.{DB}", "TXT", nodata=True),
    # R7: headless SRV: endpoint x port, the EndpointSlice port, (target, port) once, weight from N=5
    case(
        "R7",
        f"_pg._tcp.{DB}",
        "SRV",
        answer=[
            f"_pg._tcp.{DB} 5 IN SRV 0 20 15432 db-0.{DB}",
            f"_pg._tcp.{DB} 5 IN SRV 0 20 15432 db-1.{DB}",
            f"_pg._tcp.{DB} 5 IN SRV 0 20 15432 10-244-2-12.{DB}",
        ],
        extra=[
            *glue(f"db-0.{DB}", "10.244.2.10", "fd00:10:244:2::10"),
            *glue(f"db-1.{DB}", "10.244.2.11"),
            *glue(f"10-244-2-12.{DB}", "10.244.2.12"),
        ],
    ),
    case("R7", f"_pg._udp.{DB}", "SRV", nx=True),
    case("R7", "_http._tcp.bare-hl.prod.svc.cluster.local.", "SRV", nx=True),
    # R8: PTR for ready endpoint IPs: hostname or dashed-IP targets; not-ready: none
    case("R8", "10.2.244.10.in-addr.arpa.", "PTR", answer=[f"10.2.244.10.in-addr.arpa. 5 IN PTR db-0.{DB}"]),
    case("R8", "12.2.244.10.in-addr.arpa.", "PTR", answer=[f"12.2.244.10.in-addr.arpa. 5 IN PTR 10-244-2-12.{DB}"]),
    case("R8", DB0_V6_PTR, "PTR", answer=[f"{DB0_V6_PTR} 5 IN PTR db-0.{DB}"]),
    case("R8", "13.2.244.10.in-addr.arpa.", "PTR", nx=True, soa=RSOA),
    case("R8", "11.1.244.10.in-addr.arpa.", "PTR", nx=True, soa=RSOA),
    case("R8", "1.2.0.192.in-addr.arpa.", "PTR", nx=True, soa=RSOA),
    case("R8", "10.2.244.10.in-addr.arpa.", "A", nodata=True, soa=RSOA),
    # R9: ExternalName: CNAME only for CNAME; A/AAAA chase in-zone targets here, others via the chain
    case("R9", "ext.prod.svc.cluster.local.", "CNAME", answer=["ext.prod.svc.cluster.local. 5 IN CNAME example.net."]),
    case(
        "R9",
        "ext.prod.svc.cluster.local.",
        "A",
        answer=["ext.prod.svc.cluster.local. 5 IN CNAME example.net.", "example.net. 300 IN A 192.0.2.10"],
    ),
    case(
        "R9",
        "ext.prod.svc.cluster.local.",
        "AAAA",
        answer=["ext.prod.svc.cluster.local. 5 IN CNAME example.net.", "example.net. 300 IN AAAA 2001:db8::10"],
    ),
    case(
        "R9",
        "ext-in.prod.svc.cluster.local.",
        "A",
        answer=[f"ext-in.prod.svc.cluster.local. 5 IN CNAME {WEB}", f"{WEB} 5 IN A 10.96.1.10"],
    ),
    case("R9", "ext-in.prod.svc.cluster.local.", "CNAME", answer=[f"ext-in.prod.svc.cluster.local. 5 IN CNAME {WEB}"]),
    case("R9", "ext-ip.prod.svc.cluster.local.", "A", nx=True),
    case("R9", "ext-ip.prod.svc.cluster.local.", "CNAME", nx=True),
    case("R9", "x.ext.prod.svc.cluster.local.", "A", nx=True),
    case("R9", "_http._tcp.ext.prod.svc.cluster.local.", "SRV", nx=True),
    case(
        "R9",
        "ext-loop.prod.svc.cluster.local.",
        "A",
        answer=["ext-loop.prod.svc.cluster.local. 5 IN CNAME ext-loop.prod.svc.cluster.local."],
    ),
    case(
        "R9",
        "ext-miss.prod.svc.cluster.local.",
        "A",
        rcode=NX,
        ns=[SOA],
        answer=["ext-miss.prod.svc.cluster.local. 5 IN CNAME missing.prod.svc.cluster.local."],
    ),
    # R10: pod records (insecure: synthesised from the name), IPv6 form, bad labels, the namespace node
    case(
        "R10", "10-244-1-10.prod.pod.cluster.local.", answer=["10-244-1-10.prod.pod.cluster.local. 5 IN A 10.244.1.10"]
    ),
    case("R10", "10-9-9-9.prod.pod.cluster.local.", answer=["10-9-9-9.prod.pod.cluster.local. 5 IN A 10.9.9.9"]),
    case(
        "R10",
        "fd00-10-244-1--10.prod.pod.cluster.local.",
        "AAAA",
        answer=["fd00-10-244-1--10.prod.pod.cluster.local. 5 IN AAAA fd00:10:244:1::10"],
    ),
    case("R10", "fd00-10-244-1--10.prod.pod.cluster.local.", "A", nodata=True),
    case("R10", "not-an-ip.prod.pod.cluster.local.", nx=True),
    case("R10", "10-244-1-10.nons.pod.cluster.local.", nx=True),
    case("R10", "prod.pod.cluster.local.", nodata=True),
    case("R10", "x.10-244-1-10.prod.pod.cluster.local.", nx=True),
    # R11: hostname + subdomain (the EndpointSlice hostname) answers under the headless service
    case("R11", f"db-1.{DB}", answer=[f"db-1.{DB} 5 IN A 10.244.2.11"]),
    # R12: readiness: ready false is left out, a missing condition is ready, publishNotReadyAddresses
    case("R12", "10-244-1-11.web.prod.svc.cluster.local.", nx=True),
    case(
        "R12",
        "10-244-1-12.web.prod.svc.cluster.local.",
        answer=["10-244-1-12.web.prod.svc.cluster.local. 5 IN A 10.244.1.12"],
    ),
    case("R12", "pnr.prod.svc.cluster.local.", answer=["pnr.prod.svc.cluster.local. 5 IN A 10.244.4.1"]),
    case(
        "R12",
        "1.4.244.10.in-addr.arpa.",
        "PTR",
        answer=["1.4.244.10.in-addr.arpa. 5 IN PTR 10-244-4-1.pnr.prod.svc.cluster.local."],
    ),
    # R13: dual-stack: one SRV per (target, port) across both slices
    case(
        "R13",
        f"db-0.{DB}",
        "SRV",
        answer=[f"db-0.{DB} 5 IN SRV 0 33 15432 db-0.{DB}"],
        extra=glue(f"db-0.{DB}", "10.244.2.10", "fd00:10:244:2::10"),
    ),
    # R15: NXDOMAIN vs NODATA across the grammar
    case("R15", "cluster.local.", "A", nodata=True),
    case("R15", "svc.cluster.local.", "A", nodata=True),
    case("R15", "pod.cluster.local.", "A", nodata=True),
    case("R15", "prod.svc.cluster.local.", "A", nodata=True),
    case("R15", "nons.svc.cluster.local.", "A", nx=True),
    case("R15", "ghost.svc.cluster.local.", "A", nx=True),
    case("R15", "svc.ghost.svc.cluster.local.", "A", nx=True),
    case("R15", "foo.cluster.local.", "A", nx=True),
    case("R15", "nope.prod.svc.cluster.local.", "A", nx=True),
    case("R15", WEB, "TXT", nodata=True),
    case("R15", WEB, "MX", nodata=True),
    case("R15", f"a.b.c.{WEB}", "A", nx=True),
    case("R15", f"a.b.{WEB}", "A", nx=True),
    case("R15", "any.prod.svc.cluster.local.", "A", nx=True),
    case("R15", "*.prod.svc.cluster.local.", "A", nx=True),
    # R16: apex SOA and NS (the kube-dns Service holds this server's IP), ns.dns, AA everywhere
    case("R16", "cluster.local.", "SOA", answer=[SOA]),
    case(
        "R16",
        "cluster.local.",
        "NS",
        answer=["cluster.local. 5 IN NS kube-dns.kube-system.svc.cluster.local."],
        extra=glue("kube-dns.kube-system.svc.cluster.local.", "10.96.0.10"),
    ),
    case("R16", "ns.dns.cluster.local.", "A", answer=["ns.dns.cluster.local. 5 IN A 10.244.0.2"]),
    case("R16", "ns.dns.cluster.local.", "AAAA", nodata=True),
    case("R16", "in-addr.arpa.", "SOA", answer=[RSOA]),
    # R17: the query's spelling in owners, derived names use the query's spelling of the zone
    case(
        "R17",
        "_http._tcp.web.prod.svc.CLUSTER.local.",
        "SRV",
        answer=["_http._tcp.web.prod.svc.CLUSTER.local. 5 IN SRV 0 50 80 web.prod.svc.CLUSTER.local."],
        extra=glue("web.prod.svc.CLUSTER.local.", "10.96.1.10", "fd00:10:96::a"),
    ),
    case(
        "R17",
        "Nope.Prod.svc.Cluster.Local.",
        "A",
        rcode=NX,
        ns=[f"Cluster.Local. 5 IN SOA ns.dns.Cluster.Local. hostmaster.Cluster.Local. {SERIAL} 7200 1800 86400 5"],
    ),
    case("R17", "Db-0.DB.prod.svc.cluster.local.", "A", answer=["Db-0.DB.prod.svc.cluster.local. 5 IN A 10.244.2.10"]),
    # R18: search-path candidates are NXDOMAIN
    case("R18", "kubernetes.default.prod.svc.cluster.local.", nx=True),
    case("R18", "kubernetes.default.svc.svc.cluster.local.", nx=True),
    case("R18", "kubernetes.default.svc.cluster.local.prod.svc.cluster.local.", nx=True),
    case("R18", "_http._tcp.web.prod.svc.prod.svc.cluster.local.", "SRV", nx=True),
    case(
        "R18",
        "kubernetes.default.svc.cluster.local.",
        answer=["kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1"],
    ),
    # R20: CoreDNS extensions: endpoint names under ClusterIP services, bare-name SRV (all ports)
    case(
        "R20",
        "10-244-1-10.web.prod.svc.cluster.local.",
        answer=["10-244-1-10.web.prod.svc.cluster.local. 5 IN A 10.244.1.10"],
    ),
    case(
        "R20",
        WEB,
        "SRV",
        answer=[f"{WEB} 5 IN SRV 0 25 80 {WEB}", f"{WEB} 5 IN SRV 0 25 8080 {WEB}"],
        extra=glue(WEB, "10.96.1.10", "fd00:10:96::a"),
    ),
    case("R20", "bare.prod.svc.cluster.local.", "SRV", nodata=True),
    case(
        "R20",
        "10.1.244.10.in-addr.arpa.",
        "PTR",
        answer=["10.1.244.10.in-addr.arpa. 5 IN PTR 10-244-1-10.web.prod.svc.cluster.local."],
    ),
    # R21: spec/RFC-faithful where CoreDNS has quirks
    case("R21", "dns-version.cluster.local.", "A", nodata=True),
    case("R21", f"_tcp.{WEB}", "A", nodata=True),
    case("R21", f"_udp.{WEB}", "A", nx=True),
    case("R21", "96.10.in-addr.arpa.", "PTR", nodata=True, soa=RSOA),
    case("R21", "97.10.in-addr.arpa.", "PTR", nx=True, soa=RSOA),
    case("R21", "6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.", "PTR", nodata=True, soa=R6SOA),
    case("R21", "ext.prod.svc.cluster.local.", "TXT", answer=["ext.prod.svc.cluster.local. 5 IN CNAME example.net."]),
    case("R21", "ext.prod.svc.cluster.local.", "SRV", answer=["ext.prod.svc.cluster.local. 5 IN CNAME example.net."]),
    case(
        "R21",
        "ext-v4.prod.svc.cluster.local.",
        "AAAA",
        answer=["ext-v4.prod.svc.cluster.local. 5 IN CNAME kubernetes.default.svc.cluster.local."],
        ns=[SOA],
    ),
    case("R21", "nope.prod.svc.cluster.local.", "SOA", nx=True),
    case("R21", WEB, "SOA", nodata=True),
    case("R21", f"_http._tcp.{WEB}", "A", nodata=True),
    case("R21", "quiet.svc.cluster.local.", "A", nodata=True),
    case("R21", "dns.cluster.local.", "A", nodata=True),
]


class Upstream:
    """Stands in for the rest of the chain (forward): answers UPSTREAM, NXDOMAIN for other names."""

    name = "upstream"

    def __init__(self, rcode: int = dns.rcode.NOERROR, tc: bool = False) -> None:
        self.rcode = rcode
        self.tc = tc
        self.asked: list[tuple[str, str, str]] = []

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        self.asked.append((req.qname, req.type_text, req.proto))
        if self.rcode == dns.rcode.SERVFAIL:
            return self.rcode
        reply = req.reply()
        texts = UPSTREAM.get((req.qname, req.type_text))
        if texts is None:
            reply.set_rcode(dns.rcode.NXDOMAIN)
            reply.authority = [rr("net. 900 IN SOA a.net. b.net. 1 2 3 4 900")]
        else:
            reply.answer = [rr(t) for t in texts]
        if self.tc:
            reply.flags |= dns.flags.TC
        await w.write_msg(reply)
        return reply.rcode()


def handler(opts: KubeOptions = OPTS, nxt: object = None, synced: bool = True, **kw: object) -> Kubernetes:
    store = kw.pop("store", None) or make_store()
    return Kubernetes(
        opts=opts,
        store=store,  # type: ignore[arg-type]
        synced=lambda: synced,
        local_ips=kw.pop("local_ips", ("10.244.0.2",)),  # type: ignore[arg-type]
        next=nxt or Upstream(),  # type: ignore[arg-type]
    )


async def serve(h: Kubernetes, tc: Case, proto: str = "udp") -> tuple[int, dns.message.Message | None]:
    rec = Recorder(FakeWriter(proto=proto))
    rcode = await h.serve_dns(rec, tc.request(proto=proto))
    return rcode, rec.msg


@pytest.mark.parametrize("tc", CASES)
async def test_rules(tc: Case) -> None:
    """Each rule's answers: rcode, AA, answer, authority (SOA on negatives only) and additional."""
    tc.check(*await serve(handler(), tc))


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_R9_chase_keeps_transport_and_question(proto: str) -> None:
    """R9: an external target is asked of the rest of the chain as (target, qtype) over the client's transport."""
    up = Upstream()
    h = handler(nxt=up)
    tc = Case("ext.prod.svc.cluster.local.", "A")
    rcode, msg = await serve(h, tc, proto)
    assert up.asked == [("example.net.", "A", proto)]
    assert msg is not None
    assert msg.question[0].name.to_text() == "ext.prod.svc.cluster.local."
    assert rcode == dns.rcode.NOERROR


@pytest.mark.parametrize(
    ("up", "rcode", "answer", "tc_flag"),
    [
        pytest.param(Upstream(dns.rcode.SERVFAIL), dns.rcode.NOERROR, 1, False, id="R9 upstream fails: CNAME alone"),
        pytest.param(Upstream(tc=True), dns.rcode.NOERROR, 2, True, id="R9 upstream truncated: TC kept"),
    ],
)
async def test_R9_chase_outcomes(up: Upstream, rcode: int, answer: int, tc_flag: bool) -> None:
    """R9: a failed chase leaves the CNAME alone (NOERROR); a truncated chase keeps TC."""
    _, msg = await serve(handler(nxt=up), Case("ext.prod.svc.cluster.local.", "A"))
    assert msg is not None
    assert msg.rcode() == rcode
    assert sum(len(r) for r in msg.answer) == answer
    assert bool(msg.flags & dns.flags.TC) is tc_flag
    assert msg.flags & dns.flags.AA


async def test_R9_upstream_nxdomain() -> None:
    """R9/R21: an external target that does not exist makes the reply NXDOMAIN with the CNAME (RFC 6604)."""
    store = make_store([*CLUSTER, k.service("ext2", "prod", external_name="missing.example.net")])
    tc = Case(
        "ext2.prod.svc.cluster.local.",
        "A",
        rcode=NX,
        answer=["ext2.prod.svc.cluster.local. 5 IN CNAME missing.example.net."],
        ns=["net. 900 IN SOA a.net. b.net. 1 2 3 4 900"],
    )
    tc.check(*await serve(handler(store=store), tc))


async def test_R9_no_next_plugin() -> None:
    """R9: with nothing after kubernetes the A query still gets the CNAME."""
    h = Kubernetes(opts=OPTS, store=make_store())
    tc = Case("ext.prod.svc.cluster.local.", "A", answer=["ext.prod.svc.cluster.local. 5 IN CNAME example.net."])
    tc.check(*await serve(h, tc))


async def test_R9_live_type_change() -> None:
    """R9 (e2e): a changed externalName, then a change to ClusterIP, show in the next answer."""
    h = handler()
    tc = Case("ext.prod.svc.cluster.local.", "CNAME", answer=["ext.prod.svc.cluster.local. 5 IN CNAME example.net."])
    tc.check(*await serve(h, tc))
    h.store.upsert(objects.service(k.service("ext", "prod", external_name="bar.example.com")))
    tc = replace(tc, answer=["ext.prod.svc.cluster.local. 5 IN CNAME bar.example.com."])
    tc.check(*await serve(h, tc))
    h.store.upsert(objects.service(k.service("ext", "prod", "10.96.7.7", [("http", 80)])))
    tc = Case("ext.prod.svc.cluster.local.", "A", answer=["ext.prod.svc.cluster.local. 5 IN A 10.96.7.7"])
    tc.check(*await serve(h, tc))


@pytest.mark.parametrize(
    ("mode", "qname", "want"),
    [
        pytest.param("disabled", "10-244-1-10.prod.pod.cluster.local.", NX, id="R10 disabled"),
        pytest.param("verified", "10-244-1-10.prod.pod.cluster.local.", dns.rcode.NOERROR, id="R10 verified pod"),
        pytest.param("verified", "10-244-9-9.prod.pod.cluster.local.", NX, id="R10 verified no pod"),
        pytest.param("verified", "10-244-1-10.default.pod.cluster.local.", NX, id="R10 verified other ns"),
        pytest.param("verified", "10-244-5-5.default.pod.cluster.local.", dns.rcode.NOERROR, id="R10 verified client"),
        pytest.param("insecure", "10-244-9-9.prod.pod.cluster.local.", dns.rcode.NOERROR, id="R10 insecure any ip"),
        pytest.param("insecure", "10-244-9-9.ghost.pod.cluster.local.", NX, id="R10 insecure no namespace"),
    ],
)
async def test_R10_pods_modes(mode: str, qname: str, want: int) -> None:
    """R10/R22: ``pods disabled`` never answers, ``insecure`` echoes the IP, ``verified`` needs the pod."""
    h = handler(replace(OPTS, pods=mode))
    _, msg = await serve(h, Case(qname))
    assert msg is not None
    assert msg.rcode() == want
    if want == dns.rcode.NOERROR:
        assert msg.answer[0][0].to_text() == qname.split(".")[0].replace("-", ".")


async def test_R14_ttl_option() -> None:
    """R14: ``ttl`` sets every record and the SOA minimum; the SOA's own TTL is min(ttl, 300)."""
    h = handler(replace(OPTS, ttl=3600))
    tc = Case(WEB, "SRV", answer=[f"{WEB} 3600 IN SRV 0 25 80 {WEB}", f"{WEB} 3600 IN SRV 0 25 8080 {WEB}"],
              extra=glue(WEB, "10.96.1.10", "fd00:10:96::a", ttl=3600))  # fmt: skip
    tc.check(*await serve(h, tc))
    soa = f"cluster.local. 300 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. {SERIAL} 7200 1800 86400 3600"
    Case("nope.cluster.local.", rcode=NX, ns=[soa]).check(*await serve(h, Case("nope.cluster.local.")))
    tc = Case("dns-version.cluster.local.", "TXT", answer=['dns-version.cluster.local. 28800 IN TXT "1.1.0"'])
    tc.check(*await serve(h, tc))
    h0 = handler(replace(OPTS, ttl=0))
    Case(WEB, answer=[f"{WEB} 0 IN A 10.96.1.10"]).check(*await serve(h0, Case(WEB)))


async def test_R16_ns_without_own_service() -> None:
    """R16: when no Service has this server's IPs, NS is ``ns.dns.<zone>`` with the server's IPs as glue."""
    h = handler(local_ips=("192.0.2.53", "2001:db8::53"))
    tc = Case("cluster.local.", "NS", answer=["cluster.local. 5 IN NS ns.dns.cluster.local."],
              extra=glue("ns.dns.cluster.local.", "192.0.2.53", "2001:db8::53"))  # fmt: skip
    tc.check(*await serve(h, tc))
    tc = Case("ns.dns.cluster.local.", "AAAA", answer=["ns.dns.cluster.local. 5 IN AAAA 2001:db8::53"])
    tc.check(*await serve(h, tc))


@pytest.mark.parametrize("qtype", ["AXFR", "IXFR"])
async def test_R16_transfers_refused(qtype: str) -> None:
    """R16: zone transfers are REFUSED, left for the server to write."""
    rcode, msg = await serve(handler(), Case("cluster.local.", qtype))
    assert rcode == dns.rcode.REFUSED
    assert msg is None


async def test_R16_positive_has_no_authority() -> None:
    """R16: positive replies have an empty authority section and AA set."""
    _, msg = await serve(handler(), Case(WEB))
    assert msg is not None
    assert not msg.authority
    assert msg.flags & dns.flags.AA


async def test_R19_big_headless_answer() -> None:
    """R19: every ready address of a big headless service is in the answer (truncation is the server's)."""
    eps = [f"10.250.{i // 250}.{i % 250 + 1}" for i in range(300)]
    store = make_store([*CLUSTER, k.service("big", "prod", "None"), k.endpoint_slice("big-1", "prod", "big", eps)])
    _, msg = await serve(handler(store=store), Case("big.prod.svc.cluster.local."))
    assert msg is not None
    assert len(msg.answer[0]) == 300


# -- options -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qname", "qtype", "want"),
    [
        pytest.param(DB, "A", NX, id="noendpoints headless"),
        pytest.param(f"db-0.{DB}", "A", NX, id="noendpoints endpoint name"),
        pytest.param("10-244-1-10.web.prod.svc.cluster.local.", "A", NX, id="noendpoints clusterip endpoint"),
        pytest.param("10.2.244.10.in-addr.arpa.", "PTR", NX, id="noendpoints endpoint ptr"),
        pytest.param(WEB, "A", dns.rcode.NOERROR, id="noendpoints clusterip"),
        pytest.param("10.1.96.10.in-addr.arpa.", "PTR", dns.rcode.NOERROR, id="noendpoints clusterip ptr"),
    ],
)
async def test_R20_noendpoints(qname: str, qtype: str, want: int) -> None:
    """R20 ``noendpoints``: headless and endpoint names do not exist; ClusterIP records stay."""
    _, msg = await serve(handler(replace(OPTS, noendpoints=True)), Case(qname, qtype))
    assert msg is not None
    assert msg.rcode() == want


@pytest.mark.parametrize(
    ("qname", "want"),
    [
        pytest.param("idle.prod.svc.cluster.local.", NX, id="ignore empty_service no endpoints"),
        pytest.param("_http._tcp.idle.prod.svc.cluster.local.", NX, id="ignore empty_service srv"),
        pytest.param(WEB, dns.rcode.NOERROR, id="ignore empty_service with endpoints"),
        pytest.param("gone.prod.svc.cluster.local.", NX, id="ignore empty_service headless unchanged"),
        pytest.param("ext-in.prod.svc.cluster.local.", dns.rcode.NOERROR, id="ignore empty_service externalname"),
    ],
)
async def test_R20_ignore_empty_service(qname: str, want: int) -> None:
    """R2/R20 ``ignore empty_service``: a ClusterIP service without ready endpoints does not exist."""
    _, msg = await serve(handler(replace(OPTS, ignore_empty_service=True)), Case(qname, "SRV" if "_" in qname else "A"))
    assert msg is not None
    assert msg.rcode() == want


async def test_R20_endpoint_pod_names() -> None:
    """R0/R20 ``endpoint_pod_names``: an endpoint without hostname is named after its pod; hostnames win."""
    h = handler(replace(OPTS, endpoint_pod_names=True))
    tc = Case("web-1.web.prod.svc.cluster.local.", answer=["web-1.web.prod.svc.cluster.local. 5 IN A 10.244.1.10"])
    tc.check(*await serve(h, tc))
    Case(f"db-0.{DB}", answer=[f"db-0.{DB} 5 IN A 10.244.2.10"]).check(*await serve(h, Case(f"db-0.{DB}")))
    _, msg = await serve(h, Case("10-244-1-10.web.prod.svc.cluster.local."))
    assert msg is not None
    assert msg.rcode() == NX
    tc = Case(
        "10.1.244.10.in-addr.arpa.",
        "PTR",
        answer=["10.1.244.10.in-addr.arpa. 5 IN PTR web-1.web.prod.svc.cluster.local."],
    )
    tc.check(*await serve(h, tc))


@pytest.mark.parametrize(
    ("qname", "qtype", "want"),
    [
        pytest.param(WEB, "A", dns.rcode.NOERROR, id="namespaces listed"),
        pytest.param("kubernetes.default.svc.cluster.local.", "A", NX, id="namespaces not listed"),
        pytest.param("default.svc.cluster.local.", "A", NX, id="namespaces node not listed"),
        pytest.param("1.0.96.10.in-addr.arpa.", "PTR", NX, id="namespaces ptr not listed"),
        pytest.param("10.1.96.10.in-addr.arpa.", "PTR", dns.rcode.NOERROR, id="namespaces ptr listed"),
        pytest.param("10-1-1-1.default.pod.cluster.local.", "A", NX, id="namespaces pod not listed"),
    ],
)
async def test_namespaces_option(qname: str, qtype: str, want: int) -> None:
    """``namespaces``: only listed namespaces answer (services, namespace nodes, PTR, pods)."""
    _, msg = await serve(handler(replace(OPTS, namespaces=frozenset({"prod"}))), Case(qname, qtype))
    assert msg is not None
    assert msg.rcode() == want


@pytest.mark.parametrize(
    ("fall", "qname", "qtype", "to_next"),
    [
        pytest.param(Fall(("in-addr.arpa.",)), "1.2.0.192.in-addr.arpa.", "PTR", True, id="fallthrough unknown ptr"),
        pytest.param(Fall(("in-addr.arpa.",)), "10.2.244.10.in-addr.arpa.", "A", False, id="fallthrough not on NODATA"),
        pytest.param(Fall(("in-addr.arpa.",)), "nope.prod.svc.cluster.local.", "A", False, id="fallthrough other zone"),
        pytest.param(Fall(("cluster.local.",)), "nope.prod.svc.cluster.local.", "A", True, id="fallthrough zone"),
        pytest.param(Fall(("cluster.local.",)), "prod.svc.cluster.local.", "A", False, id="fallthrough not on ENT"),
        pytest.param(
            Fall(("cluster.local.",)), "ext-miss.prod.svc.cluster.local.", "A", False, id="fallthrough not on chase"
        ),
    ],
)
async def test_fallthrough(fall: Fall, qname: str, qtype: str, to_next: bool) -> None:
    """``fallthrough [ZONES]``: only name errors in those zones go to the next plugin."""
    h = handler(replace(OPTS, fall=fall), nxt=next_handler(NEXT_RCODE))
    rcode, _ = await serve(h, Case(qname, qtype))
    assert (rcode == NEXT_RCODE) is to_next


async def test_outside_zones_goes_next() -> None:
    """A query outside the plugin's zones goes to the next plugin."""
    h = handler(nxt=next_handler(NEXT_RCODE))
    rcode, _ = await serve(h, Case("example.org.", "A"))
    assert rcode == NEXT_RCODE


async def test_unsynced_name_errors_are_servfail() -> None:
    """R15/§4.2: before the first sync a name error is SERVFAIL with the SOA; known data still answers."""
    h = handler(synced=False)
    rcode, msg = await serve(h, Case("nope.prod.svc.cluster.local."))
    assert msg is not None
    assert msg.rcode() == dns.rcode.SERVFAIL
    assert [r.to_text() for r in msg.authority] == [SOA]
    assert msg.flags & dns.flags.AA
    assert rcode == dns.rcode.NOERROR  # written here, as CoreDNS reports it
    Case(WEB, answer=[f"{WEB} 5 IN A 10.96.1.10"]).check(*await serve(h, Case(WEB)))
    assert not h.ready()
    h2 = handler(synced=False, nxt=next_handler(NEXT_RCODE))
    h2.fall = Fall(("cluster.local.",))
    rcode, _ = await serve(h2, Case("nope.prod.svc.cluster.local."))
    assert rcode == NEXT_RCODE  # fallthrough is decided before the sync check


def test_ready_and_pod_namespace() -> None:
    """``ready()`` follows the source; ``pod_namespace`` (autopath) needs ``pods verified``."""
    assert handler().ready()
    verified = handler(replace(OPTS, pods="verified"))
    assert verified.pod_namespace("10.244.1.10") == "prod"
    assert verified.pod_namespace("fd00:10:244:1::10") == "prod"
    assert verified.pod_namespace("10.9.9.9") is None
    assert handler().pod_namespace("10.244.1.10") is None


# -- memo -----------------------------------------------------------------------------------


async def test_memo_reuses_and_follows_the_store() -> None:
    """Answers are computed once per name and type until the store changes; each reply is a copy."""
    h = handler()
    calls = 0
    lookup = h.answers.lookup

    def counting(*a: object) -> object:
        nonlocal calls
        calls += 1
        return lookup(*a)  # type: ignore[arg-type]

    h.answers.lookup = counting  # type: ignore[method-assign]
    _, m1 = await serve(h, Case(WEB))
    _, m2 = await serve(h, Case(WEB))
    assert calls == 1
    assert m1 is not None
    assert m2 is not None
    m1.answer[0].ttl = 1
    assert m2.answer[0].ttl == 5
    h.store.upsert(objects.service(k.service("web", "prod", ["10.96.1.99"], [("http", 80)])))
    Case(WEB, answer=[f"{WEB} 5 IN A 10.96.1.99"]).check(*await serve(h, Case(WEB)))
    assert calls == 2
    _, m3 = await serve(h, Case("Web.prod.svc.cluster.local."))
    assert m3 is not None
    assert m3.answer[0].name.to_text() == "Web.prod.svc.cluster.local."


async def test_soa_serial_follows_changes() -> None:
    """§4.5: the SOA serial is the store's last-modified time."""
    now = [1700000000.0]
    from kdns.plugins.kubernetes.store import Store
    from kdns.testing.kubecluster import convert

    store = Store(clock=lambda: now[0])
    for kind, objs in convert(CLUSTER).items():
        store.replace(kind, objs)
    h = handler(store=store)
    _, msg = await serve(h, Case("cluster.local.", "SOA"))
    assert msg is not None
    assert msg.answer[0][0].serial == 1700000000
    now[0] = 1700000500.0
    store.upsert(objects.service(k.service("new", "prod", "10.96.3.3")))
    _, msg = await serve(h, Case("cluster.local.", "SOA"))
    assert msg is not None
    assert msg.answer[0][0].serial == 1700000500


def test_rr_helper_sanity() -> None:
    """The SOA constant parses as one SOA record (guards the tables above)."""
    assert isinstance(rr(SOA), dns.rrset.RRset)
    assert rr(SOA)[0].serial == SERIAL


async def test_R21_reverse_ent_follows_changes() -> None:
    """R21: a reverse empty non-terminal appears once an address below it appears (and goes with it)."""
    h = handler()
    tc = Case("97.10.in-addr.arpa.", "PTR", rcode=NX, ns=[RSOA])
    tc.check(*await serve(h, tc))
    svc = objects.service(k.service("new", "prod", "10.97.0.1"))
    h.store.upsert(svc)
    ent = replace(tc, rcode=dns.rcode.NOERROR)
    ent.check(*await serve(h, ent))
    h.store.delete(svc)
    tc.check(*await serve(h, tc))


# -- the same table over real sockets ------------------------------------------------------------------

#: names answered from the server's own addresses, which a test socket does not have
OWN_ADDRESS = ("ns.dns.",)
#: the ghost namespace has no Namespace object; a manifest source creates the namespaces its objects use
GHOST_NS = ".ghost."
SERIAL_RE = re.compile(r"(hostmaster\.\S+ )\d+ ")


def _wire_upstream(query: dns.message.Message, proto: str) -> dns.message.Message:
    """What Upstream answers, as a real DNS server (forward's upstream)."""
    reply = dns.message.make_response(query)
    q = query.question[0]
    texts = UPSTREAM.get((q.name.to_text().lower(), dns.rdatatype.to_text(q.rdtype)))
    if texts is None:
        reply.set_rcode(dns.rcode.NXDOMAIN)
        reply.authority = [rr("net. 900 IN SOA a.net. b.net. 1 2 3 4 900")]
    else:
        reply.answer = [rr(t) for t in texts]
    return reply


def _section(rrsets: list[dns.rrset.RRset]) -> list[str]:
    """A section as sorted lines, SOA serials blanked (the serial is the manifest's load time here)."""
    return [SERIAL_RE.sub(r"\1SERIAL ", line) for line in sort_section(rrsets)]


def _expected(texts: Sequence[str]) -> list[str]:
    return _section([rr(t) for t in texts])


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_rules_over_the_wire(proto: str) -> None:
    """Every Case of the table, asked over real UDP and TCP of a kdns serving the same cluster from a
    manifest (forward to a real upstream behind it), gets the same rcode, AA, answer, authority (but
    the SOA serial, which is the load time here) and additional sections."""
    corefile = """.:0 {
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        objects cluster.yaml
        pods insecure
    }
    forward . UPSTREAM
}
"""
    asked = 0
    async with FakeUpstream(_wire_upstream) as up:
        files = {"cluster.yaml": manifest(CLUSTER)}
        async with run_instance(corefile.replace("UPSTREAM", up.addr), files=files) as inst:
            for param in CASES:
                tc = param.values[0]
                assert isinstance(tc, Case)
                if tc.qname.lower().startswith(OWN_ADDRESS) or tc.qtype == "NS" or GHOST_NS in f".{tc.qname.lower()}":
                    continue
                msg = await inst.query(tc.qname, str(tc.qtype), proto=proto, use_edns=False)
                where = f"{param.id} over {proto}"
                assert msg.rcode() == tc.rcode, where
                assert bool(msg.flags & dns.flags.AA) == tc.authoritative, where
                assert _section(msg.answer) == _expected(tc.answer), where
                assert _section(msg.authority) == _expected(tc.ns), where
                assert _section(msg.additional) == _expected(tc.extra), where
                asked += 1
    assert asked >= len(CASES) - 10
