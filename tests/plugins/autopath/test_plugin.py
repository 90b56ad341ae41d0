"""The autopath handler with a stand-in for ``@kubernetes`` and a chain that knows a few names.

10.0.0.5 is a pod in namespace prod; its search list is prod.svc.cluster.local, svc.cluster.local,
cluster.local, then kdns's own domain corp.example, then the name itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

import dns.flags
import dns.message
import dns.rcode
import pytest

from kdns.config.controller import Controller
from kdns.core.fastpath import parse as wire_parse
from kdns.metrics import REGISTRY
from kdns.plugin import Handler
from kdns.plugins.autopath.plugin import AutoPath
from kdns.request import Request
from kdns.testing import Case, FakeWriter, rr, run_instance
from kdns.testing.instance import test_plugin
from kdns.writer import ResponseWriter

POD = "10.0.0.5"
STRANGER = "10.9.9.9"
RECORDS = {
    ("github.com.", "A"): ["github.com. 60 IN A 192.0.2.10"],
    ("web.prod.svc.cluster.local.", "A"): ["web.prod.svc.cluster.local. 5 IN A 10.96.0.20"],
    ("web.other.svc.cluster.local.", "A"): ["web.other.svc.cluster.local. 5 IN A 10.96.0.30"],
    ("intra.corp.example.", "A"): ["intra.corp.example. 300 IN A 192.0.2.77"],
    ("alias.cluster.local.", "A"): [
        "alias.cluster.local. 5 IN CNAME target.example.org.",
        "target.example.org. 9 IN A 192.0.2.99",
    ],
}
#: names that exist without the asked type (NOERROR, empty answer)
NODATA = {"web.prod.svc.cluster.local.", "empty.svc.cluster.local."}
#: names the chain fails on: SERVFAIL returned, nothing written
SOA = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"
BROKEN = {"broken.svc.cluster.local.", "github.com.svc.cluster.local.", "x.prod.svc.cluster.local."}


@dataclass
class FakeKube:
    """Stands in for *kubernetes*: tells a pod's namespace by IP and answers names from RECORDS."""

    pods: dict[str, str] = field(default_factory=lambda: {POD: "prod"})
    zones: tuple[str, ...] = ("cluster.local.",)
    opts: object = None
    next: Handler | None = None
    name: str = "fakekube"
    #: the names asked, as asked
    asked: list[str] = field(default_factory=list)

    def pod_namespace(self, ip: str) -> str | None:
        return self.pods.get(ip)

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        self.asked.append(req.qname_raw)
        if req.qname in BROKEN:
            return dns.rcode.SERVFAIL
        reply = req.reply()
        reply.flags |= dns.flags.AA
        texts = RECORDS.get((req.qname, req.type_text))
        if texts:
            reply.answer = [rr(t) for t in texts]
        else:
            reply.authority = [rr(SOA)]  # negative answers carry the SOA (and so are cached)
            if req.qname not in NODATA:
                reply.set_rcode(dns.rcode.NXDOMAIN)
        await w.write_msg(reply)
        return reply.rcode()


def autopath(kube: FakeKube | None = None, **kw: object) -> AutoPath:
    kube = kube or FakeKube()
    args: dict[str, object] = {
        "zones": (".",),
        "plugin": "fakekube",
        "host": ("corp.example.",),
        "handlers": {"fakekube": kube},
        "next": kube,
    }
    args.update(kw)
    return AutoPath(**args)  # type: ignore[arg-type]


def success() -> float:
    return REGISTRY.get_sample_value("coredns_autopath_success_total", {"server": "dns://:53"}) or 0.0


CNAME = "github.com.prod.svc.cluster.local. 60 IN CNAME github.com."
CASES = [
    # an external name: walked to the name itself (past a name the chain fails on), CNAME to it
    (Case("github.com.prod.svc.cluster.local.", answer=[CNAME, "github.com. 60 IN A 192.0.2.10"], ordered=True), 1),
    # the first name answers: sent as it is, no CNAME
    (Case("web.prod.svc.cluster.local.", answer=["web.prod.svc.cluster.local. 5 IN A 10.96.0.20"]), 1),
    # a service in another namespace, asked as web.other: found at svc.cluster.local
    (
        Case(
            "web.other.prod.svc.cluster.local.",
            answer=[
                "web.other.prod.svc.cluster.local. 5 IN CNAME web.other.svc.cluster.local.",
                "web.other.svc.cluster.local. 5 IN A 10.96.0.30",
            ],
            ordered=True,
        ),
        1,
    ),
    # kdns's own search domain is tried before the bare name
    (
        Case(
            "intra.prod.svc.cluster.local.",
            answer=[
                "intra.prod.svc.cluster.local. 300 IN CNAME intra.corp.example.",
                "intra.corp.example. 300 IN A 192.0.2.77",
            ],
            ordered=True,
        ),
        1,
    ),
    # a CNAME answer: the new CNAME points at its owner, with the TTL of the first answer record
    (
        Case(
            "alias.prod.svc.cluster.local.",
            answer=[
                "alias.prod.svc.cluster.local. 5 IN CNAME alias.cluster.local.",
                "alias.cluster.local. 5 IN CNAME target.example.org.",
                "target.example.org. 9 IN A 192.0.2.99",
            ],
            ordered=True,
        ),
        1,
    ),
    # NODATA is not NXDOMAIN: it wins, with no record to point at
    (Case("empty.prod.svc.cluster.local.", ns=[SOA]), 1),
    # nothing anywhere: the first reply (NXDOMAIN for the question)
    (Case("nowhere.example.prod.svc.cluster.local.", rcode=dns.rcode.NXDOMAIN, ns=[SOA]), 0),
    # not under the first element: passed on untouched
    (Case("github.org.svc.cluster.local.", rcode=dns.rcode.NXDOMAIN, ns=[SOA]), 0),
    (Case("github.com.", answer=["github.com. 60 IN A 192.0.2.10"]), 0),
    # the first element itself has no base: passed on
    (Case("prod.svc.cluster.local.", rcode=dns.rcode.NXDOMAIN, ns=[SOA]), 0),
]


