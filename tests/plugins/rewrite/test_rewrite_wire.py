"""The wire form of rewrite: queries no rule touches may be cache hits; any rule that applies means the full path."""

from __future__ import annotations

import pytest

from kdns.plugins.rewrite.plugin import Rewrite
from kdns.plugins.rewrite.setup import parse
from kdns.testing import controller
from kdns.testing.wirecache import assert_wire_done_leaves_reply, hands_on, wire_query

# (rewrite lines, qname, qtype, some rule applies)
CASES = [
    ("rewrite name foo.example.org bar.example.org", "foo.example.org.", "A", True),
    ("rewrite name foo.example.org bar.example.org", "FOO.Example.org.", "A", True),
    ("rewrite name foo.example.org bar.example.org", "other.example.org.", "A", False),
    ("rewrite name suffix .internal. .svc.cluster.local.", "db.internal.", "A", True),
    ("rewrite name suffix .internal. .svc.cluster.local.", "db.example.org.", "A", False),
    ("rewrite name prefix www. web.", "www.example.org.", "AAAA", True),
    ("rewrite name substring old new", "a.old.example.", "A", True),
    ("rewrite name regex (.*)\\.corp\\.$ {1}.example.org.", "host.corp.", "A", True),
    ("rewrite name regex (.*)\\.corp\\.$ {1}.example.org.", "host.example.org.", "A", False),
    ("rewrite type ANY HINFO", "example.org.", "ANY", True),
    ("rewrite type ANY HINFO", "example.org.", "A", False),
    ("rewrite class CH IN", "example.org.", "A", False),
    ("rewrite class IN CH", "example.org.", "A", True),
    ("rewrite ttl example.org. 30", "example.org.", "A", True),
    ("rewrite ttl example.org. 30", "www.example.org.", "A", False),
    ("rewrite rcode example.org. NXDOMAIN SERVFAIL", "example.org.", "A", True),
    ("rewrite rcode example.org. NXDOMAIN SERVFAIL", "example.net.", "A", False),
    ("rewrite cname exact a.example.org. b.example.org.", "example.net.", "A", True),
    (
        "rewrite name a.example.org b.example.org\nrewrite continue name c.example.org d.example.org",
        "c.example.org.",
        "A",
        True,
    ),
    (
        "rewrite name a.example.org b.example.org\nrewrite continue name c.example.org d.example.org",
        "e.example.org.",
        "A",
        False,
    ),
]


@pytest.mark.parametrize(("lines", "qname", "qtype", "applies"), CASES, ids=[f"{c}|{n}|{t}" for c, n, t, _ in CASES])
async def test_wire_pass_is_true_exactly_when_no_rule_applies(
    lines: str, qname: str, qtype: str, applies: bool
) -> None:
    """wire_pass agrees with the full handler: True exactly when it hands the query on untouched."""
    rules = parse(controller(lines)).rules
    q = wire_query(qname, qtype)
    handed_on = await hands_on(lambda nxt: Rewrite(rules=rules, next=nxt), q)
    assert handed_on is not applies
    assert Rewrite(rules=rules).wire_pass(q) is not applies


def test_wire_done_leaves_the_reply() -> None:
    """On a hit rewrite has nothing to undo: the reply bytes stay as the cache made them."""
    assert_wire_done_leaves_reply(
        Rewrite(rules=parse(controller("rewrite name a.example.org b.example.org")).rules),
        "A",
        "example.org. 300 IN A 10.0.0.1",
    )
