"""kubernetes through a running kdns: the demo cluster from an ``objects`` manifest, over UDP and TCP."""

from __future__ import annotations

import asyncio
import os
import time

import aiohttp
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from kdns.testing import FakeUpstream, run_instance
from kdns.testing import kubeobjects as k
from kdns.testing.kubecluster import CLUSTER, manifest

UPSTREAM = {
    ("example.net.", "A"): ["example.net. 300 IN A 192.0.2.10"],
    ("9.2.0.192.in-addr.arpa.", "PTR"): ["9.2.0.192.in-addr.arpa. 300 IN PTR host.example.net."],
}
BIG = [
    k.service("big", "prod", "None"),
    k.endpoint_slice("big-1", "prod", "big", [f"10.250.0.{i}" for i in range(1, 101)]),
]


def corefile(upstream: str, extra: str = "", plugins: str = "", pods: str = "insecure") -> str:
    return f""".:0 {{
    {plugins}
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        objects cluster.yaml
        pods {pods}
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
        {extra}
    }}
    forward . {upstream}
}}
"""


def lines(msg: dns.message.Message) -> list[str]:
    return sorted(f"{r.name} {r.ttl} {dns.rdatatype.to_text(r.rdtype)} {rd}" for r in msg.answer for rd in r)


TABLE = [
    # (rule, qname, qtype, rcode, answer lines)
    ("R2", "web.prod.svc.cluster.local.", "A", 0, ["web.prod.svc.cluster.local. 30 A 10.96.1.10"]),
    ("R2", "web.prod.svc.cluster.local.", "AAAA", 0, ["web.prod.svc.cluster.local. 30 AAAA fd00:10:96::a"]),
    (
        "R3",
        "_http._tcp.web.prod.svc.cluster.local.",
        "SRV",
        0,
        ["_http._tcp.web.prod.svc.cluster.local. 30 SRV 0 50 80 web.prod.svc.cluster.local."],
    ),
    ("R4", "10.1.96.10.in-addr.arpa.", "PTR", 0, ["10.1.96.10.in-addr.arpa. 30 PTR web.prod.svc.cluster.local."]),
    ("R5", "db.prod.svc.cluster.local.", "A", 0, [f"db.prod.svc.cluster.local. 30 A 10.244.2.1{i}" for i in range(3)]),
    ("R5", "gone.prod.svc.cluster.local.", "A", 3, []),
    ("R6", "db-0.db.prod.svc.cluster.local.", "A", 0, ["db-0.db.prod.svc.cluster.local. 30 A 10.244.2.10"]),
    ("R8", "10.2.244.10.in-addr.arpa.", "PTR", 0, ["10.2.244.10.in-addr.arpa. 30 PTR db-0.db.prod.svc.cluster.local."]),
    ("R9", "ext.prod.svc.cluster.local.", "CNAME", 0, ["ext.prod.svc.cluster.local. 30 CNAME example.net."]),
    (
        "R9",
        "ext.prod.svc.cluster.local.",
        "A",
        0,
        ["example.net. 300 A 192.0.2.10", "ext.prod.svc.cluster.local. 30 CNAME example.net."],
    ),
    (
        "R9",
        "ext-in.prod.svc.cluster.local.",
        "A",
        0,
        [
            "ext-in.prod.svc.cluster.local. 30 CNAME web.prod.svc.cluster.local.",
            "web.prod.svc.cluster.local. 30 A 10.96.1.10",
        ],
    ),
    ("R10", "10-244-1-10.prod.pod.cluster.local.", "A", 0, ["10-244-1-10.prod.pod.cluster.local. 30 A 10.244.1.10"]),
    ("R1", "dns-version.cluster.local.", "TXT", 0, ['dns-version.cluster.local. 28800 TXT "1.1.0"']),
    ("R15", "nope.prod.svc.cluster.local.", "A", 3, []),
    ("R15", "prod.svc.cluster.local.", "A", 0, []),
    ("R18", "kubernetes.default.prod.svc.cluster.local.", "A", 3, []),
]


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_rules_over_the_wire(proto: str) -> None:
    """R19: the rules' answers arrive alike over UDP and TCP, authoritative, negatives with the SOA."""
    async with (
        FakeUpstream(records=UPSTREAM) as up,
        run_instance(corefile(up.addr), files={"cluster.yaml": manifest()}) as inst,
    ):
        for rule, qname, qtype, rcode, want in TABLE:
            msg = await inst.query(qname, qtype, proto=proto)
            assert msg.rcode() == rcode, (rule, qname, qtype)
            assert lines(msg) == sorted(want), (rule, qname, qtype)
            assert msg.flags & dns.flags.AA, (rule, qname)
            if not msg.answer:
                assert [r.rdtype for r in msg.authority] == [dns.rdatatype.SOA], (rule, qname)
        # R20 fallthrough: an unknown reverse name goes on to forward
        ptr = await inst.query("9.2.0.192.in-addr.arpa.", "PTR", proto=proto)
        assert lines(ptr) == ["9.2.0.192.in-addr.arpa. 300 PTR host.example.net."]
        # R16: zone transfers are refused
        axfr = await inst.query("cluster.local.", "AXFR", proto="tcp")
        assert axfr.rcode() == dns.rcode.REFUSED


