"""The local handler: localhost names and the 0/127/255 reverse zones, answered without going further."""

from __future__ import annotations

import dns.rcode
import pytest

from kdns.metrics import REGISTRY
from kdns.plugins.local.plugin import Local
from kdns.testing import Case, FakeWriter, Recorder, next_handler

SOA = "IN SOA localhost. root.localhost. 1 0 0 0 604800"

CASES = [
    Case("localhost.", "A", answer=["localhost. 604800 IN A 127.0.0.1"]),
    Case("localHOst.", "A", answer=["localHOst. 604800 IN A 127.0.0.1"]),
    Case("localhost.", "AAAA", answer=["localhost. 604800 IN AAAA ::1"]),
    Case("localhost.", "NS", answer=["localhost. 604800 IN NS localhost."]),
    Case("localhost.", "SOA", answer=[f"localhost. 604800 {SOA}"]),
    Case("localhost.", "MX", ns=[f"localhost. 604800 {SOA}"]),
    Case("127.in-addr.arpa.", "A", ns=[f"127.in-addr.arpa. 604800 {SOA}"]),
    Case("127.in-addr.arpa.", "NS", answer=["127.in-addr.arpa. 604800 IN NS localhost."]),
    Case("0.in-addr.arpa.", "SOA", answer=[f"0.in-addr.arpa. 604800 {SOA}"]),
    Case("255.in-addr.arpa.", "AAAA", ns=[f"255.in-addr.arpa. 604800 {SOA}"]),
    Case("1.0.0.127.in-addr.arpa.", "PTR", answer=["1.0.0.127.in-addr.arpa. 604800 IN PTR localhost."]),
    Case("1.0.0.127.in-addr.arpa.", "MX", ns=[f"127.in-addr.arpa. 604800 {SOA}"]),
    Case("2.0.0.127.in-addr.arpa.", "PTR", rcode=dns.rcode.NXDOMAIN, ns=[f"127.in-addr.arpa. 604800 {SOA}"]),
    Case("1.255.IN-ADDR.arpa.", "PTR", rcode=dns.rcode.NXDOMAIN, ns=[f"255.IN-ADDR.arpa. 604800 {SOA}"]),
    # RFC 6761: every name under localhost. is loopback
    Case("a.localhost.", "A", answer=["a.localhost. 604800 IN A 127.0.0.1"]),
    Case("x.Y.localhost.", "AAAA", answer=["x.Y.localhost. 604800 IN AAAA ::1"]),
    Case("a.localhost.", "TXT", ns=[f"localhost. 604800 {SOA}"]),
    # legacy localhost.<domain>, on by default
    Case("localhost.example.net.", "A", answer=["localhost.example.net. 604800 IN A 127.0.0.1"]),
    Case("localhost.example.net.", "AAAA", answer=["localhost.example.net. 604800 IN AAAA ::1"]),
    Case("localhost.example.net.", "SOA", ns=[f"localhost.example.net. 604800 {SOA}"]),
    # everything else goes on
    Case("example.org.", "A", rcode=dns.rcode.NXDOMAIN),
    Case("notlocalhost.", "A", rcode=dns.rcode.NXDOMAIN),
    Case("1.0.0.10.in-addr.arpa.", "PTR", rcode=dns.rcode.NXDOMAIN),
]


@pytest.mark.parametrize("tc", CASES, ids=str)
async def test_local(tc: Case) -> None:
    """Local names get fixed answers (TTL one week), NODATA or NXDOMAIN with the zone's SOA."""
    rec = Recorder(FakeWriter())
    h = Local(next=next_handler(dns.rcode.NXDOMAIN))
    tc.check(await h.serve_dns(rec, tc.request()), rec.msg)


PREFIX_OFF = [
    Case("localhost.example.net.", "A", rcode=dns.rcode.NXDOMAIN),  # from the next plugin
    Case("a.localhost.", "A", answer=["a.localhost. 604800 IN A 127.0.0.1"]),
    Case("localhost.", "A", answer=["localhost. 604800 IN A 127.0.0.1"]),
]


@pytest.mark.parametrize("tc", PREFIX_OFF, ids=str)
async def test_localhost_prefix_off(tc: Case) -> None:
    """With localhost_prefix off only RFC 6761 localhost names are intercepted."""
    rec = Recorder(FakeWriter())
    h = Local(next=next_handler(dns.rcode.NXDOMAIN), localhost_prefix=False)
    tc.check(await h.serve_dns(rec, tc.request()), rec.msg)


def counter() -> float:
    return REGISTRY.get_sample_value("coredns_local_localhost_requests_total") or 0.0


@pytest.mark.parametrize(
    ("qname", "counted"),
    [("a.localhost.", 1), ("localhost.example.net.", 1), ("localhost.", 0), ("127.in-addr.arpa.", 0)],
)
async def test_localhost_metric(qname: str, counted: int) -> None:
    """Names under localhost. and localhost.<domain> count in coredns_local_localhost_requests_total."""
    before = counter()
    await Local().serve_dns(FakeWriter(), Case(qname, "A").request())
    assert counter() - before == counted
