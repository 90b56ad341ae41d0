"""The weighted policy (pure parts, and the weight file re-read)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import dns.message
import dns.rrset
import pytest

from kdns.plugins.loadbalance.shuffle import Policy
from kdns.plugins.loadbalance.weighted import WeightFile, parse_weights, pick, weighted
from kdns.testing import StepSleep, rr

WEIGHTS = """
# weights for www
www.example.org
100.64.1.1 3
100.64.1.2 1

Other.Example.ORG.
2001:DB8::1 255
"""


def test_parse_weights() -> None:
    """Names (lower-case FQDN) followed by address/weight lines; comments and blanks skipped."""
    assert parse_weights(WEIGHTS) == {
        "www.example.org.": {"100.64.1.1": 3, "100.64.1.2": 1},
        "other.example.org.": {"2001:db8::1": 255},
    }


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("10.0.0.1\n", "wrong domain name"),
        ("www.example.org\nnot-ip 3\n", "wrong IP address"),
        ("www.example.org\n10.0.0.1 0\n", "wrong weight value"),
        ("www.example.org\n10.0.0.1 256\n", "wrong weight value"),
        ("www.example.org\n10.0.0.1 x\n", "wrong weight value"),
        ("10.0.0.1 3\n", "missing domain name"),
        ("www.example.org 10.0.0.1 3\n", "could not parse weight line"),
    ],
)
def test_parse_weights_errors(text: str, match: str) -> None:
    """Malformed lines are errors naming what is wrong."""
    with pytest.raises(ValueError, match=match):
        parse_weights(text, "w")


@pytest.mark.parametrize(("v", "want"), [(0, 1), (2, 1), (3, 2), (4, 2), (5, 0)])
def test_pick(v: int, want: int) -> None:
    """Heaviest first: weights [1, 3, 2] give index 1 for 0-2, 2 for 3-4, 0 for 5."""
    assert pick([1, 3, 2], lambda n: v) == want


def test_pick_distribution() -> None:
    """With the real random source the picks follow the weights roughly."""
    counts = Counter(pick([3, 1]) for _ in range(4000))
    assert 2.0 < counts[0] / counts[1] < 4.5


def answer() -> list[dns.rrset.RRset]:
    return [
        rr("web.example.org. 300 IN CNAME www.example.org."),
        dns.rrset.from_text("www.example.org.", 300, "IN", "A", "100.64.1.1", "100.64.1.2", "100.64.1.3"),
    ]


def test_weighted_swaps_chosen_to_top() -> None:
    """The chosen address swaps with the first; the others stay where they are; CNAME first."""
    domains = parse_weights(WEIGHTS)
    # weights [3, 1, 1]: order by weight is 0, 1, 2; v=4 picks index 2
    out = weighted(answer(), domains, lambda n: 4)
    assert out is not None
    assert out[0].rdtype == dns.rdatatype.CNAME
    assert [rd.to_text() for rd in out[1]] == ["100.64.1.3", "100.64.1.2", "100.64.1.1"]


def test_weighted_unchanged_is_none() -> None:
    """Picking the first address, or a section without addresses, changes nothing."""
    domains = parse_weights(WEIGHTS)
    assert weighted(answer(), domains, lambda n: 0) is None
    assert weighted([rr("www.example.org. 300 IN TXT x")], domains) is None


def test_policy_weighted_only_for_address_queries() -> None:
    """The weighted policy applies to A/AAAA/SRV queries only, and never shuffles the rest."""
    wf = WeightFile("")
    wf.domains = parse_weights(WEIGHTS)
    p = Policy(weights=wf, randrange=lambda n: n - 1)
    q = dns.message.make_query("web.example.org.", "A")
    m = dns.message.make_response(q)
    m.answer = answer()
    out = p.apply(m)
    assert [rd.to_text() for rd in out.answer[1]] == ["100.64.1.3", "100.64.1.2", "100.64.1.1"]
    mx = dns.message.make_response(dns.message.make_query("web.example.org.", "MX"))
    mx.answer = answer()
    assert p.apply(mx) is mx


async def test_weight_file_reload(tmp_path: Path) -> None:
    """The weight file is re-read after each reload period when its content changed."""
    path = tmp_path / "weights"
    path.write_text("www.example.org\n10.0.0.1 3\n")
    sleep = StepSleep()
    wf = WeightFile(str(path), reload=30.0, sleep=sleep)
    assert wf.read() is True
    assert wf.read() is False
    await wf.start()
    assert await sleep.next_delay() == 30.0
    path.write_text("www.example.org\n10.0.0.1 7\n")
    os.utime(path)
    sleep.step()
    assert await sleep.next_delay() == 30.0
    assert wf.domains == {"www.example.org.": {"10.0.0.1": 7}}
    path.write_text("broken line here\n")
    sleep.step()
    assert await sleep.next_delay() == 30.0
    assert wf.domains == {"www.example.org.": {"10.0.0.1": 7}}  # a bad file keeps the old weights
    await wf.stop()
