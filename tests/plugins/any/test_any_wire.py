"""The wire form of any: ANY queries take the full path (any answers them), all others may be cache hits."""

from __future__ import annotations

import pytest

from kdns.plugins.any.plugin import Any
from kdns.testing.wirecache import assert_wire_done_leaves_reply, hands_on, wire_query


@pytest.mark.parametrize("qtype", ["ANY", "A", "AAAA", "HINFO", "TXT", "MX"])
async def test_wire_pass_is_false_exactly_when_any_answers_itself(qtype: str) -> None:
    """wire_pass is True exactly when the full handler hands the query on untouched (all but ANY)."""
    q = wire_query("Example.ORG.", qtype)
    handed_on = await hands_on(lambda nxt: Any(next=nxt), q)
    assert handed_on is (qtype != "ANY")
    assert Any().wire_pass(q) is handed_on


def test_wire_done_leaves_the_reply() -> None:
    """On a hit any has nothing to add: the reply bytes stay as the cache made them."""
    assert_wire_done_leaves_reply(Any(), "TXT", 'example.org. 300 IN TXT "hello"')
