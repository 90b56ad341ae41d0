"""any in a running server over UDP and TCP."""

from __future__ import annotations

import dns.rcode
import dns.rdatatype
import pytest

from kdns.testing import run_instance


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_any_query(proto: str) -> None:
    """An ANY query gets the RFC 8482 HINFO; an A query goes on to whoami."""
    async with run_instance("example.org:0 {\n any\n whoami\n}\n") as inst:
        r = await inst.query("example.org", "ANY", proto=proto)
        a = await inst.query("example.org", "A", proto=proto)
    assert r.rcode() == dns.rcode.NOERROR
    assert len(r.answer) == 1
    hinfo = r.answer[0]
    assert hinfo.rdtype == dns.rdatatype.HINFO
    assert hinfo.ttl == 8482
    assert hinfo[0].to_text() == '"ANY obsoleted" "See RFC 8482"'
    assert not a.answer
    assert a.additional
