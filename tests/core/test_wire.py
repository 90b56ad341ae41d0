"""Wire helpers without sockets: prechecks, header-only replies, OPT mirroring and truncation."""

from __future__ import annotations

import struct

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kdns.core.wire import finalize, header_reply, parse_query, precheck
from kdns.request import Request
from kdns.testing import rr


def query(**kw: object) -> dns.message.Message:
    q = dns.message.make_query("example.org.", "A", **kw)  # type: ignore[arg-type]
    q.id = 4660
    return q


def header(flags: int = 0x0100, qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return struct.pack("!HHHHHH", 4660, flags, qd, an, ns, ar)


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (query().to_wire(), None),
        (query(use_edns=0).to_wire(), None),
        (b"\x00" * 11, -1),
        (header(flags=0x8000), -1),  # a response: dropped
        (header(qd=0), dns.rcode.FORMERR),
        (header(qd=2), dns.rcode.FORMERR),
        (header(an=2), dns.rcode.FORMERR),
        (header(ns=2), dns.rcode.FORMERR),
        (header(ar=3), dns.rcode.FORMERR),
        (header(flags=dns.opcode.to_flags(dns.opcode.NOTIFY)), None),
        (header(flags=dns.opcode.to_flags(dns.opcode.UPDATE)), dns.rcode.NOTIMP),
        (header(flags=dns.opcode.to_flags(dns.opcode.STATUS), qd=0), dns.rcode.NOTIMP),  # opcode checked first
    ],
)
def test_precheck(wire: bytes, expected: int | None) -> None:
    """What the server refuses before parsing: drop (-1), FORMERR for odd counts, NOTIMP for opcodes."""
    assert precheck(wire) == expected


def test_header_reply_keeps_id_opcode_rd() -> None:
    """A header-only reply keeps ID, opcode, RD and CD, sets QR and the rcode, and has no records."""
    flags = dns.opcode.to_flags(dns.opcode.NOTIFY) | dns.flags.RD | dns.flags.CD
    out = header_reply(header(flags=flags) + b"junk", dns.rcode.FORMERR)
    assert out is not None
    m = dns.message.from_wire(out)
    assert m.id == 4660
    assert m.opcode() == dns.opcode.NOTIFY
    assert m.flags & (dns.flags.QR | dns.flags.RD | dns.flags.CD) == dns.flags.QR | dns.flags.RD | dns.flags.CD
    assert m.rcode() == dns.rcode.FORMERR
    assert not m.question


def test_header_reply_drops_responses_and_runts() -> None:
    """No reply to a response or to fewer than 12 bytes."""
    assert header_reply(header(flags=0x8000), dns.rcode.FORMERR) is None
    assert header_reply(b"\x00" * 5, dns.rcode.FORMERR) is None


def reply_with(q: dns.message.Message, n: int, section: str = "answer") -> dns.message.Message:
    r = dns.message.make_response(q)
    r.use_edns(-1)  # the server mirrors OPT itself
    if not n:
        return r
    rrset = dns.rrset.RRset(q.question[0].name, dns.rdataclass.IN, dns.rdatatype.TXT)
    for i in range(n):
        rrset.add(dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [b"x" * 40 + str(i).encode()]))
    getattr(r, section).append(rrset)
    return r


def test_opt_mirrors_query() -> None:
    """The reply's OPT has version 0, the query's size and DO; the query's options are not echoed."""
    q = query(use_edns=0, payload=1400, want_dnssec=True, options=[dns.edns.GenericOption(10, b"12345678")])
    out = dns.message.from_wire(finalize(Request(q), reply_with(q, 1)))
    assert out.edns == 0
    assert out.payload == 1400
    assert out.ednsflags & dns.flags.DO
    assert out.options == ()


def test_no_opt_without_edns() -> None:
    """Without EDNS in the query, no OPT in the reply even when the plugin added one."""
    q = query()
    r = reply_with(q, 1)
    r.use_edns(0, payload=4096)
    out = dns.message.from_wire(finalize(Request(q), r))
    assert out.edns == -1


def test_finalize_does_not_change_message() -> None:
    """The message handed in (maybe a plugin's stored copy) is left as it was."""
    q = query(use_edns=0)
    r = reply_with(q, 50)
    before = r.to_text()
    finalize(Request(q), r)
    assert r.to_text() == before


