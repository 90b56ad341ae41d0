"""A reply renderer for the common record types, several times faster than dnspython's Renderer.

Name compression keys on the lower-cased wire form of each suffix (plain bytes) instead of building a
``dns.name.Name`` per suffix. Only types whose wire form is known here are rendered; anything else
(other types, relative names, empty or deleting sets) raises ``Unsupported`` and the caller uses
dnspython. Records keep their order within a set (no shuffling; *loadbalance* does that on purpose).
"""

from __future__ import annotations

import struct

import dns.exception
import dns.message
import dns.name
import dns.rdatatype

from kdns.pkg.wireformat import HEADER, QUESTION, RR, U16

_SOA = struct.Struct("!IIIII")

#: types whose rdata has no compressible name: their own ``to_wire`` bytes go as they are
PLAIN = frozenset(
    dns.rdatatype.RdataType.make(t) for t in ("A", "AAAA", "TXT", "SRV", "DS", "CAA", "SSHFP", "TLSA", "HINFO")
)
#: types whose rdata is one compressible name
TARGET = frozenset(dns.rdatatype.RdataType.make(t) for t in ("CNAME", "NS", "PTR"))
MX = dns.rdatatype.MX
SOA = dns.rdatatype.SOA


class Unsupported(Exception):
    """The message holds something this renderer does not do; use dnspython's."""


class _Writer:
    __slots__ = ("comp", "out")

    def __init__(self) -> None:
        self.out = bytearray(12)
        #: lower-cased wire suffix -> offset where it was written
        self.comp: dict[bytes, int] = {}

    def name(self, name: dns.name.Name) -> None:
        if not name.is_absolute():
            raise Unsupported("relative name")
        ow = name.to_wire()
        assert ow is not None
        lw = ow.lower()  # length octets are < 64, so only letters change
        comp = self.comp
        out = self.out
        base = len(out)
        pos = 0
        ptr = None
        while lw[pos]:
            ptr = comp.get(lw[pos:])
            if ptr is not None:
                break
            pos += lw[pos] + 1
        p = 0
        while p < pos:  # remember where each new suffix starts
            if base + p < 0x4000:
                comp[lw[p:]] = base + p
            p += lw[p] + 1
        if ptr is None:
            out += ow
        else:
            out += ow[:pos]
            out += U16.pack(0xC000 | ptr)


def render(msg: dns.message.Message, flags: int, size: int) -> bytearray:
    """The wire form of ``msg`` with header ``flags``, no OPT; TooBig beyond ``size`` octets."""
    w = _Writer()
    out = w.out
    for q in msg.question:
        w.name(q.name)
        out += QUESTION.pack(q.rdtype, q.rdclass)
    counts = [len(msg.question)]
    for section in (msg.answer, msg.authority, msg.additional):
        n = 0
        for rrset in section:
            if not rrset or rrset.deleting is not None:
                raise Unsupported("empty or deleting set")
            rdtype = rrset.rdtype
            plain = rdtype in PLAIN
            if not plain and rdtype not in TARGET and rdtype != MX and rdtype != SOA:
                raise Unsupported(f"type {rdtype}")
            head = (rdtype, rrset.rdclass, rrset.ttl)
            for rd in rrset:
                w.name(rrset.name)
                start = len(out)
                out += RR.pack(*head, 0)
                if plain:
                    out += rd.to_wire()
                elif rdtype == MX:
                    out += U16.pack(rd.preference)
                    w.name(rd.exchange)
                elif rdtype == SOA:
                    w.name(rd.mname)
                    w.name(rd.rname)
                    out += _SOA.pack(rd.serial, rd.refresh, rd.retry, rd.expire, rd.minimum)
                else:
                    w.name(rd.target)
                rdlen = len(out) - start - 10
                out[start + 8 : start + 10] = U16.pack(rdlen)
            n += len(rrset)
        counts.append(n)
    if len(out) > size:
        raise dns.exception.TooBig
    out[:12] = HEADER.pack(msg.id, flags, *counts)
    return out
