"""Wire entries: TTL offsets found by walking the rendered reply, and the per-query patch."""

from __future__ import annotations

import struct

import dns.flags
import dns.message
import dns.rcode

from kdns.plugins.cache.entry import key_of, layout, make_entry, to_wire
from kdns.testing import rr


def response() -> dns.message.Message:
    m = dns.message.make_response(dns.message.make_query("Example.ORG.", "MX"))
    m.flags |= dns.flags.RA | dns.flags.AD
    m.answer = [rr("example.org. 300 IN MX 10 mail.example.org."), rr("example.org. 300 IN MX 20 mx2.example.org.")]
    m.authority = [rr("example.org. 300 IN NS ns.example.org.")]
    m.additional = [rr("mail.example.org. 300 IN A 10.0.0.1"), rr("mail.example.org. 300 IN AAAA ::1")]
    return m


def test_layout_finds_every_ttl() -> None:
    """Every RR's TTL offset is found (compressed names included) and holds the RR's TTL."""
    data = to_wire(response())
    qend, ttls = layout(data)
    assert qend == 12 + len(b"\x07Example\x03ORG\x00") + 4
    assert len(ttls) == 5
    assert all(struct.unpack_from("!I", data, off)[0] == 300 for off in ttls)


def test_layout_rejects_bytes_that_do_not_match_the_counts() -> None:
    """A message whose counts promise more than its bytes hold is not accepted."""
    data = bytearray(to_wire(response()))
    for bad in (bytes(data[:-3]), bytes(data[:6]) + b"\x00\x09" + bytes(data[8:])):
        try:
            layout(bad)
        except ValueError:
            continue
        raise AssertionError("layout accepted a malformed message")


def test_reply_patches_id_flags_question_and_ttls() -> None:
    """ID and RD/CD come from the query, AA is set, AD only when allowed, the question as asked, one TTL."""
    stored = response()
    e = make_entry(stored, "success", 0.0, 300)
    q = dns.message.make_query("eXAMPLE.org.", "MX")
    q.flags |= dns.flags.CD
    question = q.to_wire()[12:]
    out = e.reply(0x1234, q.flags, question, 42, ad_ok=False)
    m = dns.message.from_wire(bytes(out))
    assert m.id == 0x1234
    assert m.flags & (dns.flags.QR | dns.flags.AA | dns.flags.RD | dns.flags.CD | dns.flags.RA) == (
        dns.flags.QR | dns.flags.AA | dns.flags.RD | dns.flags.CD | dns.flags.RA
    )
    assert not m.flags & dns.flags.AD
    assert bytes(out[12 : e.qend]) == question
    assert m.question[0].name.to_text() == "eXAMPLE.org."
    assert {r.ttl for s in (m.answer, m.authority, m.additional) for r in s} == {42}
    assert dns.message.from_wire(bytes(e.reply(1, q.flags, question, 42, ad_ok=True))).flags & dns.flags.AD
    assert e.wire == to_wire(stored)  # the stored bytes are untouched


def test_rcode_is_kept() -> None:
    """A cached NXDOMAIN is served as NXDOMAIN."""
    m = dns.message.make_response(dns.message.make_query("nx.example.org.", "A"))
    m.set_rcode(dns.rcode.NXDOMAIN)
    m.authority = [rr("example.org. 60 IN SOA ns. host. 1 2 3 4 60")]
    e = make_entry(m, "denial", 0.0, 60)
    assert dns.message.from_wire(bytes(e.reply(7, 0x0100, to_wire(m)[12 : e.qend], 60, False))).rcode() == 3


def test_key_lowercases_the_name() -> None:
    """The key is the lower-cased wire name with type, class, DO and CD."""
    q = dns.message.make_query("WWW.Example.ORG.", "AAAA")
    assert key_of(q.question[0].name, 28, 1, True, False) == (b"\x03www\x07example\x03org\x00", 28, 1, True, False)
