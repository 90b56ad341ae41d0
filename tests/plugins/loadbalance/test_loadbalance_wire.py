"""The wire form of loadbalance: a hit's bytes are reordered exactly as the full path reorders the same reply."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable

import dns.message
import dns.rcode
import pytest

from kdns.core.wire import finalize
from kdns.pkg import wirerecords
from kdns.plugin import WireStage
from kdns.plugins.loadbalance.plugin import LoadBalance
from kdns.plugins.loadbalance.shuffle import Network, Policy, Shuffle
from kdns.plugins.loadbalance.weighted import WeightFile
from kdns.plugins.loadbalance.wire import WireBalance
from kdns.testing.wirecache import Entry, reply_bytes, request_of, wire_query

SOA = "example.org. 300 IN SOA ns.example.org. admin.example.org. 1 7200 3600 1209600 300"
SIG = "example.org. 300 IN RRSIG A 8 2 300 21000101000000 20191201000000 12345 example.org. dGVzdA=="
A3 = ["example.org. 300 IN A 10.0.0.1", "example.org. 300 IN A 192.168.0.2", "example.org. 300 IN A 10.0.0.3"]
AAAA3 = ["example.org. 300 IN AAAA 2001:db8::1", "example.org. 300 IN AAAA fd00::2", "example.org. 300 IN AAAA ::3"]
CNAMES = ["www.example.org. 300 IN CNAME web.example.org.", "web.example.org. 300 IN CNAME example.org."]
MX3 = ["example.org. 300 IN MX 10 mx1.example.org.", "example.org. 300 IN MX 20 mx2.example.org.",
       "example.org. 300 IN MX 30 mx3.example.org."]  # fmt: skip
GLUE = [
    "mx1.example.org. 300 IN A 10.1.0.1",
    "mx1.example.org. 300 IN A 10.1.0.2",
    "mx2.example.org. 300 IN A 10.2.0.1",
]
NS2 = ["example.org. 300 IN NS ns1.example.org.", "example.org. 300 IN NS ns2.example.org."]

# (id, qname, qtype, reply, round robin swaps rdata in place (no parse, no re-render))
SHAPES = [
    ("one-A", "example.org.", "A", Entry(answer=A3[:1]), True),
    ("three-A", "example.org.", "A", Entry(answer=A3), True),
    ("cname-chain-A", "www.example.org.", "A", Entry(answer=CNAMES + A3), True),
    ("cname-chain-AAAA", "WWW.Example.org.", "AAAA", Entry(answer=CNAMES + AAAA3), True),
    ("A-with-ns-and-glue", "example.org.", "A", Entry(answer=A3, ns=NS2, extra=GLUE), True),
    ("nxdomain", "example.org.", "A", Entry(ns=[SOA], rcode=dns.rcode.NXDOMAIN), True),
    ("A-before-CNAME", "www.example.org.", "A", Entry(answer=A3 + CNAMES), False),
    ("three-MX", "example.org.", "MX", Entry(answer=MX3, extra=GLUE), False),
    ("signed-A", "example.org.", "A", Entry(answer=[*A3, SIG]), False),
    ("A-and-AAAA", "example.org.", "ANY", Entry(answer=A3 + AAAA3), True),
    ("TXT-then-A", "example.org.", "ANY", Entry(answer=['example.org. 300 IN TXT "x"', *A3]), True),
    ("split-set", "example.org.", "ANY", Entry(answer=[A3[0], 'example.org. 300 IN TXT "x"', A3[1]]), False),
]

NETS: tuple[Network, ...] = (ipaddress.ip_network("192.168.0.0/16"), ipaddress.ip_network("fd00::/8"))


def reverse(items: list[object]) -> None:
    items.reverse()


def rotate(items: list[object]) -> None:
    items.append(items.pop(0))


def seeded() -> Shuffle:
    return random.Random(7).shuffle


SHUFFLES: list[Callable[[], Shuffle]] = [lambda: reverse, lambda: rotate, seeded]


def records(msg: dns.message.Message) -> list[list[str]]:
    """Each section's records in wire order."""
    out = []
    for section in (msg.answer, msg.authority, msg.additional):
        out.append([f"{r.name} {r.ttl} {r.rdtype!r} {rd}" for r in section for rd in r])
    return out


