"""hosts through a running kdns: UDP and TCP answers, file reloads, metrics."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import dns.flags
import dns.rcode
import pytest

from kdns.metrics import REGISTRY
from kdns.testing import run_instance


def corefile(path: Path, extra: str = "") -> str:
    return f""".:0 {{
    hosts {path} example.org {{
        10.0.0.9 inline.example.org
        ttl 30
        {extra}
    }}
    whoami
}}
"""


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_answers(tmp_path: Path, proto: str) -> None:
    """File and inline entries answer with AA; unknown names NXDOMAIN; other zones go on (whoami)."""
    path = tmp_path / "hosts"
    path.write_text("10.0.0.1 www.example.org\n")
    async with run_instance(corefile(path)) as inst:
        www = await inst.query("www.example.org", "A", proto=proto)
        inline = await inst.query("inline.example.org", "A", proto=proto)
        ptr = await inst.query("1.0.0.10.in-addr.arpa", "PTR", proto=proto)
        missing = await inst.query("nope.example.org", "A", proto=proto)
        other = await inst.query("example.net", "A", proto=proto)
    assert www.flags & dns.flags.AA
    assert [r.to_text() for r in www.answer] == ["www.example.org. 30 IN A 10.0.0.1"]
    assert [r.to_text() for r in inline.answer] == ["inline.example.org. 30 IN A 10.0.0.9"]
    assert [r.to_text() for r in ptr.answer] == ["1.0.0.10.in-addr.arpa. 30 IN PTR www.example.org."]
    assert missing.rcode() == dns.rcode.NXDOMAIN
    assert other.rcode() == dns.rcode.NOERROR
    assert other.additional


async def test_fallthrough_to_next_plugin(tmp_path: Path) -> None:
    """With fallthrough an unknown name in the zone reaches the next plugin."""
    path = tmp_path / "hosts"
    path.write_text("10.0.0.1 www.example.org\n")
    async with run_instance(corefile(path, "fallthrough")) as inst:
        r = await inst.query("nope.example.org", "A")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.additional  # whoami's answer


async def test_file_change_is_reloaded(tmp_path: Path) -> None:
    """A changed file is re-read after the reload interval; metrics follow the new entries."""
    path = tmp_path / "hosts"
    path.write_text("10.0.0.1 www.example.org\n")
    async with run_instance(corefile(path, "reload 20ms")) as inst:
        first = await inst.query("www.example.org", "A")
        entries = REGISTRY.get_sample_value("coredns_hosts_entries", {"hostsfile": str(path)})
        assert entries == 4  # file A + PTR, inline A + PTR
        path.write_text("10.0.0.2 www.example.org\n10.0.0.3 new.example.org\n")
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while True:
            r = await inst.query("new.example.org", "A")
            if r.answer or loop.time() > deadline:
                break
            await asyncio.sleep(0.02)
        www = await inst.query("www.example.org", "A")
    assert [r.to_text() for r in first.answer] == ["www.example.org. 30 IN A 10.0.0.1"]
    assert [x.to_text() for x in r.answer] == ["new.example.org. 30 IN A 10.0.0.3"]
    assert [x.to_text() for x in www.answer] == ["www.example.org. 30 IN A 10.0.0.2"]
    assert REGISTRY.get_sample_value("coredns_hosts_entries", {"hostsfile": str(path)}) == 6
    ts = REGISTRY.get_sample_value("coredns_hosts_reload_timestamp_seconds")
    assert ts == pytest.approx(path.stat().st_mtime)


async def test_stop_ends_the_reload_task(tmp_path: Path) -> None:
    """Stopping the server stops the hosts reload task (no task left behind)."""
    path = tmp_path / "hosts"
    path.write_text("10.0.0.1 www.example.org\n")
    async with run_instance(corefile(path, "reload 20ms")):
        names = {t.get_name() for t in asyncio.all_tasks()}
        assert f"hosts-reload {path}" in names
    assert f"hosts-reload {path}" not in {t.get_name() for t in asyncio.all_tasks()}
