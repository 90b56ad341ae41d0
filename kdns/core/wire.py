"""Wire-level helpers: cheap header checks, error replies from raw bytes, and reply scrubbing."""

from __future__ import annotations

import struct

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.renderer
import dns.rrset

from kdns.core.render import Unsupported, render
from kdns.pkg.wireformat import HEADER, QR, QUESTION, RR, U16
from kdns.request import Request

#: errors dnspython raises on malformed messages (besides its own DNSException tree)
PARSE_ERRORS = (dns.exception.DNSException, ValueError, IndexError, UnicodeError, struct.error)


#: question names and OPT records seen recently, by their wire bytes (both immutable in use)
_names: dict[bytes, dns.name.Name] = {}
_opts: dict[bytes, dns.rrset.RRset] = {}
_CACHE_MAX = 4096
#: OPT records with more option bytes than this (padding, big cookies) are parsed each time
_OPT_MAX = 64


def parse_query(wire: bytes) -> dns.message.Message:
    """``dns.message.from_wire`` for the usual query (one question, maybe an OPT), several times faster.

    The question name and the OPT record are looked up by their bytes instead of parsed again. Any
    other shape, and anything odd, goes through dnspython's full parser, so the result and the
    errors raised are those of ``from_wire``.
    """
    qid, flags, qd, an, ns, ar = HEADER.unpack_from(wire)
    if qd != 1 or an or ns or ar > 1 or flags & 0x7800:  # not a plain QUERY
        return dns.message.from_wire(wire)
    try:
        end = 12
        while (n := wire[end]) != 0:
            if n > 63:  # a pointer or a reserved label type: let dnspython judge
                return dns.message.from_wire(wire)
            end += n + 1
        end += 1
        key = wire[12:end]
        name = _names.get(key)
        if name is None:
            name = dns.name.from_wire(wire, 12)[0]
            if len(_names) >= _CACHE_MAX:
                _names.clear()
            _names[key] = name
        rdtype, rdclass = QUESTION.unpack_from(wire, end)
        off = end + 4
        opt = None
        if ar:
            if wire[off] != 0:
                return dns.message.from_wire(wire)
            otype, _, _, rdlen = RR.unpack_from(wire, off + 1)
            if otype != dns.rdatatype.OPT or off + 11 + rdlen != len(wire) or rdlen > _OPT_MAX:
                return dns.message.from_wire(wire)
            okey = wire[off:]
            opt = _opts.get(okey)
            if opt is None:
                opt = dns.message.from_wire(wire).opt
                assert opt is not None
                if len(_opts) >= _CACHE_MAX:
                    _opts.clear()
                _opts[okey] = opt
        elif off != len(wire):
            return dns.message.from_wire(wire)
    except PARSE_ERRORS:
        return dns.message.from_wire(wire)  # raises the error the full parser gives
    m = dns.message.QueryMessage(id=qid)
    m.flags = dns.flags.Flag(flags)
    m.wire = wire
    m.find_rrset(m.question, name, rdclass, rdtype, create=True, force_unique=True)
    m.opt = opt
    return m


def header_reply(wire: bytes, rcode: int) -> bytes | None:
    """A bare reply (header only) with ``rcode`` to a packet we cannot or will not parse.

    None when the packet is too short or is itself a response: those are dropped.
    """
    if len(wire) < 12:
        return None
    qid, flags = struct.unpack_from("!HH", wire)
    if flags & QR:
        return None
    # keep opcode, RD and CD; set QR; rcode in the low 4 bits
    out = QR | (flags & 0x7800) | (flags & 0x0100) | (flags & 0x0010) | (rcode & 0xF)
    return HEADER.pack(qid, out, 0, 0, 0, 0)


def precheck(wire: bytes) -> int | None:
    """Reject what CoreDNS's DNS library rejects before parsing; None when the packet may go on.

    Returns an rcode to answer with, or -1 to drop silently.
    """
    if len(wire) < 12:
        return -1
    _, flags, qd, an, ns, ar = HEADER.unpack_from(wire)
    if flags & QR:
        return -1
    opcode = (flags >> 11) & 0xF
    if opcode not in (dns.opcode.QUERY, dns.opcode.NOTIFY):
        return dns.rcode.NOTIMP
    if qd != 1 or an > 1 or ns > 1 or ar > 2:
        return dns.rcode.FORMERR
    return None


