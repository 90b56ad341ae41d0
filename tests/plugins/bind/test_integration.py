"""bind through a running kdns: only the bound addresses answer."""

from __future__ import annotations

import dns.exception
import dns.rcode
import pytest

from kdns.testing import free_port, query, run_instance


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_bound_addresses_answer_others_do_not(proto: str) -> None:
    """With bind 127.0.0.1 127.0.0.2 both answer on the port; 127.0.0.3 gets nothing."""
    port = free_port()
    async with run_instance(f".:{port} {{\n bind 127.0.0.1 127.0.0.2\n whoami\n}}\n") as inst:
        assert sorted(inst.runner.listeners) == [("127.0.0.1", port), ("127.0.0.2", port)]
        for host in ("127.0.0.1", "127.0.0.2"):
            r = await query(host, port, "example.org", "A", proto=proto)
            assert r.rcode() == dns.rcode.NOERROR
            assert r.additional  # whoami answered
        with pytest.raises((dns.exception.Timeout, OSError)):
            await query("127.0.0.3", port, "example.org", "A", proto=proto, timeout=0.3)


async def test_server_label_names_the_address() -> None:
    """The metrics server label of a bound listener is dns://IP:port."""
    port = free_port()
    async with run_instance(f".:{port} {{\n bind 127.0.0.1 127.0.0.2\n whoami\n}}\n") as inst:
        labels = sorted(s.label for s in inst.runner.instance.servers.values())  # type: ignore[union-attr]
    assert labels == [f"dns://127.0.0.1:{port}", f"dns://127.0.0.2:{port}"]


async def test_interface_lo() -> None:
    """bind lo listens on the loopback interface's addresses (127.0.0.1 answers)."""
    async with run_instance(".:0 {\n bind lo {\n except ::1\n }\n whoami\n}\n") as inst:
        assert [h for h, _ in inst.runner.listeners] == ["127.0.0.1"]
        r = await inst.query("example.org", "A")
    assert r.rcode() == dns.rcode.NOERROR
