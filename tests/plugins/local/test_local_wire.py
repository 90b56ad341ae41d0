"""The wire form of local: names local answers take the full path; every other name may be a cache hit."""

from __future__ import annotations

import pytest

from kdns.plugins.local.plugin import Local
from kdns.testing.wirecache import assert_wire_done_leaves_reply, hands_on, wire_query

NAMES = [
    ("localhost.", "A", True),
    ("LocalHost.", "AAAA", True),
    ("foo.localhost.", "A", True),
    ("localhost.example.org.", "A", True),
    ("localhost.example.org.", "MX", True),
    ("127.in-addr.arpa.", "SOA", True),
    ("1.0.0.127.in-addr.arpa.", "PTR", True),
    ("5.0.in-addr.arpa.", "PTR", True),
    ("255.255.255.255.in-addr.arpa.", "PTR", True),
    ("0.in-addr.arpa.", "NS", True),
    ("example.org.", "A", False),
    ("localhostx.example.org.", "A", False),
    ("mylocalhost.", "A", False),
    ("1.0.0.10.in-addr.arpa.", "PTR", False),
    ("in-addr.arpa.", "NS", False),
    ("kubernetes.default.svc.cluster.local.", "A", False),
]


@pytest.mark.parametrize("prefix", [True, False])
@pytest.mark.parametrize(("name", "qtype", "local_answers"), NAMES)
async def test_wire_pass_is_false_exactly_for_names_local_answers(
    name: str, qtype: str, local_answers: bool, prefix: bool
) -> None:
    """wire_pass is True exactly when the full handler hands the query on; legacy names follow localhost_prefix."""
    q = wire_query(name, qtype)
    handed_on = await hands_on(lambda nxt: Local(next=nxt, localhost_prefix=prefix), q)
    legacy = name.lower().startswith("localhost.") and name.lower() != "localhost."
    assert handed_on is (not local_answers or (legacy and not prefix))
    assert Local(localhost_prefix=prefix).wire_pass(q) is handed_on


def test_wire_done_leaves_the_reply() -> None:
    """On a hit local has nothing to add: the reply bytes stay as the cache made them."""
    assert_wire_done_leaves_reply(Local(), "A", "example.org. 300 IN A 10.0.0.1")
