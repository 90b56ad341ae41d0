"""errors in a running server: the chain's failure is logged and the client gets the server's reply."""

from __future__ import annotations

from collections.abc import Callable

import dns.rcode
import pytest

from kdns.testing import run_instance

Lines = Callable[[], list[str]]


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_chain_error_is_logged(error_lines: Lines, proto: str) -> None:
    """A plugin failure (any with nobody after it) is logged once and answered SERVFAIL."""
    async with run_instance(".:0 {\n errors\n any\n}\n") as inst:
        r = await inst.query("www.example.org", "MX", proto=proto)
        ok = await inst.query("www.example.org", "ANY", proto=proto)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert ok.rcode() == dns.rcode.NOERROR
    assert error_lines() == ["[ERROR] plugin/errors: 2 www.example.org. MX: plugin/any: no next plugin found"]


async def test_consolidated_until_shutdown(error_lines: Lines) -> None:
    """Consolidated errors are summed up when the server stops before the period ends."""
    async with run_instance('.:0 {\n errors {\n consolidate 1h "no next plugin" warning\n }\n any\n}\n') as inst:
        for proto in ("udp", "tcp", "udp"):
            r = await inst.query("example.org", "A", proto=proto)
            assert r.rcode() == dns.rcode.SERVFAIL
        assert error_lines() == []
    assert error_lines() == ["[WARNING] plugin/errors: 3 errors like 'no next plugin' occurred in last 1h0m0s"]
