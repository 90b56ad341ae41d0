"""parse_reply gives exactly what dns.message.from_wire gives, for usual and odd replies alike."""

from __future__ import annotations

import struct

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rrset
import pytest

from kdns.plugins.forward import reply as reply_mod
from kdns.plugins.forward.reply import parse_reply


def reply(qname: str, qtype: str, *rrs: tuple[str, str], edns: bool = True, **kw: object) -> dns.message.Message:
    """A response to ``qname qtype`` with RRs ('section', 'zone-file text') added in order."""
    q = dns.message.make_query(qname, qtype, use_edns=0 if edns else False, **kw)  # type: ignore[arg-type]
    r = dns.message.make_response(q)
    for section, text in rrs:
        rrset = dns.rrset.from_text(*text.split(maxsplit=4))
        getattr(r, section).append(rrset)
    return r


def same(wire: bytes) -> None:
    a, b = parse_reply(wire), dns.message.from_wire(wire)
    assert a == b
    assert a.to_text() == b.to_text()
    assert [[(s.name, s.rdclass, s.rdtype, s.covers, s.ttl, list(s)) for s in sec] for sec in a.sections] == [
        [(s.name, s.rdclass, s.rdtype, s.covers, s.ttl, list(s)) for s in sec] for sec in b.sections
    ]
    assert (a.id, a.flags, a.rcode(), a.edns, a.ednsflags, a.payload, a.options) == (
        b.id,
        b.flags,
        b.rcode(),
        b.edns,
        b.ednsflags,
        b.payload,
        b.options,
    )


CASES = {
    "a": reply("www.example.org.", "A", ("answer", "www.example.org. 300 IN A 192.0.2.1")),
    "no-edns": reply("www.example.org.", "A", ("answer", "www.example.org. 300 IN A 192.0.2.1"), edns=False),
    "mixed-case": reply("WwW.ExAmple.ORG.", "A", ("answer", "WwW.ExAmple.ORG. 300 IN A 192.0.2.1")),
    "a-many": reply(
        "www.example.org.",
        "A",
        *(("answer", f"www.example.org. 300 IN A 192.0.2.{i}") for i in range(1, 30)),
    ),
    "cname-chain": reply(
        "www.example.org.",
        "A",
        ("answer", "www.example.org. 60 IN CNAME web.example.net."),
        ("answer", "web.example.net. 60 IN CNAME edge.cdn.example."),
        ("answer", "edge.cdn.example. 20 IN A 198.51.100.7"),
    ),
    "nxdomain-soa": reply(
        "nope.example.org.",
        "A",
        ("authority", "example.org. 3600 IN SOA ns1.example.org. host.example.org. 1 7200 3600 1209600 300"),
    ),
    "mx-glue": reply(
        "example.org.",
        "MX",
        ("answer", "example.org. 300 IN MX 10 mail.example.org."),
        ("answer", "example.org. 300 IN MX 20 mail2.example.org."),
        ("authority", "example.org. 300 IN NS ns1.example.org."),
        ("additional", "mail.example.org. 300 IN A 192.0.2.25"),
        ("additional", "mail.example.org. 300 IN AAAA 2001:db8::25"),
    ),
    "types": reply(
        "t.example.org.",
        "ANY",
        ("answer", 't.example.org. 60 IN TXT "hello" "world"'),
        ("answer", "t.example.org. 60 IN SRV 0 5 5060 sip.example.org."),
        ("answer", 't.example.org. 60 IN CAA 0 issue "ca.example"'),
        ("answer", "t.example.org. 60 IN DS 12345 13 2 " + "ab" * 32),
        ("answer", "t.example.org. 60 IN SSHFP 4 2 " + "cd" * 32),
        ("answer", "t.example.org. 60 IN PTR other.example."),
        ("answer", "t.example.org. 60 IN TYPE65280 \\# 3 abcdef"),
        ("answer", "t.example.org. 60 IN HTTPS 1 . alpn=h2"),
    ),
    "rrsig-covers": reply(
        "s.example.org.",
        "A",
        ("answer", "s.example.org. 60 IN A 192.0.2.9"),
        ("answer", "s.example.org. 60 IN RRSIG A 13 3 60 20300101000000 20200101000000 1 example.org. AAAA"),
        ("answer", "s.example.org. 60 IN RRSIG AAAA 13 3 60 20300101000000 20200101000000 1 example.org. AAAA"),
    ),
    "interleaved-merge": reply(
        "m.example.org.",
        "A",
        ("answer", "m.example.org. 60 IN A 192.0.2.1"),
        ("answer", "m.example.org. 60 IN AAAA 2001:db8::1"),
        ("answer", "m.example.org. 30 IN A 192.0.2.2"),
    ),
    "ch-txt": reply("version.bind.", "TXT", ("answer", 'version.bind. 0 CH TXT "kdns"')),
    "do-bit": reply(
        "www.example.org.", "A", ("answer", "www.example.org. 300 IN A 192.0.2.1"), want_dnssec=True, payload=1232
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_same_as_from_wire(name: str) -> None:
    """The reply parses to the very message dnspython's parser gives (sections, TTLs, EDNS, flags)."""
    same(CASES[name].to_wire())


def test_same_twice_from_cache() -> None:
    """A second parse of the same bytes (names, rdata and OPT from the caches) still equals from_wire."""
    wire = CASES["mx-glue"].to_wire()
    same(wire)
    same(wire)


def test_edns_options_and_extended_rcode() -> None:
    """An OPT with options and an extended rcode (BADCOOKIE) comes through as from_wire has it."""
    r = CASES["a"]
    r2 = dns.message.make_response(dns.message.make_query("www.example.org.", "A"))
    r2.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(10, b"\x01" * 16), dns.edns.ECSOption("192.0.2.0", 24)])
    r2.set_rcode(dns.rcode.BADCOOKIE)
    r2.answer = list(r.answer)
    same(r2.to_wire())


