"""The wire form of acl: allowed queries may be cache hits (counted as allowed), the rest take the full path."""

from __future__ import annotations

import pytest

from kdns.metrics import REGISTRY
from kdns.plugin import WireStage
from kdns.plugins.acl.plugin import ACL
from kdns.plugins.acl.setup import parse
from kdns.testing import controller
from kdns.testing.wirecache import Entry, hands_on, reply_bytes, wire_query

# (corefile, client address, qtype, allowed)
CASES = [
    ("acl {\n block type A net 192.168.0.0/16\n}", "192.168.1.1", "A", False),
    ("acl {\n block type A net 192.168.0.0/16\n}", "192.168.1.1", "AAAA", True),
    ("acl {\n block type A net 192.168.0.0/16\n}", "10.0.0.1", "A", True),
    ("acl {\n filter type A net 192.168.0.0/16\n}", "192.168.1.1", "A", False),
    ("acl {\n drop net 192.168.0.0/16\n}", "192.168.1.1", "A", False),
    ("acl {\n allow net 192.168.1.0/24\n block net 192.168.0.0/16\n}", "192.168.1.7", "A", True),
    ("acl {\n allow net 192.168.1.0/24\n block net 192.168.0.0/16\n}", "192.168.2.7", "A", False),
    ("acl {\n block net 2001:db8::/32\n}", "2001:db8::53", "A", False),
    ("acl {\n block net 192.168.0.0/16\n}", "::ffff:192.168.3.4", "A", False),
    ("acl {\n block net 192.168.0.0/16\n}", "2001:db8::53", "A", True),
    ("acl a.example.org {\n block\n}", "10.0.0.1", "A", True),
    ("acl example.org {\n block\n}", "10.0.0.1", "A", False),
    ("acl example.net {\n block\n}\nacl {\n filter\n}", "10.0.0.1", "A", False),
    ("acl {\n allow net 192.0.2.0/24\n}\nacl {\n block\n}", "192.0.2.1", "A", True),
    ("acl {\n allow net 192.0.2.0/24\n}\nacl {\n block\n}", "198.51.100.1", "A", False),
    ("acl", "10.0.0.1", "A", True),
]


def rules(text: str) -> ACL:
    return ACL(rules=parse(controller(text)).rules)


@pytest.mark.parametrize(("corefile", "ip", "qtype", "allowed"), CASES, ids=[f"{c}|{i}|{t}" for c, i, t, _ in CASES])
async def test_wire_pass_is_true_exactly_when_the_query_is_allowed(
    corefile: str, ip: str, qtype: str, allowed: bool
) -> None:
    """wire_pass agrees with the full handler: True exactly when it hands the query on untouched."""
    q = wire_query("example.org.", qtype, remote=(ip, 53000))
    acl = rules(corefile)
    handed_on = await hands_on(lambda nxt: ACL(rules=acl.rules, next=nxt), q)
    assert handed_on is allowed
    assert acl.wire_pass(q) is allowed


def allowed_count(server: str) -> float:
    return REGISTRY.get_sample_value("coredns_acl_allowed_requests_total", {"server": server, "view": ""}) or 0.0


def test_a_cache_hit_is_counted_as_allowed_once() -> None:
    """Each hit counts one allowed request in wire_done; wire_pass alone (a miss follows) counts nothing."""
    server = "dns://:10531"
    acl = rules("acl {\n block net 192.168.0.0/16\n}")
    assert isinstance(acl, WireStage)
    q = wire_query("example.org.", "A", remote=("10.0.0.1", 5000), server=server)
    assert acl.wire_pass(q)
    assert allowed_count(server) == 0.0  # a miss: the full path counts it
    reply = reply_bytes(q, Entry(answer=["example.org. 300 IN A 10.0.0.1"]))
    assert reply is not None
    before = bytes(reply)
    for _ in range(3):
        assert acl.wire_pass(q)
        acl.wire_done(q, reply, 0)
    assert allowed_count(server) == 3.0
    assert bytes(reply) == before
