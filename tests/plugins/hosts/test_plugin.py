"""The hosts handler against CoreDNS-style Case tables (no sockets)."""

from __future__ import annotations

import dns.rcode
import pytest

from kdns.pkg.fall import NEVER, ROOT, Fall
from kdns.plugins.hosts.hostsfile import HostsFile
from kdns.plugins.hosts.plugin import Hosts
from kdns.testing import Case, FakeWriter, Recorder, next_handler

HOSTS = """
127.0.0.1 localhost localhost.domain
::1 localhost localhost.domain
10.0.0.1 example.org
::FFFF:10.0.0.2 example.com
192.168.1.10 *.wild.example.org
"""
#: the next plugin answers with this rcode, so a hand-off shows in the reply
NEXT_RCODE = dns.rcode.NOTZONE

CASES = [
    Case("example.org.", "A", authoritative=True, answer=["example.org. 3600 IN A 10.0.0.1"]),
    Case("EXAMPLE.org.", "A", authoritative=True, answer=["example.org. 3600 IN A 10.0.0.1"]),
    Case("example.com.", "A", answer=["example.com. 3600 IN A 10.0.0.2"]),
    Case("localhost.", "AAAA", answer=["localhost. 3600 IN AAAA ::1"]),
    Case("1.0.0.10.in-addr.arpa.", "PTR", answer=["1.0.0.10.in-addr.arpa. 3600 IN PTR example.org."]),
    Case("2.0.0.10.in-addr.arpa.", "PTR", answer=["2.0.0.10.in-addr.arpa. 3600 IN PTR example.com."]),
    Case(
        "1.0.0.127.in-addr.arpa.",
        "PTR",
        answer=[
            "1.0.0.127.in-addr.arpa. 3600 IN PTR localhost.",
            "1.0.0.127.in-addr.arpa. 3600 IN PTR localhost.domain.",
        ],
    ),
    Case("example.org.", "AAAA", authoritative=True),  # NODATA
    Case("example.org.", "MX", authoritative=True),  # NODATA for other types
    Case("apps.wild.example.org.", "A", answer=["apps.wild.example.org. 3600 IN A 192.168.1.10"]),
    Case("apps.wild.example.org.", "TXT"),
    Case("deep.apps.wild.example.org.", "A", rcode=dns.rcode.NXDOMAIN, authoritative=True),
    Case("nope.example.org.", "A", rcode=dns.rcode.NXDOMAIN, authoritative=True),
    Case("nope.example.org.", "TXT", rcode=dns.rcode.NXDOMAIN),
]


def hosts(fall: Fall = NEVER, unsupported: bool = False, origins: tuple[str, ...] = (".",)) -> Hosts:
    data = HostsFile.from_text(HOSTS, origins=origins)
    return Hosts(data=data, origins=origins, fall=fall, fall_unsupported=unsupported, next=next_handler(NEXT_RCODE))


@pytest.mark.parametrize("tc", CASES, ids=str)
async def test_lookup(tc: Case) -> None:
    """File entries answer A/AAAA/PTR authoritatively; other names are NXDOMAIN, other types NODATA."""
    rec = Recorder(FakeWriter())
    tc.check(await hosts().serve_dns(rec, tc.request()), rec.msg)


async def _served_by_next(h: Hosts, tc: Case) -> bool:
    rec = Recorder(FakeWriter())
    rcode = await h.serve_dns(rec, tc.request())
    return rcode == NEXT_RCODE


@pytest.mark.parametrize(
    ("fall", "unsupported", "qname", "qtype", "to_next"),
    [
        (ROOT, False, "nope.example.org.", "A", True),
        (ROOT, False, "example.org.", "AAAA", False),  # the name exists: NODATA, no fallthrough
        (ROOT, False, "example.org.", "TXT", False),
        (ROOT, True, "example.org.", "TXT", True),
        (ROOT, True, "example.org.", "AAAA", False),  # AAAA is supported: NODATA
        (Fall(("example.net.",)), False, "nope.example.org.", "A", False),
        (Fall(("example.net.",)), True, "example.org.", "TXT", False),
        (Fall(("example.org.",)), False, "nope.example.org.", "A", True),
        (NEVER, False, "9.9.9.9.in-addr.arpa.", "PTR", True),  # unknown address: always next
    ],
)
async def test_fallthrough(fall: Fall, unsupported: bool, qname: str, qtype: str, to_next: bool) -> None:
    """fallthrough hands unknown names on within its zones; fallthrough_unsupported also other types."""
    assert await _served_by_next(hosts(fall, unsupported), Case(qname, qtype)) is to_next


async def test_name_outside_origins_goes_to_next() -> None:
    """A query outside the plugin's zones goes to the next plugin whatever fallthrough says."""
    h = hosts(origins=("example.org.",))
    assert await _served_by_next(h, Case("example.com.", "A"))
    assert not await _served_by_next(h, Case("example.org.", "A"))


async def test_reverse_ignores_origins() -> None:
    """PTR zones need not be among the origins."""
    h = hosts(origins=("example.org.",))
    rec = Recorder(FakeWriter())
    tc = Case("1.0.0.10.in-addr.arpa.", "PTR", answer=["1.0.0.10.in-addr.arpa. 3600 IN PTR example.org."])
    tc.check(await h.serve_dns(rec, tc.request()), rec.msg)


async def test_answer_is_a_copy() -> None:
    """A plugin changing a written RRset does not change the next answer."""
    h = hosts()
    rec = Recorder(FakeWriter())
    await h.serve_dns(rec, Case("example.org.", "A").request())
    assert rec.msg is not None
    rec.msg.answer[0].ttl = 1
    rec2 = Recorder(FakeWriter())
    await h.serve_dns(rec2, Case("example.org.", "A").request())
    assert rec2.msg is not None
    assert rec2.msg.answer[0].ttl == 3600
