"""The any handler: ANY gets a HINFO, anything else goes to the next plugin."""

from __future__ import annotations

import dns.rcode
import pytest

from kdns.plugins.any.plugin import Any
from kdns.testing import Case, FakeWriter, Recorder, next_handler

CASES = [
    Case("example.org.", "ANY", answer=['example.org. 8482 IN HINFO "ANY obsoleted" "See RFC 8482"']),
    Case("Www.Example.ORG.", "ANY", answer=['Www.Example.ORG. 8482 IN HINFO "ANY obsoleted" "See RFC 8482"']),
    Case("example.org.", "A", rcode=dns.rcode.NXDOMAIN),
    Case("example.org.", "HINFO", rcode=dns.rcode.NXDOMAIN),
]


@pytest.mark.parametrize("tc", CASES, ids=str)
async def test_any(tc: Case) -> None:
    """ANY is answered with one HINFO (TTL 8482, owner as asked); other types reach next (NXDOMAIN here)."""
    rec = Recorder(FakeWriter())
    h = Any(next=next_handler(dns.rcode.NXDOMAIN))
    tc.check(await h.serve_dns(rec, tc.request()), rec.msg)


async def test_any_not_authoritative() -> None:
    """The HINFO reply is NOERROR, not authoritative, and has nothing but the answer."""
    rec = Recorder(FakeWriter())
    rc = await Any().serve_dns(rec, Case("example.org.", "ANY").request())
    assert rc == dns.rcode.NOERROR
    tc = Case(
        "example.org.",
        "ANY",
        authoritative=False,
        answer=['example.org. 8482 IN HINFO "ANY obsoleted" "See RFC 8482"'],
    )
    tc.check(rc, rec.msg)