@pytest.mark.parametrize("prefer", [False, True], ids=["round_robin", "prefer"])
@pytest.mark.parametrize("make_shuffle", SHUFFLES, ids=["reverse", "rotate", "seeded"])
@pytest.mark.parametrize("edns", [False, True], ids=["plain", "edns"])
@pytest.mark.parametrize(("qname", "qtype", "entry", "in_place"), [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_the_hit_is_reordered_as_on_the_full_path(
    qname: str, qtype: str, entry: Entry, in_place: bool, edns: bool, make_shuffle: Callable[[], Shuffle], prefer: bool
) -> None:
    """The very bytes of the full path's reply; the common shapes need no parse for round robin."""
    nets = NETS if prefer else ()
    q = wire_query(qname, qtype, use_edns=0 if edns else False)
    req = request_of(q)
    full = finalize(req, Policy(nets, shuffle=make_shuffle()).apply(entry.reply(req.msg)))

    lb = LoadBalance(policy=Policy(nets, shuffle=make_shuffle()))
    assert isinstance(lb, WireStage)
    assert lb.wire_pass(q)
    reply = reply_bytes(q, entry)
    assert reply is not None
    lb.wire_done(q, reply, entry.rcode)
    assert records(dns.message.from_wire(bytes(reply))) == records(dns.message.from_wire(full))
    assert bytes(reply) == full
    if not prefer:
        fresh = reply_bytes(q, entry)
        assert fresh is not None
        assert (WireBalance(Policy())._plan(fresh, wirerecords.counts(fresh)[1:]) is not None) is in_place


def test_records_are_actually_moved() -> None:
    """With prefer, the preferred address comes first and the CNAMEs stay in front."""
    q = wire_query("www.example.org.", "A")
    reply = reply_bytes(q, Entry(answer=CNAMES + A3))
    assert reply is not None
    WireBalance(Policy(NETS, shuffle=reverse)).apply(q, reply, 0)
    got = records(dns.message.from_wire(bytes(reply)))[0]
    assert [line.split()[-1] for line in got] == ["web.example.org.", "example.org.", "192.168.0.2", "10.0.0.3",
                                                   "10.0.0.1"]  # fmt: skip


def test_errors_and_zone_transfers_are_left_alone() -> None:
    """Only NOERROR replies are reordered (and never AXFR/IXFR), as on the full path."""
    wb = WireBalance(Policy(shuffle=reverse))
    for qtype, rcode in (("A", dns.rcode.SERVFAIL), ("AXFR", dns.rcode.NOERROR)):
        q = wire_query("example.org.", qtype)
        reply = reply_bytes(q, Entry(answer=A3, rcode=rcode))
        assert reply is not None
        before = bytes(reply)
        wb.apply(q, reply, rcode)
        assert bytes(reply) == before


def test_weighted_takes_the_full_path() -> None:
    """The weighted policy needs the full path: wire_pass is False; round robin says True."""
    weighted = LoadBalance(policy=Policy(weights=WeightFile("/nonexistent")))
    assert not weighted.wire_pass(wire_query("example.org.", "A"))
    assert LoadBalance().wire_pass(wire_query("example.org.", "A"))


def test_a_malformed_reply_is_left_as_it_is() -> None:
    """Bytes that do not parse are not touched (and nothing is raised)."""
    q = wire_query("example.org.", "A")
    reply = reply_bytes(q, Entry(answer=A3))
    assert reply is not None
    cut = bytearray(reply[:-3])
    WireBalance(Policy(shuffle=reverse)).apply(q, cut, 0)
    assert cut == reply[:-3]


def test_a_set_whose_owner_is_written_two_ways_is_one_set() -> None:
    """Records of one set are recognised by their decoded owner, compressed or not, and shuffled together."""
    q = wire_query("example.org.", "A")
    header = bytes(q.wire[:2]) + b"\x81\x80\x00\x01\x00\x02\x00\x00\x00\x00"
    question = bytes(q.wire[12 : q.qend])
    pointer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x0a\x00\x00\x01"
    full_name = b"\x07example\x03org\x00\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x0a\x00\x00\x02"
    reply = bytearray(header + question + pointer + full_name)
    want = Policy(shuffle=reverse).apply(dns.message.from_wire(bytes(reply)))
    WireBalance(Policy(shuffle=reverse)).apply(q, reply, 0)
    assert records(dns.message.from_wire(bytes(reply))) == records(want)
    assert [str(rd) for rd in want.answer[0]] == ["10.0.0.2", "10.0.0.1"]
