"""A whole server from a Corefile string, queried over real UDP and TCP."""

from __future__ import annotations

import dns.flags
import dns.rcode
import dns.rdatatype
import pytest

from kdns.testing import run_instance


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_whoami_answers_client_address(proto: str) -> None:
    """whoami puts the client's IP and the transport's SRV in the additional section."""
    async with run_instance(".:0 {\n whoami\n}\n") as inst:
        r = await inst.query("example.org", "A", proto=proto)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert not r.answer
    a = r.find_rrset(r.additional, r.question[0].name, 1, dns.rdatatype.A)
    assert a[0].address == "127.0.0.1"
    srv = next(x for x in r.additional if x.rdtype == dns.rdatatype.SRV)
    assert srv.name.to_text() == f"_{proto}.example.org."


async def test_no_matching_zone_is_refused() -> None:
    """A name outside every zone, with no '.' block, is REFUSED."""
    async with run_instance("example.org:0 {\n whoami\n}\n") as inst:
        r = await inst.query("example.net", "A")
        ok = await inst.query("www.example.org", "A")
    assert r.rcode() == dns.rcode.REFUSED
    assert ok.rcode() == dns.rcode.NOERROR
