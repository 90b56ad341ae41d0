"""log in a running server: one line per query over UDP and TCP."""

from __future__ import annotations

import re
from collections.abc import Callable

import dns.rcode
import pytest

from kdns.testing import run_instance

Lines = Callable[[], list[str]]


@pytest.mark.parametrize(("proto", "bufsize"), [("udp", 512), ("tcp", 65535)])
async def test_query_is_logged(log_lines: Lines, proto: str, bufsize: int) -> None:
    """Each answered query is one Common Log Format line with the real client, id, size and flags."""
    async with run_instance(".:0 {\n log\n whoami\n}\n") as inst:
        r = await inst.query("Example.org", "A", proto=proto)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.wire is not None
    lines = log_lines()
    assert len(lines) == 1
    m = re.fullmatch(
        rf'\[INFO\] 127\.0\.0\.1:(\d+) - {r.id} "A IN example\.org\. {proto} 29 false {bufsize}" '
        r"NOERROR qr,aa,rd (\d+) (\d+(\.\d+)?)s",
        lines[0],
    )
    assert m is not None, lines[0]
    assert int(m.group(2)) == len(r.wire)
    assert float(m.group(3)) < 2.0


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_error_from_the_chain_is_logged(log_lines: Lines, proto: str) -> None:
    """When the chain fails (no next plugin after any), the line shows the SERVFAIL the client gets."""
    async with run_instance(".:0 {\n log example.org {\n class error\n }\n any\n}\n") as inst:
        r = await inst.query("example.org", "A", proto=proto)
        ok = await inst.query("example.org", "ANY", proto=proto)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert ok.rcode() == dns.rcode.NOERROR
    lines = log_lines()
    assert len(lines) == 1  # the ANY answer is a success: not in class error
    assert r.wire is not None
    assert f'"A IN example.org. {proto} 29 false ' in lines[0]
    assert f" SERVFAIL qr,rd {len(r.wire)} " in lines[0]
