"""Section reordering (pure): round robin and preferred subnets."""

from __future__ import annotations

import ipaddress
from collections import Counter

import dns.message
import dns.rcode
import dns.rrset

from kdns.plugins.loadbalance.shuffle import Policy, prefer, round_robin
from kdns.testing import rr


def reverse(items: list[object]) -> None:
    """A deterministic 'shuffle' for tests."""
    items.reverse()


def texts(section: list[dns.rrset.RRset]) -> list[str]:
    return [f"{r.name} {dns.rdatatype.to_text(r.rdtype)} {rd}" for r in section for rd in r]


def reply(*answer: str | dns.rrset.RRset, rcode: int = dns.rcode.NOERROR, qtype: str = "A") -> dns.message.Message:
    q = dns.message.make_query("example.org.", qtype)
    m = dns.message.make_response(q)
    m.answer = [rr(t) if isinstance(t, str) else t for t in answer]
    m.set_rcode(dns.rcode.Rcode.make(rcode))
    return m


def a3() -> dns.rrset.RRset:
    return dns.rrset.from_text("example.org.", 300, "IN", "A", "10.0.0.1", "10.0.0.2", "10.0.0.3")


def test_round_robin_shuffles_addresses_and_puts_cname_first() -> None:
    """CNAMEs go first, then other types, then A/AAAA (shuffled), then MX (shuffled)."""
    section = [
        dns.rrset.from_text("example.org.", 300, "IN", "MX", "10 a.example.org.", "20 b.example.org."),
        a3(),
        dns.rrset.from_text("example.org.", 300, "IN", "TXT", '"t"'),
        dns.rrset.from_text("www.example.org.", 300, "IN", "CNAME", "example.org."),
    ]
    out = round_robin(section, reverse)
    assert out is not None
    assert texts(out) == [
        "www.example.org. CNAME example.org.",
        'example.org. TXT "t"',
        "example.org. A 10.0.0.3",
        "example.org. A 10.0.0.2",
        "example.org. A 10.0.0.1",
        "example.org. MX 20 b.example.org.",
        "example.org. MX 10 a.example.org.",
    ]
    assert texts([section[1]]) == ["example.org. A 10.0.0.1", "example.org. A 10.0.0.2", "example.org. A 10.0.0.3"]


def test_round_robin_nothing_to_do_is_none() -> None:
    """Single records in CNAME-first order leave the section as it is (None)."""
    section = [
        dns.rrset.from_text("www.example.org.", 300, "IN", "CNAME", "example.org."),
        dns.rrset.from_text("example.org.", 300, "IN", "A", "10.0.0.1"),
    ]
    assert round_robin(section, reverse) is None
    assert round_robin([], reverse) is None


def test_round_robin_spreads_first_address() -> None:
    """With the real shuffle every address comes first some of the time."""
    firsts = Counter()
    for _ in range(300):
        out = round_robin([a3()])
        assert out is not None
        firsts[next(iter(out[0])).to_text()] += 1
    assert set(firsts) == {"10.0.0.1", "10.0.0.2", "10.0.0.3"}


def test_prefer_moves_subnet_addresses_first_in_subnet_order() -> None:
    """Addresses in the first listed subnet come first, then the second, then the rest (stable)."""
    section = [
        dns.rrset.from_text(
            "example.org.", 300, "IN", "A", "192.168.1.1", "10.0.0.1", "172.16.0.1", "10.0.0.2", "192.168.1.2"
        )
    ]
    nets = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.168.0.0/16")]
    out = prefer(section, nets)
    assert out is not None
    assert [rd.to_text() for rd in out[0]] == ["10.0.0.1", "10.0.0.2", "192.168.1.1", "192.168.1.2", "172.16.0.1"]


def test_prefer_ignores_other_family_and_order_already_right() -> None:
    """An IPv6 subnet does not match IPv4 addresses; an already preferred order is unchanged."""
    section = [dns.rrset.from_text("example.org.", 300, "IN", "A", "10.0.0.1", "10.0.0.2")]
    assert prefer(section, [ipaddress.ip_network("2001:db8::/32")]) is None
    assert prefer(section, [ipaddress.ip_network("10.0.0.1/32")]) is None


def test_policy_copies_and_never_mutates() -> None:
    """apply returns a new message with reordered RRsets; the message given is unchanged."""
    m = reply(a3())
    before = m.to_text()
    out = Policy(shuffle=reverse).apply(m)
    assert out is not m
    assert m.to_text() == before
    assert [rd.to_text() for rd in out.answer[0]] == ["10.0.0.3", "10.0.0.2", "10.0.0.1"]
    assert out.id == m.id
    assert out.question == m.question
    assert out.find_rrset(out.answer, out.answer[0].name, 1, 1) is out.answer[0]


def test_policy_leaves_failures_and_transfers() -> None:
    """Non-NOERROR replies and AXFR/IXFR go out as they are (same object)."""
    p = Policy(shuffle=reverse)
    nx = reply(a3(), rcode=dns.rcode.NXDOMAIN)
    assert p.apply(nx) is nx
    axfr = reply(a3(), qtype="AXFR")
    assert p.apply(axfr) is axfr


def test_policy_prefer_after_shuffle() -> None:
    """prefer runs after the shuffle, so preferred addresses are first whatever the shuffle did."""
    p = Policy([ipaddress.ip_network("10.0.0.3/32")], shuffle=lambda items: None)
    out = p.apply(reply(a3()))
    assert next(iter(out.answer[0])).to_text() == "10.0.0.3"


def test_policy_shuffles_additional_section() -> None:
    """Glue in the additional section is shuffled too."""
    m = reply("example.org. 300 IN NS ns.example.org.")
    m.additional = [dns.rrset.from_text("ns.example.org.", 300, "IN", "A", "10.0.0.1", "10.0.0.2")]
    out = Policy(shuffle=reverse).apply(m)
    assert [rd.to_text() for rd in out.additional[0]] == ["10.0.0.2", "10.0.0.1"]