@pytest.mark.parametrize("section", ["answer", "authority", "additional"])
def test_truncation_keeps_whole_records(section: str) -> None:
    """A set that does not fit is cut record by record, TC set, and the OPT is kept."""
    q = query(use_edns=0, payload=1232)
    r = reply_with(q, 60, section)
    wire = finalize(Request(q, proto="udp"), r)
    out = dns.message.from_wire(wire)
    assert out.flags & dns.flags.TC
    assert len(wire) <= 1232
    kept = getattr(out, section)[0]
    assert 0 < len(kept) < 60
    assert len(wire) + 56 > 1232  # one more 43-octet TXT record (plus overhead) would not fit
    assert out.edns == 0


def test_truncation_stops_at_first_record_that_does_not_fit() -> None:
    """Records after the first one cut are dropped too, even a small one that would fit (as CoreDNS)."""
    q = query()
    r = reply_with(q, 20)
    r.additional.append(rr("example.org. 300 IN A 10.0.0.1"))
    out = dns.message.from_wire(finalize(Request(q), r))
    assert out.flags & dns.flags.TC
    assert not out.additional


def test_tcp_size_is_64k() -> None:
    """Over TCP the limit is 65535 bytes whatever the EDNS size."""
    q = query(use_edns=0, payload=512)
    wire = finalize(Request(q, proto="tcp"), reply_with(q, 60))
    assert not dns.message.from_wire(wire).flags & dns.flags.TC
    assert len(wire) > 512


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(0, 120),
    payload=st.one_of(st.none(), st.integers(0, 65535)),
    proto=st.sampled_from(["udp", "tcp"]),
)
def test_finalize_always_fits(n: int, payload: int | None, proto: str) -> None:
    """Whatever the answer size, the reply fits the client's limit, parses, and has TC exactly when records were cut."""
    q = query(use_edns=payload is not None, payload=payload or 0)
    req = Request(q, proto=proto)
    wire = finalize(req, reply_with(q, n))
    out = dns.message.from_wire(wire)
    assert len(wire) <= req.size
    kept = len(out.answer[0]) if out.answer else 0
    assert bool(out.flags & dns.flags.TC) == (kept < n)
    assert (out.edns == 0) == (payload is not None)


@st.composite
def query_wires(draw: st.DrawFn) -> bytes:
    """Queries of many shapes (EDNS, options, odd classes), sometimes with random byte edits or cuts."""
    name = draw(st.from_regex(r"\A([A-Za-z0-9-]{1,20}\.){1,4}\Z"))
    q = dns.message.make_query(name, draw(st.sampled_from(["A", "AAAA", "TXT", "DS", "TYPE65000"])))
    q.id = draw(st.integers(0, 65535))
    edns = draw(st.sampled_from([None, 0, 1]))
    if edns is not None:
        opts = draw(st.lists(st.binary(max_size=12).map(lambda b: dns.edns.GenericOption(65001, b)), max_size=2))
        flags = draw(st.sampled_from([0, dns.flags.DO]))
        q.use_edns(edns, ednsflags=flags, payload=draw(st.integers(0, 65535)), options=opts)
    wire = bytearray(q.to_wire())
    for _ in range(draw(st.integers(0, 3))):
        wire[draw(st.integers(0, len(wire) - 1))] = draw(st.integers(0, 255))
    return bytes(wire[: draw(st.integers(12, len(wire)))]) + draw(st.binary(max_size=4))


@settings(max_examples=300, deadline=None)
@given(wire=query_wires())
def test_parse_query_matches_from_wire(wire: bytes) -> None:
    """The fast query parser gives what dnspython's from_wire gives, or fails the same way."""
    try:
        want = dns.message.from_wire(wire)
    except Exception as e:
        with pytest.raises(type(e)):
            parse_query(wire)
        return
    got = parse_query(wire)
    assert type(got) is type(want)
    assert got == want
    assert (got.id, got.flags, got.edns, got.ednsflags, got.payload, got.options) == (
        want.id,
        want.flags,
        want.edns,
        want.ednsflags,
        want.payload,
        want.options,
    )
    assert got.question[0].name.to_text() == want.question[0].name.to_text()  # case kept
    assert got.to_wire() == want.to_wire()
