"""autopath @kubernetes with the real kubernetes plugin (manifest source) and a fake upstream.

The manifest makes 127.0.0.1, where the test's queries come from, a pod in namespace prod.
"""

from __future__ import annotations

import logging

import dns.rcode
import pytest

from kdns.metrics import REGISTRY
from kdns.testing import Case, FakeUpstream, run_instance
from kdns.testing import kubeobjects as k
from kdns.testing.kubecluster import POD_VIEW, manifest

MANIFEST = manifest([*POD_VIEW, k.service("docs", "prod", ports=(), external_name="github.com")])
COREFILE = """.:0 {{
    autopath @kubernetes
    kubernetes cluster.local {{
        objects cluster.yaml
        pods {pods}
    }}
    cache 30
    forward . {upstream}
}}
"""
RECORDS = {("github.com.", "A"): ["github.com. 60 IN A 192.0.2.10"]}
P = "prod.svc.cluster.local."
CASES = [
    # an external name: one reply, CNAME to the name the upstream answered
    Case(
        f"github.com.{P}",
        answer=[f"github.com.{P} 60 IN CNAME github.com.", "github.com. 60 IN A 192.0.2.10"],
        ignore_ttl=True,  # capped by cache 30, and counting down
    ),
    # a service of the pod's own namespace: answered as asked
    Case(f"web.{P}", answer=[f"web.{P} 5 IN A 10.96.10.20"]),
    # web.staging from a prod pod: found at svc.cluster.local
    Case(
        f"web.staging.{P}",
        answer=[
            f"web.staging.{P} 5 IN CNAME web.staging.svc.cluster.local.",
            "web.staging.svc.cluster.local. 5 IN A 10.96.20.20",
        ],
    ),
    # an ExternalName service asked by its short name: its CNAME chain, chased to the upstream
    Case(
        f"docs.{P}",
        answer=[f"docs.{P} 5 IN CNAME github.com.", "github.com. 60 IN A 192.0.2.10"],
        ignore_ttl=True,
    ),
]


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_pod_queries_walked_by_kdns(proto: str) -> None:
    """A prod pod's search-path names get the first non-NXDOMAIN answer of the walk in one reply;
    the upstream is asked only for names outside the cluster, and the success metric counts each walk."""
    async with FakeUpstream(records=RECORDS) as up:
        corefile = COREFILE.format(pods="verified", upstream=up.addr)
        async with run_instance(corefile, files={"cluster.yaml": MANIFEST}) as inst:
            server = f"dns://:{inst.port}"
            before = REGISTRY.get_sample_value("coredns_autopath_success_total", {"server": server}) or 0.0
            for tc in CASES:
                reply = await inst.query(tc.qname, "A", proto=proto)
                tc.check(reply.rcode(), reply)
            after = REGISTRY.get_sample_value("coredns_autopath_success_total", {"server": server}) or 0.0
    assert after - before == len(CASES)
    # cluster names never leave kdns (the host's own search domains, if any, may be asked upstream)
    asked = {m.question[0].name.to_text() for m in up.queried()}
    assert "github.com." in asked
    assert not [n for n in asked if n.endswith("cluster.local.")]


async def test_pods_not_verified(caplog: pytest.LogCaptureFixture) -> None:
    """With ``pods insecure`` autopath warns at start and does nothing: the name is NXDOMAIN as asked."""
    async with FakeUpstream(records=RECORDS) as up:
        corefile = COREFILE.format(pods="insecure", upstream=up.addr)
        with caplog.at_level(logging.WARNING):
            async with run_instance(corefile, files={"cluster.yaml": MANIFEST}) as inst:
                reply = await inst.query(f"github.com.{P}", "A")
    assert reply.rcode() == dns.rcode.NXDOMAIN
    assert reply.answer == []
    assert "needs 'pods verified'" in caplog.text
    assert up.queried() == []
