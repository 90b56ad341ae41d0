"""examples/demo-cluster.yaml loads through ``objects`` and kdns answers the demo's names from it."""

from __future__ import annotations

from pathlib import Path

import dns.rcode
import dns.rdatatype
import pytest

from kdns.testing import Case, run_instance

MANIFEST = Path(__file__).resolve().parents[2] / "examples" / "demo-cluster.yaml"
COREFILE = """.:0 {
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        objects demo-cluster.yaml
        pods verified
    }
}
"""
Z = "cluster.local."
CASES = [
    Case(f"kubernetes.default.svc.{Z}", answer=[f"kubernetes.default.svc.{Z} 5 IN A 10.96.0.1"]),
    Case(f"kube-dns.kube-system.svc.{Z}", answer=[f"kube-dns.kube-system.svc.{Z} 5 IN A 10.96.0.10"]),
    Case(f"web.prod.svc.{Z}", answer=[f"web.prod.svc.{Z} 5 IN A 10.96.10.20"]),
    Case(
        f"_http._tcp.web.prod.svc.{Z}",
        "SRV",
        answer=[f"_http._tcp.web.prod.svc.{Z} 5 IN SRV 0 100 80 web.prod.svc.{Z}"],
        extra=[f"web.prod.svc.{Z} 5 IN A 10.96.10.20"],
    ),
    # headless: the two ready endpoints, not the one that is not ready
    Case(f"db.prod.svc.{Z}", answer=[f"db.prod.svc.{Z} 5 IN A 10.244.2.20", f"db.prod.svc.{Z} 5 IN A 10.244.2.21"]),
    Case(f"db-1.db.prod.svc.{Z}", answer=[f"db-1.db.prod.svc.{Z} 5 IN A 10.244.2.21"]),
    Case(f"docs.prod.svc.{Z}", "CNAME", answer=[f"docs.prod.svc.{Z} 5 IN CNAME docs.example.org."]),
    Case(f"api.prod.svc.{Z}", answer=[f"api.prod.svc.{Z} 5 IN A 10.96.10.30"]),
    Case(f"api.prod.svc.{Z}", "AAAA", answer=[f"api.prod.svc.{Z} 5 IN AAAA fd00:10:96::30"]),
    Case("20.10.96.10.in-addr.arpa.", "PTR", answer=[f"20.10.96.10.in-addr.arpa. 5 IN PTR web.prod.svc.{Z}"]),
    Case(f"10-244-1-50.prod.pod.{Z}", answer=[f"10-244-1-50.prod.pod.{Z} 5 IN A 10.244.1.50"]),
]


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_demo_cluster_answers(proto: str) -> None:
    """Every kind of demo object answers as the spec says: ClusterIP, SRV, headless (ready only),
    endpoint hostnames, ExternalName, dual-stack, PTR and verified pods."""
    async with run_instance(COREFILE, files={"demo-cluster.yaml": MANIFEST.read_text()}) as inst:
        for tc in CASES:
            reply = await inst.query(tc.qname, str(tc.qtype), proto=proto)
            tc.check(reply.rcode(), reply)
        # the endpoint that is not ready has no name: NXDOMAIN with the zone's SOA
        reply = await inst.query(f"db-2.db.prod.svc.{Z}", "A", proto=proto)
        assert reply.rcode() == dns.rcode.NXDOMAIN
        assert [(r.name.to_text(), r.rdtype) for r in reply.authority] == [(Z, dns.rdatatype.SOA)]
