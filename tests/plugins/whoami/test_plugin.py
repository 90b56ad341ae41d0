"""The whoami handler: the client's address and port in the additional section."""

from __future__ import annotations

import dns.rcode
import pytest

from kdns.plugins.whoami.plugin import Whoami
from kdns.testing import Case, FakeWriter, Recorder

CASES = [
    (
        "udp",
        ("10.240.0.1", 40212),
        Case(
            "example.org.",
            "A",
            authoritative=True,
            extra=["example.org. 0 IN A 10.240.0.1", "_udp.example.org. 0 IN SRV 0 0 40212 ."],
        ),
    ),
    (
        "tcp",
        ("10.240.0.1", 40212),
        Case(
            "example.org.",
            "A",
            authoritative=True,
            extra=["example.org. 0 IN A 10.240.0.1", "_tcp.example.org. 0 IN SRV 0 0 40212 ."],
        ),
    ),
    (
        "udp",
        ("2001:db8::1", 5353),
        Case(
            "Example.ORG.",
            "AAAA",
            authoritative=True,
            extra=["Example.ORG. 0 IN AAAA 2001:db8::1", "_udp.Example.ORG. 0 IN SRV 0 0 5353 ."],
        ),
    ),
    (
        "tcp",
        ("2001:db8::1", 53),
        Case(
            "www.example.org.",
            "MX",
            authoritative=True,
            extra=["www.example.org. 0 IN AAAA 2001:db8::1", "_tcp.www.example.org. 0 IN SRV 0 0 53 ."],
        ),
    ),
]


@pytest.mark.parametrize(("proto", "remote", "tc"), CASES, ids=[f"{p}-{r[0]}-{tc}" for p, r, tc in CASES])
async def test_whoami(proto: str, remote: tuple[str, int], tc: Case) -> None:
    """Any query gets an authoritative, empty-answer reply with A/AAAA of the client and SRV of its port."""
    rec = Recorder(FakeWriter(proto=proto, remote=remote))
    rc = await Whoami().serve_dns(rec, tc.request(proto=proto, remote=remote[0], port=remote[1]))
    assert rc == dns.rcode.NOERROR
    tc.check(rc, rec.msg)
