"""loadbalance through a running kdns, in front of hosts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kdns.testing import run_instance

COREFILE = """.:0 {
    loadbalance %s
    hosts /nonexistent/hosts {
        10.0.0.1 example.org
        10.0.0.2 example.org
        10.0.0.3 example.org
        10.0.0.4 example.org
        192.168.1.1 example.org
    }
}
"""


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_first_address_changes(proto: str) -> None:
    """Over many queries the first A record is not always the same, and the set never changes."""
    firsts: set[str] = set()
    async with run_instance(COREFILE % "") as inst:
        for _ in range(40):
            r = await inst.query("example.org", "A", proto=proto)
            addrs = [rd.to_text() for rd in r.answer[0]]
            assert sorted(addrs) == ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "192.168.1.1"]
            firsts.add(addrs[0])
            if len(firsts) > 1:
                break
    assert len(firsts) > 1


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_prefer_puts_subnet_first(proto: str) -> None:
    """With prefer, the address in the preferred subnet is always first."""
    async with run_instance(COREFILE % "{\n prefer 192.168.0.0/16\n }") as inst:
        for _ in range(10):
            r = await inst.query("example.org", "A", proto=proto)
            assert next(iter(r.answer[0])).to_text() == "192.168.1.1"


async def test_without_loadbalance_order_is_kept() -> None:
    """Without loadbalance the server keeps the order the answering plugin chose (file order)."""
    async with run_instance(COREFILE.replace("    loadbalance %s\n", "")) as inst:
        for _ in range(10):
            r = await inst.query("example.org", "A")
            assert [rd.to_text() for rd in r.answer[0]] == [
                "10.0.0.1",
                "10.0.0.2",
                "10.0.0.3",
                "10.0.0.4",
                "192.168.1.1",
            ]


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_weighted_prefers_heavy_address(tmp_path: Path, proto: str) -> None:
    """With weights 255 vs 1 the heavy address is first in nearly every reply; the set is unchanged."""
    weights = tmp_path / "weights"
    weights.write_text("example.org\n10.0.0.4 255\n")
    firsts = Counter()
    async with run_instance(COREFILE % f"weighted {weights}") as inst:
        for _ in range(20):
            r = await inst.query("example.org", "A", proto=proto)
            addrs = [rd.to_text() for rd in r.answer[0]]
            assert sorted(addrs) == ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "192.168.1.1"]
            firsts[addrs[0]] += 1
    assert firsts["10.0.0.4"] >= 15