@pytest.mark.parametrize(("tc", "counted"), CASES, ids=[str(tc) for tc, _ in CASES])
async def test_pod_query(tc: Case, counted: int) -> None:
    """A pod's query under its first search element gets the first non-NXDOMAIN reply of the walk."""
    w = FakeWriter(remote=(POD, 40000))
    before = success()
    rc = await autopath().serve_dns(w, tc.request(remote=POD))
    tc.check(rc, w.msg)
    assert w.msg is not None
    assert w.msg.question == tc.msg().question
    assert success() - before == counted


async def test_walk_order() -> None:
    """The names tried: each search element in order, then the bare name; stops at the first answer."""
    kube = FakeKube()
    w = FakeWriter(remote=(POD, 40000))
    await autopath(kube).serve_dns(w, Case("github.com.prod.svc.cluster.local.").request(remote=POD))
    assert kube.asked == [
        "github.com.prod.svc.cluster.local.",
        "github.com.svc.cluster.local.",
        "github.com.cluster.local.",
        "github.com.corp.example.",
        "github.com.",
    ]


async def test_case_kept() -> None:
    """The base keeps the client's case, and the CNAME owner is the question exactly as asked."""
    kube = FakeKube()
    w = FakeWriter(remote=(POD, 40000))
    q = "GitHub.COM.Prod.svc.cluster.local."
    await autopath(kube).serve_dns(w, Case(q).request(remote=POD))
    assert w.msg is not None
    assert kube.asked[-1] == "GitHub.COM."
    assert w.msg.answer[0].name.to_text() == q
    assert w.msg.question[0].name.to_text() == q


async def test_failed_names_are_skipped() -> None:
    """A name the chain fails on (SERVFAIL, nothing written) is skipped; when all else is NXDOMAIN the
    first reply goes back as it is."""
    kube = FakeKube()
    w = FakeWriter(remote=(POD, 40000))
    tc = Case("broken.prod.svc.cluster.local.", rcode=dns.rcode.NXDOMAIN, ns=[SOA])
    rc = await autopath(kube).serve_dns(w, tc.request(remote=POD))
    tc.check(rc, w.msg)
    assert kube.asked == [
        "broken.prod.svc.cluster.local.",
        "broken.svc.cluster.local.",
        "broken.cluster.local.",
        "broken.corp.example.",
        "broken.",
    ]


async def test_first_failure_returned() -> None:
    """When the first name fails and nothing else answers, its failure is returned, nothing written."""
    kube = FakeKube()
    w = FakeWriter(remote=(POD, 40000))
    rc = await autopath(kube).serve_dns(w, Case("x.prod.svc.cluster.local.").request(remote=POD))
    assert rc == dns.rcode.SERVFAIL
    assert w.msg is None
    assert len(kube.asked) == 5


async def test_stranger_left_alone() -> None:
    """A client that is no known pod gets the chain's own answer: no walk."""
    kube = FakeKube()
    w = FakeWriter(remote=(STRANGER, 40000))
    tc = Case("github.com.prod.svc.cluster.local.", rcode=dns.rcode.NXDOMAIN, ns=[SOA])
    rc = await autopath(kube).serve_dns(w, tc.request(remote=STRANGER))
    tc.check(rc, w.msg)
    assert kube.asked == ["github.com.prod.svc.cluster.local."]


@pytest.mark.parametrize(
    ("handlers", "opts"),
    [
        ({}, None),  # the plugin is not in the block
        ({"fakekube": FakeKube(name="other")}, SimpleNamespace(pods="insecure")),  # pods not verified
        ({"fakekube": object()}, None),  # no pod_namespace
    ],
    ids=["missing", "pods-insecure", "not-a-pod-source"],
)
async def test_plugin_cannot_serve(handlers: dict[str, object], opts: object) -> None:
    """Without a usable @PLUGIN (absent, pods not verified, no pod_namespace) autopath does nothing."""
    kube = FakeKube()
    for h in handlers.values():
        if isinstance(h, FakeKube):
            h.opts = opts
    ap = autopath(kube, handlers=handlers or {"whoami": object()})
    w = FakeWriter(remote=(POD, 40000))
    await ap.serve_dns(w, Case("github.com.prod.svc.cluster.local.").request(remote=POD))
    assert kube.asked == ["github.com.prod.svc.cluster.local."]