def test_duplicate_records_merged_and_smallest_ttl() -> None:
    """Duplicated records collapse into one; an RRset's TTL is the smallest seen; huge TTLs become 0."""
    r = reply(
        "d.example.org.",
        "A",
        ("answer", "d.example.org. 300 IN A 192.0.2.1"),
        ("answer", "d.example.org. 100 IN A 192.0.2.1"),
        ("answer", "d.example.org. 200 IN A 192.0.2.2"),
    )
    same(r.to_wire(max_size=65535))
    wire = bytearray(CASES["a"].to_wire())
    at = wire.index(bytes([192, 0, 2, 1])) - 6  # the A record's TTL
    struct.pack_into("!I", wire, at, 0x80000001)
    same(bytes(wire))
    assert parse_reply(bytes(wire)).answer[0].ttl == 0


def test_other_opcode_and_no_question_fall_back() -> None:
    """A NOTIFY reply and a reply without question are parsed by dnspython, with the same result."""
    r = dns.message.make_response(dns.message.make_query("example.org.", "SOA"))
    r.set_opcode(dns.opcode.NOTIFY)
    same(r.to_wire())
    r = dns.message.Message(id=7)
    r.flags = dns.flags.QR
    r.set_rcode(dns.rcode.FORMERR)
    same(r.to_wire())


@pytest.mark.parametrize("cut", ["trailing", "short", "forward-pointer", "loop"])
def test_bad_wire_raises_like_from_wire(cut: str) -> None:
    """Trailing bytes, a cut-off record, a forward or looping pointer raise what from_wire raises."""
    wire = bytearray(CASES["a"].to_wire())
    if cut == "trailing":
        wire += b"\x00"
    elif cut == "short":
        del wire[-15:]
    else:
        start = 12 + len(b"\x03www\x07example\x03org\x00") + 4  # the answer's owner name
        target = len(wire) - 2 if cut == "forward-pointer" else start
        wire[start : start + 2] = bytes([0xC0 | (target >> 8), target & 0xFF])
    with pytest.raises(Exception) as want:  # noqa: PT011 - whatever dnspython raises
        dns.message.from_wire(bytes(wire))
    with pytest.raises(type(want.value)):
        parse_reply(bytes(wire))


def test_caches_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """More distinct names and records than the caches hold: the oldest are dropped, results stay right."""
    monkeypatch.setattr(reply_mod, "_CACHE_MAX", 16)
    monkeypatch.setattr(reply_mod, "_names", {})
    monkeypatch.setattr(reply_mod, "_rdatas", {})
    for i in range(40):
        same(reply(f"n{i}.example.", "A", ("answer", f"n{i}.example. 60 IN A 10.0.0.{i}")).to_wire())
    assert len(reply_mod._names) <= 16
    assert len(reply_mod._rdatas) <= 16
