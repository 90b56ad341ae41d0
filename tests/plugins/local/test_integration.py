"""local in a running server over UDP and TCP."""

from __future__ import annotations

import dns.rcode
import dns.rdatatype
import pytest

from kdns.testing import run_instance


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_local_names(proto: str) -> None:
    """localhost resolves to loopback, 127.0.0.1 to localhost; other names reach the next plugin."""
    async with run_instance(".:0 {\n local\n whoami\n}\n") as inst:
        a = await inst.query("localhost", "A", proto=proto)
        sub = await inst.query("app.localhost", "AAAA", proto=proto)
        ptr = await inst.query("1.0.0.127.in-addr.arpa", "PTR", proto=proto)
        nx = await inst.query("9.0.0.127.in-addr.arpa", "PTR", proto=proto)
        other = await inst.query("example.org", "A", proto=proto)
    assert a.answer[0][0].address == "127.0.0.1"
    assert sub.answer[0][0].address == "::1"
    assert ptr.answer[0][0].target.to_text() == "localhost."
    assert nx.rcode() == dns.rcode.NXDOMAIN
    assert nx.authority[0].rdtype == dns.rdatatype.SOA
    assert not other.answer
    assert other.additional


async def test_localhost_prefix_off() -> None:
    """With localhost_prefix off, localhost.<domain> is not intercepted."""
    async with run_instance(".:0 {\n local {\n localhost_prefix off\n }\n whoami\n}\n") as inst:
        r = await inst.query("localhost.example.net", "A")
    assert not r.answer
    assert r.additional
