"""The test helpers this part ships: throwaway plugin registration and a server in a thread."""

from __future__ import annotations

import dns.message
import dns.query
import dns.rcode
import pytest

from kdns.config import registry
from kdns.config.controller import Controller
from kdns.testing.instance import run_in_thread, test_plugin
from kdns.testing.stubs import next_handler


def _setup(c: Controller) -> None:
    c.once()
    c.add_plugin(lambda nxt: next_handler(dns.rcode.NXDOMAIN))


def test_test_plugin_is_removed_afterwards() -> None:
    """A directive registered with test_plugin is in the chain order only inside the with block."""
    with test_plugin("kdnstest-tmp", _setup):
        order = registry.order()
        assert order.index("kdnstest-tmp") == order.index("whoami") - 1
        assert registry.get("kdnstest-tmp") is not None
    assert registry.get("kdnstest-tmp") is None
    assert "kdnstest-tmp" not in registry.order()


def test_test_plugin_removed_on_error() -> None:
    """The directive is removed even when the test body fails."""
    with pytest.raises(RuntimeError), test_plugin("kdnstest-tmp", _setup):
        raise RuntimeError("test failed")
    assert registry.get("kdnstest-tmp") is None


def test_run_in_thread_serves_sync_clients() -> None:
    """run_in_thread serves blocking clients; the plugin registered for the test is in its chain."""
    with test_plugin("kdnstest-tmp", _setup), run_in_thread(".:0 {\n kdnstest-tmp\n whoami\n}\n") as inst:
        udp = dns.query.udp(dns.message.make_query("example.org", "A"), "127.0.0.1", port=inst.port, timeout=2)
        tcp = dns.query.tcp(dns.message.make_query("example.org", "A"), "127.0.0.1", port=inst.port, timeout=2)
        reloaded = inst.call(inst.reload)
    assert udp.rcode() == tcp.rcode() == dns.rcode.NXDOMAIN
    assert reloaded