_OPT_HEADER = struct.Struct("!BHHIH")
_OPTION = struct.Struct("!HH")
_opt_wires: dict[tuple[int, int], bytes] = {}


def opt_wire(payload: int, ttl: int, options: tuple[dns.edns.Option, ...] = ()) -> bytes:
    """The OPT record's bytes: root owner, type 41, class = payload, TTL = ext. rcode/version/flags."""
    if options:
        data = b"".join(_OPTION.pack(o.otype, len(w)) + w for o in options for w in (o.to_wire() or b"",))
        return _OPT_HEADER.pack(0, dns.rdatatype.OPT, payload, ttl, len(data)) + data
    wire = _opt_wires.get((payload, ttl))
    if wire is None:
        if len(_opt_wires) >= _CACHE_MAX:
            _opt_wires.clear()
        wire = _opt_wires[(payload, ttl)] = _OPT_HEADER.pack(0, dns.rdatatype.OPT, payload, ttl, 0)
    return wire


def finalize(req: Request, msg: dns.message.Message) -> bytes:
    """Reply bytes for ``req``: OPT mirrored from the query, truncated to the client's size with TC.

    The OPT carries version 0, the query's UDP size (at least 512), the query's DO bit, the reply's
    extended rcode, and only options the reply itself holds. ``msg`` is not changed: it may belong
    to a plugin's store.
    """
    opt = b""
    query = req.msg
    if query.edns >= 0:
        ttl = (msg.ednsflags & 0xFF000000) | (dns.flags.DO if req.do else 0)
        opt = opt_wire(max(512, min(query.payload, 65535)), ttl, msg.options if msg.edns >= 0 else ())
    size = req.size - len(opt)
    try:
        out = render(msg, msg.flags, size)
    except Unsupported:
        try:
            out = bytearray(render_records(msg, msg.flags, size))
        except dns.exception.TooBig:
            out = bytearray(_truncate(msg, msg.flags | dns.flags.TC, size))
    except dns.exception.TooBig:
        out = bytearray(_truncate(msg, msg.flags | dns.flags.TC, size))
    if opt:
        out[10:12] = U16.pack(U16.unpack_from(out, 10)[0] + 1)
        out += opt
    return bytes(out)


def render_records(msg: dns.message.Message, flags: int, size: int) -> bytes:
    """dnspython's rendering (records in their order, no OPT) for what ``render`` does not handle;
    TooBig when it does not fit in ``size``."""
    r = dns.renderer.Renderer(msg.id, flags, size)
    _add_question(r, msg)
    for section, rrsets in _sections(msg):
        for rrset in rrsets:
            r.add_rrset(section, rrset, want_shuffle=False)
    r.write_header()
    return r.get_wire()


def _add_question(r: dns.renderer.Renderer, msg: dns.message.Message) -> None:
    for q in msg.question:
        r.add_question(q.name, q.rdtype, q.rdclass)


def _sections(msg: dns.message.Message) -> tuple[tuple[int, list[dns.rrset.RRset]], ...]:
    return (
        (dns.renderer.ANSWER, msg.answer),
        (dns.renderer.AUTHORITY, msg.authority),
        (dns.renderer.ADDITIONAL, msg.additional),
    )


def _truncate(msg: dns.message.Message, flags: int, size: int) -> bytes:
    """As many whole RRs as fit, in section order, stopping at the first that does not (as CoreDNS)."""
    r = dns.renderer.Renderer(msg.id, flags, size)
    try:
        _add_question(r, msg)
        for section, rrsets in _sections(msg):
            for rrset in rrsets:
                try:
                    r.add_rrset(section, rrset, want_shuffle=False)  # a set that does not fit is rolled back
                except dns.exception.TooBig:
                    for rd in rrset:
                        one = dns.rrset.RRset(rrset.name, rrset.rdclass, rrset.rdtype, rrset.covers)
                        one.add(rd, rrset.ttl)
                        r.add_rrset(section, one)
    except dns.exception.TooBig:
        pass
    r.write_header()
    return r.get_wire()