async def test_R19_truncation_over_udp() -> None:
    """R19: a big headless answer is truncated (TC) over UDP and complete over TCP."""
    async with (
        FakeUpstream(records=UPSTREAM) as up,
        run_instance(corefile(up.addr), files={"cluster.yaml": manifest([*CLUSTER, *BIG])}) as inst,
    ):
        udp = await inst.query("big.prod.svc.cluster.local.", "A", proto="udp")
        tcp = await inst.query("big.prod.svc.cluster.local.", "A", proto="tcp")
    assert udp.flags & dns.flags.TC
    assert not tcp.flags & dns.flags.TC
    assert len(tcp.answer[0]) == 100


async def test_cache_in_front_and_ready() -> None:
    """With cache in front repeated names are served alike; /ready is 200 once the objects are read."""
    plugins = "ready 127.0.0.1:0\n    cache 30"
    async with (
        FakeUpstream(records=UPSTREAM) as up,
        run_instance(corefile(up.addr, plugins=plugins), files={"cluster.yaml": manifest()}) as inst,
    ):
        first = await inst.query("web.prod.svc.cluster.local.", "A")
        second = await inst.query("web.prod.svc.cluster.local.", "A")
        upper = await inst.query("WEB.prod.svc.cluster.local.", "A")
        port = inst.http_port("127.0.0.1:0")
        async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/ready") as r:
            status = r.status
    assert lines(first) == lines(second) == ["web.prod.svc.cluster.local. 30 A 10.96.1.10"]
    assert upper.answer[0].name.to_text() == "WEB.prod.svc.cluster.local."
    assert status == 200


async def test_manifest_change_shows_in_answers() -> None:
    """R9/R19 (e2e): a changed manifest (ExternalName to ClusterIP) changes the answer once it is read."""
    changed = [d for d in CLUSTER if d["metadata"]["name"] != "ext"]
    changed.append(k.service("ext", "prod", "10.96.7.7", [("http", 80)]))
    async with (
        FakeUpstream(records=UPSTREAM) as up,
        run_instance(corefile(up.addr), files={"cluster.yaml": manifest()}) as inst,
    ):
        before = await inst.query("ext.prod.svc.cluster.local.", "CNAME")
        path = os.path.join(os.path.dirname(inst.path), "cluster.yaml")
        with open(path, "w") as f:
            f.write(manifest(changed))
        os.utime(path, (1, 1))  # a different mtime even within the clock's resolution
        want = ["ext.prod.svc.cluster.local. 30 A 10.96.7.7"]
        deadline = time.monotonic() + 8.0
        while True:  # the source polls the file (no event to await): poll the answer with a deadline
            after = await inst.query("ext.prod.svc.cluster.local.", "A")
            if lines(after) == want or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
    assert lines(before) == ["ext.prod.svc.cluster.local. 30 CNAME example.net."]
    assert lines(after) == want


async def test_autopath_with_pods_verified() -> None:
    """R18 with *autopath*: a pod's search-path query for an external name is answered in one round trip."""
    docs = [*CLUSTER, k.pod("me", "prod", "127.0.0.1")]
    async with FakeUpstream(records=UPSTREAM) as up:
        text = corefile(up.addr, plugins="autopath @kubernetes", pods="verified")
        async with run_instance(text, files={"cluster.yaml": manifest(docs)}) as inst:
            msg = await inst.query("example.net.prod.svc.cluster.local.", "A")
            web = await inst.query("web.prod.svc.cluster.local.prod.svc.cluster.local.", "A")
    assert lines(msg) == [
        "example.net. 300 A 192.0.2.10",
        "example.net.prod.svc.cluster.local. 300 CNAME example.net.",
    ]
    assert "web.prod.svc.cluster.local. 30 A 10.96.1.10" in lines(web)
