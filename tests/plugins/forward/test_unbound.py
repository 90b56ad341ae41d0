"""forward with a real resolver as upstream: unbound on 127.0.0.1 serving a local zone."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import dns.exception
import dns.flags
import dns.rcode
import pytest

from kdns.testing import free_port, query, run_instance

UNBOUND = shutil.which("unbound") or ("/usr/sbin/unbound" if Path("/usr/sbin/unbound").exists() else None)
pytestmark = pytest.mark.skipif(UNBOUND is None, reason="unbound is not installed (Debian package unbound)")

#: enough A records that the reply does not fit 512 bytes
BIG = 40

CONF = """server:
    interface: 127.0.0.1
    port: {port}
    do-ip6: no
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "{dir}"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 0
    module-config: "iterator"
    access-control: 127.0.0.0/8 allow
    local-zone: "kdns.test." static
    local-data: "kdns.test. 300 IN SOA ns.kdns.test. host.kdns.test. 1 3600 600 86400 60"
    local-data: "www.kdns.test. 300 IN A 192.0.2.80"
    local-data: "www.kdns.test. 300 IN AAAA 2001:db8::80"
{big}
remote-control:
    control-enable: no
"""


async def _wait_ready(port: int, proc: asyncio.subprocess.Process) -> None:
    for _ in range(200):
        if proc.returncode is not None:
            raise RuntimeError("unbound exited at startup")
        try:
            await query("127.0.0.1", port, "www.kdns.test.", "A", timeout=0.2)
            return
        except (dns.exception.Timeout, OSError):
            await asyncio.sleep(0.02)
    raise RuntimeError("unbound did not answer within 4s")


@pytest.fixture
async def unbound(tmp_path: Path) -> AsyncIterator[int]:
    """unbound listening on 127.0.0.1:<free port>; yields the port."""
    assert UNBOUND is not None
    port = free_port()
    big = "\n".join(f'    local-data: "big.kdns.test. 300 IN A 198.51.100.{i}"' for i in range(1, BIG + 1))
    conf = tmp_path / "unbound.conf"
    conf.write_text(CONF.format(port=port, dir=tmp_path, big=big))
    proc = await asyncio.create_subprocess_exec(
        UNBOUND, "-d", "-c", str(conf), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        await _wait_ready(port, proc)
        yield port
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


async def test_forward_to_unbound(unbound: int) -> None:
    """Answers, NXDOMAIN with SOA and AAAA come back from unbound over UDP and TCP."""
    async with run_instance(f".:0 {{\n forward kdns.test 127.0.0.1:{unbound}\n}}") as inst:
        for proto in ("udp", "tcp"):
            r = await inst.query("WWW.kdns.test.", "A", proto=proto)
            assert r.rcode() == dns.rcode.NOERROR
            assert r.question[0].name.to_text() == "WWW.kdns.test."
            assert [rd.to_text() for rs in r.answer for rd in rs] == ["192.0.2.80"]
            r = await inst.query("www.kdns.test.", "AAAA", proto=proto)
            assert [rd.to_text() for rs in r.answer for rd in rs] == ["2001:db8::80"]
            r = await inst.query("missing.kdns.test.", "A", proto=proto)
            assert r.rcode() == dns.rcode.NXDOMAIN
            assert r.authority
            assert r.authority[0].name.to_text() == "kdns.test."


async def test_prefer_udp_truncation_retried_over_tcp_against_unbound(unbound: int) -> None:
    """A reply too big for 512 bytes: unbound truncates over UDP, forward (prefer_udp) asks again over TCP."""
    corefile = f".:0 {{\n forward . 127.0.0.1:{unbound} {{\n prefer_udp\n }}\n}}"
    async with run_instance(corefile) as inst:
        r = await inst.query("big.kdns.test.", "A", proto="tcp")
        assert not r.flags & dns.flags.TC
        assert sum(len(rs) for rs in r.answer) == BIG
        r = await inst.query("big.kdns.test.", "A", proto="udp")  # the client's own 512 bytes: truncated for it
        assert r.flags & dns.flags.TC
