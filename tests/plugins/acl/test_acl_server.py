"""acl in a whole server: queries from 127.0.0.1 over real UDP and TCP."""

from __future__ import annotations

import asyncio
import time

import dns.exception
import dns.rcode
import dns.rdatatype
import pytest

from kdns.metrics import REGISTRY
from kdns.testing import run_instance


def corefile(policy: str) -> str:
    return f".:0 {{\n acl {{\n  {policy}\n }}\n whoami\n}}\n"


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_block_from_loopback(proto: str) -> None:
    """A query from 127.0.0.1 matched by net 127.0.0.0/8 is REFUSED; other types still get answers."""
    async with run_instance(corefile("block type A net 127.0.0.0/8")) as inst:
        r = await inst.query("example.org", "A", proto=proto)
        ok = await inst.query("example.org", "AAAA", proto=proto)
    assert r.rcode() == dns.rcode.REFUSED
    assert not r.additional
    assert ok.rcode() == dns.rcode.NOERROR
    assert any(x.rdtype == dns.rdatatype.A for x in ok.additional)


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_filter_from_loopback(proto: str) -> None:
    """filter answers NOERROR with empty sections, and whoami is never reached."""
    async with run_instance(corefile("filter net 127.0.0.0/8")) as inst:
        r = await inst.query("example.org", "A", proto=proto, use_edns=0)
    assert r.rcode() == dns.rcode.NOERROR
    assert not r.answer
    assert not r.additional
    assert [o.otype for o in r.options] == [15]  # Extended DNS Error


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_other_networks_are_allowed(proto: str) -> None:
    """A client outside the blocked networks reaches the next plugin."""
    async with run_instance(corefile("block net 10.0.0.0/8 ::1")) as inst:
        r = await inst.query("example.org", "A", proto=proto)
    assert r.rcode() == dns.rcode.NOERROR
    assert any(x.rdtype == dns.rdatatype.A for x in r.additional)


def _dropped(server: str) -> float:
    labels = {"server": server, "zone": ".", "view": ""}
    return REGISTRY.get_sample_value("coredns_acl_dropped_requests_total", labels) or 0.0


async def _wait_for(cond: float, server: str, deadline: float = 2.0) -> float:
    """Poll the dropped counter: a dropped query leaves no other trace to await."""
    end = time.monotonic() + deadline
    while _dropped(server) < cond and time.monotonic() < end:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    return _dropped(server)


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_drop_sends_nothing(proto: str) -> None:
    """drop: neither acl nor the server replies; the query is counted as dropped."""
    async with run_instance(corefile("drop type TXT net 127.0.0.0/8")) as inst:
        server = f"dns://:{inst.port}"
        before = _dropped(server)
        with pytest.raises(dns.exception.Timeout):
            await inst.query("example.org", "TXT", proto=proto, timeout=0.3)
        assert await _wait_for(before + 1, server) == before + 1
        r = await inst.query("example.org", "A", proto=proto)
    assert r.rcode() == dns.rcode.NOERROR
