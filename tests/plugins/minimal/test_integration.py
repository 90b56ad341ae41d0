"""minimal in a running server over UDP and TCP."""

from __future__ import annotations

import dns.rcode
import pytest

from kdns.testing import run_instance


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_minimal_drops_additional(proto: str) -> None:
    """Without minimal whoami's additional records go out; with it a NOERROR reply has none (EDNS kept)."""
    async with run_instance("example.org:0 {\n whoami\n}\nexample.net:0 {\n minimal\n whoami\n}\n") as inst:
        full = await inst.query("example.org", "A", proto=proto, use_edns=0)
        small = await inst.query("example.net", "A", proto=proto, use_edns=0)
    assert full.rcode() == small.rcode() == dns.rcode.NOERROR
    assert len(full.additional) == 2
    assert small.additional == []
    assert small.authority == []
    assert small.edns == 0
