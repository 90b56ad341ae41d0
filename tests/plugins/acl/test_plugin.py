"""Case tables against the acl handler: actions, matching by zone, type and source network."""

from __future__ import annotations

import dns.edns
import dns.rcode
import pytest

from kdns.plugin import client_wrote
from kdns.plugins.acl.plugin import ACL
from kdns.plugins.acl.policy import source_ip
from kdns.plugins.acl.setup import parse
from kdns.testing import Case, FakeWriter, Recorder, controller, next_handler, sample

ALLOWED = Case("example.org.", rcode=dns.rcode.NXDOMAIN)  # what the next handler answers
REFUSED = Case("example.org.", rcode=dns.rcode.REFUSED)
FILTERED = Case("example.org.", rcode=dns.rcode.NOERROR)


def acl(text: str, zones: tuple[str, ...] = (".",)) -> ACL:
    return ACL(rules=parse(controller(text, zones=zones)).rules, next=next_handler(dns.rcode.NXDOMAIN))


# (corefile, client address, qtype, expected reply (None: dropped))
CASES = [
    ("acl {\n block type A net 192.168.0.0/16\n}", "192.168.1.1", "A", REFUSED),
    ("acl {\n block type A net 192.168.0.0/16\n}", "192.168.1.1", "AAAA", ALLOWED),
    ("acl {\n block type A net 192.168.0.0/16\n}", "10.0.0.1", "A", ALLOWED),
    ("acl {\n filter type A net 192.168.0.0/16\n}", "192.168.1.1", "A", FILTERED),
    ("acl {\n drop net 192.168.0.0/16\n}", "192.168.1.1", "A", None),
    ("acl {\n allow net 192.168.1.0/24\n block net 192.168.0.0/16\n}", "192.168.1.7", "A", ALLOWED),
    ("acl {\n allow net 192.168.1.0/24\n block net 192.168.0.0/16\n}", "192.168.2.7", "A", REFUSED),
    ("acl {\n allow net 192.168.0.0/24 192.168.1.0/24\n block\n}", "192.168.1.9", "MX", ALLOWED),
    ("acl {\n allow net 192.168.0.0/24 192.168.1.0/24\n block\n}", "172.16.0.1", "MX", REFUSED),
    ("acl {\n block net 192.168.0.1\n}", "192.168.0.1", "A", REFUSED),
    ("acl {\n block net 192.168.0.1\n}", "192.168.0.2", "A", ALLOWED),
    ("acl {\n block net 2001:db8::/32\n}", "2001:db8::53", "A", REFUSED),
    ("acl {\n block net 2001:db8::/32\n}", "192.168.0.1", "A", ALLOWED),
    ("acl {\n block net 192.168.0.0/16\n}", "2001:db8::53", "A", ALLOWED),
    ("acl {\n block net 192.168.0.0/16\n}", "::ffff:192.168.3.4", "A", REFUSED),
    ("acl {\n block net *\n}", "2001:db8::53", "A", REFUSED),
    ("acl {\n block type * net 10.0.0.0/8\n}", "10.1.1.1", "TXT", REFUSED),
    ("acl a.example.org {\n block\n}", "10.0.0.1", "A", ALLOWED),
    ("acl example.org {\n block\n}", "10.0.0.1", "A", REFUSED),
    ("acl example.net {\n block\n}\nacl {\n filter\n}", "10.0.0.1", "A", FILTERED),
    ("acl {\n block net 10.0.0.0/8\n}\nacl {\n filter\n}", "192.0.2.1", "A", FILTERED),
    ("acl {\n allow net 192.0.2.0/24\n}\nacl {\n block\n}", "192.0.2.1", "A", ALLOWED),
    ("acl", "10.0.0.1", "A", ALLOWED),
]


@pytest.mark.parametrize(("corefile", "ip", "qtype", "want"), CASES, ids=[f"{c}|{i}|{t}" for c, i, t, _ in CASES])
async def test_acl(corefile: str, ip: str, qtype: str, want: Case | None) -> None:
    """The first rule whose zones hold the name and that has a matching policy decides; default allow."""
    rec = Recorder(FakeWriter(remote=(ip, 53000)))
    tc = Case("example.org.", qtype)
    rc = await acl(corefile).serve_dns(rec, tc.request(remote=ip))
    if want is None:
        assert rec.msg is None
        assert rc == dns.rcode.NOERROR
        assert client_wrote(rc), "a dropped query must not be answered by the server either"
        return
    want.check(rc, rec.msg)


@pytest.mark.parametrize(
    ("action", "rcode", "ede"),
    [("block", dns.rcode.REFUSED, dns.edns.EDECode.BLOCKED), ("filter", dns.rcode.NOERROR, dns.edns.EDECode.FILTERED)],
)
async def test_extended_error_for_edns_clients(action: str, rcode: int, ede: dns.edns.EDECode) -> None:
    """Blocked and filtered replies carry an Extended DNS Error when the client speaks EDNS."""
    rec = Recorder(FakeWriter())
    h = acl(f"acl {{\n {action}\n}}")
    rc = await h.serve_dns(rec, Case("example.org.", do=True).request())
    assert rc == dns.rcode.NOERROR
    assert rec.msg is not None
    assert rec.msg.rcode() == rcode
    assert [(o.otype, o.code) for o in rec.msg.options] == [(dns.edns.OptionType.EDE, ede)]
    plain = Recorder(FakeWriter())
    await h.serve_dns(plain, Case("example.org.").request())
    assert plain.msg is not None
    assert plain.msg.edns < 0


@pytest.mark.parametrize(
    ("action", "metric"),
    [
        ("block", "coredns_acl_blocked_requests_total"),
        ("filter", "coredns_acl_filtered_requests_total"),
        ("drop", "coredns_acl_dropped_requests_total"),
    ],
)
async def test_metrics(action: str, metric: str) -> None:
    """Each decision is counted with the server, the deciding zone and the view; allows per server."""
    h = acl(f"acl example.org a.example.org {{\n {action} net 10.0.0.0/8\n}}")
    server = f"dns://test-{action}:53"
    labels = {"server": server, "zone": "a.example.org.", "view": ""}
    before = sample(metric, **labels)
    allowed_before = sample("coredns_acl_allowed_requests_total", server=server, view="")
    for ip in ("10.0.0.1", "192.0.2.1"):
        req = Case("www.a.example.org.").request(remote=ip)
        req.server = server
        await h.serve_dns(FakeWriter(remote=(ip, 1)), req)
    assert sample(metric, **labels) == before + 1
    assert sample("coredns_acl_allowed_requests_total", server=server, view="") == allowed_before + 1


@pytest.mark.parametrize(
    ("text", "want"),
    [("10.0.0.1", "10.0.0.1"), ("::ffff:10.0.0.1", "10.0.0.1"), ("fe80::1%eth0", "fe80::1"), ("nonsense", None)],
)
def test_source_ip(text: str, want: str | None) -> None:
    """Client addresses parse to plain IPv4/IPv6 (mapped IPv4 and zone ids handled); junk is None."""
    ip = source_ip(text)
    assert (str(ip) if ip is not None else None) == want