async def test_outside_zones_left_alone() -> None:
    """A name outside autopath's own zones is passed on even from a pod."""
    kube = FakeKube()
    ap = autopath(kube, zones=("example.org.",))
    await ap.serve_dns(FakeWriter(remote=(POD, 1)), Case("github.com.prod.svc.cluster.local.").request(remote=POD))
    assert kube.asked == ["github.com.prod.svc.cluster.local."]


async def test_resolv_conf_form() -> None:
    """The RESOLV-CONF form walks the same list for every client, pod or not."""
    kube = FakeKube(pods={})
    ap = autopath(kube, plugin="", static=("a.example.", "corp.example.", ""))
    w = FakeWriter(remote=(STRANGER, 40000))
    tc = Case(
        "intra.a.example.",
        answer=["intra.a.example. 300 IN CNAME intra.corp.example.", "intra.corp.example. 300 IN A 192.0.2.77"],
        ordered=True,
    )
    tc.check(await ap.serve_dns(w, tc.request(remote=STRANGER)), w.msg)
    assert kube.asked == ["intra.a.example.", "intra.corp.example."]


def _wire(name: str, remote: str) -> bytes:
    return dns.message.make_query(name, "A").to_wire()


@pytest.mark.parametrize(
    ("name", "remote", "passes"),
    [
        ("github.com.prod.svc.cluster.local.", POD, False),
        ("GitHub.com.Prod.svc.cluster.local.", POD, False),
        ("github.com.prod.svc.cluster.local.", STRANGER, True),
        ("web.svc.cluster.local.", POD, True),
        ("prod.svc.cluster.local.", POD, True),
        ("github.com.", POD, True),
    ],
)
def test_wire_pass(name: str, remote: str, passes: bool) -> None:
    """The cache-hit path is refused exactly for the queries autopath walks."""
    q = wire_parse(_wire(name, remote), (remote, 40000), "udp")
    assert q is not None
    assert autopath().wire_pass(q) is passes


def test_search_list_cached_per_namespace_and_zone() -> None:
    """A pod's list is built once per (namespace, zone) and reused."""
    ap = autopath()
    first = ap.search_list("a.prod.svc.cluster.local.", POD)
    assert first == ("prod.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", "corp.example.", "")
    assert ap.search_list("b.prod.svc.cluster.local.", POD) is first


# -- through a running server ----------------------------------------------------------------

WALKED = [CNAME, "github.com. 60 IN A 192.0.2.10"]


@pytest.fixture
def fakekube() -> Iterator[FakeKube]:
    """Directive ``fakekube``: the FakeKube yielded, with 127.0.0.1 a pod in prod, at the end of the chain."""
    kube = FakeKube(pods={"127.0.0.1": "prod"})

    def setup(c: Controller) -> None:
        c.once()

        def make(nxt: Handler | None) -> FakeKube:
            kube.next = nxt
            return kube

        c.add_plugin(make)

    with test_plugin("fakekube", setup):
        yield kube


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_server_with_cache(fakekube: FakeKube, proto: str) -> None:
    """With cache after autopath, a repeated pod query is walked again, never answered from the cache
    with the first name's NXDOMAIN; the success metric counts each walk for the listener."""
    corefile = ".:0 {\n autopath @fakekube\n cache 30\n fakekube\n}\n"
    async with run_instance(corefile) as inst:
        server = f"dns://:{inst.port}"

        def count() -> float:
            return REGISTRY.get_sample_value("coredns_autopath_success_total", {"server": server}) or 0.0

        before = count()
        for _ in range(3):
            reply = await inst.query("github.com.prod.svc.cluster.local.", "A", proto=proto)
            Case("github.com.prod.svc.cluster.local.", answer=WALKED, ordered=True, ignore_ttl=True).check(
                reply.rcode(), reply
            )
        assert count() - before == 3
        # the names walked were cached one by one: the chain end saw the walk once
        assert fakekube.asked.count("github.com.") == 1


async def test_server_plugin_missing(caplog: pytest.LogCaptureFixture) -> None:
    """``@PLUGIN`` absent from the block: a warning at start, and queries pass through untouched."""
    corefile = ".:0 {\n autopath @kubernetes\n whoami\n}\n"
    with caplog.at_level(logging.WARNING):
        async with run_instance(corefile) as inst:
            reply = await inst.query("github.com.prod.svc.cluster.local.", "A")
    assert reply.rcode() == dns.rcode.NOERROR
    assert reply.answer == []
    assert "plugin kubernetes is not in this server block: autopath does nothing" in caplog.text
