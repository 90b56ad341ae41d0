"""Cached replies as wire bytes: the reply without OPT, the offset of every RR's TTL, and the cache key.

A hit copies the bytes and patches them for the query at hand: ID and flags in the header, the
client's question over the stored one (same name, maybe another case), one TTL at every offset,
and an OPT record when the query had EDNS. No dnspython object is built.
"""

from __future__ import annotations

import asyncio
import struct
from typing import final

import dns.message
import dns.name
import dns.renderer

from kdns.core.render import Unsupported, render
from kdns.core.wire import render_records
from kdns.pkg.wireformat import AA, AD, CD, HEADER, MAX_WIRE, OPCODE, QR, RA, RD, RR, U32
from kdns.pkg.wirerecords import skip_name

#: (lower-cased question name in wire form, qtype, qclass, DO, CD)
Key = tuple[bytes, int, int, bool, bool]

_FLAGS = struct.Struct("!HH")


def key_of(name: dns.name.Name, qtype: int, qclass: int, do: bool, cd: bool) -> Key:
    """The key of a question; the name's wire form lower-cased, as ``WireQuery.qkey``."""
    wire = name.to_wire()
    assert wire is not None
    return (wire.lower(), qtype, qclass, do, cd)


@final
class Entry:
    """One cached reply and its bookkeeping (stored time, duration, popularity, refresh in flight)."""

    __slots__ = (
        "arcount",
        "dead",
        "duration",
        "failed",
        "flags",
        "hits",
        "kind",
        "last",
        "patched",
        "patched_ttl",
        "positive",
        "qend",
        "rcode",
        "refresh",
        "stored",
        "ttls",
        "wire",
    )

    def __init__(self, wire: bytes, ttls: tuple[int, ...], qend: int, kind: str, stored: float, duration: int) -> None:
        self.wire = wire
        #: offsets of the TTL field of every RR
        self.ttls = ttls
        #: offset just after the question section
        self.qend = qend
        _, self.flags, _, _, _, self.arcount = HEADER.unpack_from(wire)
        self.rcode = self.flags & 0xF
        #: "success" or "denial"
        self.kind = kind
        self.stored = stored
        #: seconds the entry is fresh for (the TTL it was stored with)
        self.duration = duration
        #: prefetch popularity: hits with no gap of the prefetch window, and the last hit's time
        self.hits = 0
        self.last = float("-inf")
        #: the background refresh in flight for this entry (one at a time), if any
        self.refresh: asyncio.Task[None] | None = None
        #: set when the entry is replaced, evicted or removed (a repeat of its reply must not be sent)
        self.dead = False
        #: a success entry whose answer answers the question (serve_stale_policy prefer_positive)
        self.positive = False
        #: when the last refresh of this entry failed (serve_stale's failure recheck)
        self.failed = float("-inf")
        #: ``wire`` with every TTL set to ``patched_ttl``, made at the first hit of that TTL
        self.patched: bytes | None = None
        self.patched_ttl = -1

    def remaining(self, now: float) -> int:
        """Whole seconds of TTL left at ``now`` (zero or negative once expired)."""
        return self.duration - int(now - self.stored)

    def reply(self, qid: int, qflags: int, question: bytes, ttl: int, ad_ok: bool) -> bytearray:
        """The reply bytes for a query (no OPT): its ID, RD/CD/opcode, its question bytes, TTLs set to ``ttl``.

        AA is set (as CoreDNS does for cached replies); AD is kept only when ``ad_ok`` (the query
        had DO or AD); RA and the rcode come from the stored reply.
        """
        if ttl == self.patched_ttl and self.patched is not None:
            out = bytearray(self.patched)
        else:
            out = bytearray(self.wire)
            if self.ttls:
                t = U32.pack(ttl)
                for off in self.ttls:
                    out[off : off + 4] = t
            self.patched = bytes(out)
            self.patched_ttl = ttl
        stored = self.flags
        flags = QR | AA | (qflags & (OPCODE | RD | CD)) | (stored & (RA | 0xF))
        if ad_ok:
            flags |= stored & AD
        _FLAGS.pack_into(out, 0, qid, flags)
        out[12 : self.qend] = question
        return out


def to_wire(msg: dns.message.Message) -> bytes:
    """``msg`` rendered without OPT or truncation, records in their order (kdns's renderer, else dnspython's)."""
    try:
        return bytes(render(msg, msg.flags, MAX_WIRE))
    except Unsupported:
        return render_records(msg, msg.flags, MAX_WIRE)


def layout(wire: bytes) -> tuple[int, tuple[int, ...]]:
    """(end of the question section, offsets of every RR's TTL) of a rendered message.

    ValueError when the bytes do not hold what the header counts say.
    """
    try:
        _, _, qd, an, ns, ar = HEADER.unpack_from(wire)
        off = 12
        for _ in range(qd):
            off = skip_name(wire, off) + 4
        qend = off
        ttls = []
        for _ in range(an + ns + ar):
            off = skip_name(wire, off)
            _, _, _, rdlen = RR.unpack_from(wire, off)
            ttls.append(off + 4)
            off += 10 + rdlen
    except (IndexError, struct.error) as e:
        raise ValueError("malformed message") from e
    if off != len(wire) or qend > len(wire):
        raise ValueError("malformed message")
    return qend, tuple(ttls)


def make_entry(msg: dns.message.Message, kind: str, stored: float, duration: int) -> Entry:
    """An Entry for ``msg`` (OPT left out: it is hop-by-hop)."""
    wire = to_wire(msg)
    qend, ttls = layout(wire)
    return Entry(wire, ttls, qend, kind, stored, duration)


def question_wire(msg: dns.message.Message) -> bytes:
    """The question section of a query as it came, for patching into a reply."""
    q = msg.question[0]
    wire = q.name.to_wire()
    assert wire is not None
    return wire + _FLAGS.pack(q.rdtype, q.rdclass)


__all__ = ["Entry", "Key", "key_of", "layout", "make_entry", "question_wire", "to_wire"]
