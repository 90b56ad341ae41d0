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
import dns.rdtypes.ANY.OPT
import dns.renderer
import dns.rrset

from kdns.request import Request

HEADER = struct.Struct("!HHHHHH")
QR = 0x8000
TC = 0x0200


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


def make_opt(payload: int, flags: int, options: list[dns.edns.Option]) -> dns.rrset.RRset:
    """An OPT pseudo-RRset: class = UDP payload size, TTL = extended rcode/version/flags."""
    rrset = dns.rrset.RRset(dns.name.root, dns.rdataclass.RdataClass(payload), dns.rdatatype.OPT)
    rrset.update_ttl(flags)
    rrset.add(dns.rdtypes.ANY.OPT.OPT(payload, dns.rdatatype.OPT, options))
    return rrset


def finalize(req: Request, msg: dns.message.Message) -> bytes:
    """Reply bytes for ``req``: OPT mirrored from the query, truncated to the client's size with TC.

    ``msg`` is not changed: it may belong to a plugin's store.
    """
    opt = None
    rcode = msg.rcode()
    if req.msg.edns >= 0:
        options = list(msg.options) if msg.edns >= 0 else []
        flags = ((rcode >> 4) << 24) | (dns.flags.DO if req.do else 0)
        opt = make_opt(max(512, min(req.msg.payload, 65535)), flags, options)
    flags = (msg.flags & ~0xF) | (rcode & 0xF)
    try:
        return _render(msg, flags, opt, req.size, len(msg.answer), full=True)
    except dns.exception.TooBig:
        pass
    keep = len(msg.answer)
    while keep > 0:
        keep -= 1
        try:
            return _render(msg, flags | dns.flags.TC, opt, req.size, keep, full=False)
        except dns.exception.TooBig:
            continue
    return HEADER.pack(msg.id, (flags | dns.flags.TC) & 0xFFFF, 0, 0, 0, 0)


def _render(
    msg: dns.message.Message, flags: int, opt: dns.rrset.RRset | None, size: int, answers: int, *, full: bool
) -> bytes:
    r = dns.renderer.Renderer(msg.id, flags, size)
    for q in msg.question:
        r.add_question(q.name, q.rdtype, q.rdclass)
    for rrset in msg.answer[:answers]:
        r.add_rrset(dns.renderer.ANSWER, rrset)
    if full:
        for rrset in msg.authority:
            r.add_rrset(dns.renderer.AUTHORITY, rrset)
        for rrset in msg.additional:
            r.add_rrset(dns.renderer.ADDITIONAL, rrset)
    if opt is not None:
        r.add_opt(opt)
    r.write_header()
    return r.get_wire()
