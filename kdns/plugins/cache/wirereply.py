"""The cache's verdict on an upstream reply read from its bytes, for the wire-level miss path.

``split`` reads the reply once: it checks it the way ``dns.message.from_wire`` would, cuts off the
OPT record (hop-by-hop) and notes what ``verdict`` needs. ``verdict`` then gives exactly what
``Store.verdict`` gives for ``dns.message.from_wire(data)``. No dnspython object is built.

Where dnspython merges records into RRsets the result is reproduced from the records: an RRset's
TTL is the smallest of its records' (a TTL over 2**31-1 counts as 0), and of a singleton type
(CNAME, SOA) only the last record of an owner and class is kept, so only that one's CNAME target
or SOA MINIMUM counts. Anything unusual gives None and the caller takes the dnspython path.
"""

from __future__ import annotations

import struct
import time
from typing import final

import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from kdns.pkg import response
from kdns.pkg.response import reply_type, sig_valid
from kdns.pkg.wireformat import HEADER, OPCODE, OPT, QUESTION, RR, TC, U16, U32
from kdns.pkg.wirerecords import ERRORS
from kdns.plugins.cache.store import EMPTY_TTL, Options, Verdict, chain_end, decide

_A = int(dns.rdatatype.A)
_AAAA = int(dns.rdatatype.AAAA)
_CNAME = int(dns.rdatatype.CNAME)
_SOA = int(dns.rdatatype.SOA)
_MX = int(dns.rdatatype.MX)
_TXT = int(dns.rdatatype.TXT)
_SPF = int(dns.rdatatype.SPF)
_RRSIG = int(dns.rdatatype.RRSIG)
_TSIG = int(dns.rdatatype.TSIG)
_ANY = int(dns.rdatatype.ANY)
_XFR = (int(dns.rdatatype.AXFR), int(dns.rdatatype.IXFR))
#: types whose rdata is one domain name
_NAME_ONLY = frozenset(int(dns.rdatatype.from_text(t)) for t in ("NS", "CNAME", "PTR", "DNAME"))
_IN = int(dns.rdataclass.IN)
_CLASS_ANY = int(dns.rdataclass.ANY)
_META_CLASSES = (int(dns.rdataclass.ANY), int(dns.rdataclass.NONE))
_NOERROR = int(dns.rcode.NOERROR)
_NOTIMP = int(dns.rcode.NOTIMP)
_UPDATE = int(dns.opcode.UPDATE)
_NOTIFY = int(dns.opcode.NOTIFY)
# the reply types as module constants: an enum member lookup costs more than the rest of a verdict
_NOERROR_T = response.Type.NOERROR
_NXDOMAIN_T = response.Type.NXDOMAIN
_NODATA_T = response.Type.NODATA
_META_T = response.Type.META
_UPDATE_T = response.Type.UPDATE
_OTHERERROR_T = response.Type.OTHERERROR
#: dnspython's limits on a compressed name (``dns.name.MAX_COMPRESSION_POINTER_CHAIN``)
_MAX_HOPS = 16
_MAX_NAME = 255
#: RRSIG rdata: type covered, algorithm, labels, original TTL, then expiration and inception
_SIG_TIMES = 8
_SIG_FIXED = 18
_TIMES = struct.Struct("!II")

#: names read so far, by the offset of the field they start: (lower-cased wire form, pointer hops)
_Names = dict[int, tuple[bytes, int]]
#: an answer record: owner, type, class, and a CNAME's target (else b"")
_Answer = tuple[bytes, int, int, bytes]


@final
class Split:
    """A reply cut for the cache: its bytes without OPT, the TTL offsets, and what ``verdict`` reads."""

    __slots__ = (
        "answer",
        "body",
        "flags",
        "has_opt",
        "low",
        "ns_types",
        "opt_ttl",
        "qclass",
        "qend",
        "qname",
        "qtype",
        "sigs",
        "soa",
        "ttls",
    )

    def __init__(
        self,
        body: bytes,
        qend: int,
        ttls: tuple[int, ...],
        opt_ttl: int,
        has_opt: bool,
        flags: int,
        question: tuple[bytes, int, int],
        answer: list[_Answer],
        ns_types: list[int],
        low: int | None,
        soa: dict[tuple[bytes, int], int],
        sigs: list[tuple[int, int]],
    ) -> None:
        #: the reply without its OPT record, ARCOUNT one less; all else byte-identical
        self.body = body
        #: offset just after the question section
        self.qend = qend
        #: offset of the TTL field of every RR of ``body``, in order (as ``entry.layout``)
        self.ttls = ttls
        #: the OPT record's TTL field (extended rcode, version, flags); 0 without OPT
        self.opt_ttl = opt_ttl
        self.has_opt = has_opt
        # -- what verdict reads --
        self.flags = flags
        #: the question: name (lower-cased wire form), type, class
        self.qname, self.qtype, self.qclass = question
        #: every answer record
        self.answer = answer
        #: the type of every authority record
        self.ns_types = ns_types
        #: the smallest TTL of all records (OPT aside), None without records
        self.low = low
        #: MINIMUM of the last SOA of each (owner, class) in the authority section (dnspython keeps that one)
        self.soa = soa
        #: (inception, expiration) of every RRSIG
        self.sigs = sigs


def split(data: bytes) -> Split | None:
    """``data`` cut for the cache, or None for anything unusual (the caller then uses dnspython).

    None for: not one question; an OPT that is not the last record, is not owned by a literal
    root, has options, or has extended-rcode or version bits set; a TSIG (dnspython refuses it
    without a key); an UPDATE that dnspython reads by its own rules; and what ``from_wire`` would
    reject among what is checked here: the counts, trailing bytes, every name and pointer, and
    the rdata of A, AAAA, NS, CNAME, PTR, DNAME, MX, SOA, TXT, SPF and RRSIG. Other rdata is taken
    as it is. Pointers must point backwards (dnspython's rule, checked), so none can point into
    the OPT record that is cut off.
    """
    try:
        return _split(data)
    except ERRORS:
        return None


def _split(data: bytes) -> Split | None:
    _, flags, qd, an, ns, ar = HEADER.unpack_from(data)
    if qd != 1:
        return None
    size = len(data)
    names: _Names = {}
    qname, off = _name(data, 12, size, names)
    qtype, qclass = QUESTION.unpack_from(data, off)
    off += 4
    qend = off
    update = (flags & OPCODE) >> 11 == _UPDATE
    if update and (qtype != _SOA or qclass in _META_CLASSES):
        return None  # dnspython rejects this zone section
    ttls: list[int] = []
    answer: list[_Answer] = []
    ns_types: list[int] = []
    soa: dict[tuple[bytes, int], int] = {}
    sigs: list[tuple[int, int]] = []
    low = -1
    opt_start = -1
    opt_ttl = 0
    auth = an + ns
    last = auth + ar - 1
    for i in range(last + 1):
        start = off
        n = data[off]
        if n == 0:
            owner = b"\x00"
            off += 1
        else:
            known = names.get(((n & 0x3F) << 8) | data[off + 1]) if n >= 0xC0 else None
            if known is not None and known[1] < _MAX_HOPS and ((n & 0x3F) << 8) | data[off + 1] < off:
                owner = known[0]  # a pointer to a name read before: the usual owner
                off += 2
            else:
                owner, off = _name(data, off, size, names)
        rtype, rclass, ttl, rdlen = RR.unpack_from(data, off)
        rdata = off + 10
        end = rdata + rdlen
        if end > size:
            return None
        if rtype == OPT:
            if i != last or i < auth or n != 0 or rdlen or ttl & 0xFFFF0000:
                return None
            opt_start, opt_ttl = start, ttl
            off = end
            break
        if rtype == _TSIG or (update and rclass in _META_CLASSES):  # dnspython: no key; a deletion
            return None
        if rtype == _A and rclass == _IN:
            if rdlen != 4:
                return None
            target = b""
        else:
            target = _rdata(data, rtype, rclass, rdata, end, names)
        ttls.append(off + 4)
        if ttl > 0x7FFFFFFF:
            ttl = 0  # as dnspython reads it
        if low < 0 or ttl < low:
            low = ttl
        if i < an:
            answer.append((owner, rtype, rclass, target))
        elif i < auth:
            ns_types.append(rtype)
            if rtype == _SOA:
                soa[(owner, rclass)] = U32.unpack_from(data, end - 4)[0]
        if rtype == _RRSIG:
            expiration, inception = _TIMES.unpack_from(data, rdata + _SIG_TIMES)
            sigs.append((inception, expiration))
        off = end
    if off != size:
        return None  # trailing bytes
    body = data if opt_start < 0 else data[:10] + U16.pack(ar - 1) + data[12:opt_start]
    return Split(
        body,
        qend,
        tuple(ttls),
        opt_ttl,
        opt_start >= 0,
        flags,
        (qname, qtype, qclass),
        answer,
        ns_types,
        None if low < 0 else low,
        soa,
        sigs,
    )


def _name(buf: bytes, off: int, end: int, names: _Names) -> tuple[bytes, int]:
    """The name at ``off`` (lower-cased wire form) and the offset after it, read by dnspython's rules.

    A pointer must point before the previous one (or the name's start), and what it points at must
    end before the bytes that pointed; at most 16 hops; at most 255 bytes. ValueError or IndexError
    otherwise. A pointer to a name in ``names`` is not walked again: such a name starts a field
    before this one, so its bytes end before it, which is all those rules ask of it.
    """
    pos = off
    while True:  # labels up to the end or a pointer: the whole name when it is not compressed
        if pos >= end:
            raise IndexError("name beyond its bounds")
        n = buf[pos]
        if n == 0 or n > 63:
            break
        pos += n + 1
    if n == 0:
        pos += 1
        if pos - off > _MAX_NAME:
            raise ValueError("name too long")
        wire = buf[off:pos].lower()
        names[off] = (wire, 0)
        return wire, pos
    field = start = biggest = off
    hops = 0
    after = 0
    parts: list[bytes] = []
    tail = b""
    while True:
        if off >= end:
            raise IndexError("name beyond its bounds")
        n = buf[off]
        if n == 0:
            off += 1
            parts.append(buf[start:off])
            break
        if n < 64:
            off += n + 1
            continue
        if n < 0xC0 or off + 1 >= end:
            raise ValueError("bad label")
        target = ((n & 0x3F) << 8) | buf[off + 1]
        if target >= biggest:
            raise ValueError("pointer not backwards")
        hops += 1
        if not after:
            after = off + 2
        parts.append(buf[start:off])
        known = names.get(target)
        if known is not None:
            tail = known[0]
            hops += known[1]
            if hops > _MAX_HOPS:
                raise ValueError("pointer chain too long")
            break
        if hops > _MAX_HOPS:
            raise ValueError("pointer chain too long")
        end = start  # what the pointer leads to must end before this part of the name
        biggest = start = off = target
    wire = (parts[0] if len(parts) == 1 else b"".join(parts)).lower() + tail
    if len(wire) > _MAX_NAME:
        raise ValueError("name too long")
    names[field] = (wire, hops)
    return wire, after or off


def _rdata(buf: bytes, rtype: int, rclass: int, start: int, end: int, names: _Names) -> bytes:
    """Check rdata as dnspython's parser of its type would; a CNAME's target (lower-cased), else b""."""
    if rtype in _NAME_ONLY:
        target, off = _name(buf, start, end, names)
        if off != end:
            raise ValueError("trailing rdata")
        return target
    if rtype == _A:
        if rclass == _IN and end - start != 4:
            raise ValueError("bad A")
    elif rtype == _AAAA:
        if rclass == _IN and end - start != 16:
            raise ValueError("bad AAAA")
    elif rtype == _SOA:
        _, off = _name(buf, start, end, names)
        _, off = _name(buf, off, end, names)
        if end - off != 20:
            raise ValueError("bad SOA")
    elif rtype == _MX:
        if _name(buf, start + 2, end, names)[1] != end:
            raise ValueError("bad MX")
    elif rtype == _RRSIG:
        _name(buf, start + _SIG_FIXED, end, names)  # the signer; the signature is the rest
    elif rtype in (_TXT, _SPF):
        off = start
        while off < end:
            off += buf[off] + 1
        if off != end or start == end:
            raise ValueError("bad TXT")
    return b""


def verdict(opts: Options, s: Split, qname: str, do: bool, wall: float | None = None) -> Verdict | None:
    """``Store(opts).verdict(dns.message.from_wire(data), qname, do, wall)`` for the reply ``s`` was cut from.

    Mirrors ``Store.verdict`` line by line. Never None today: what ``split`` accepts is decided.
    """
    t = _kind_of(s, do, wall)
    low = EMPTY_TTL if s.low is None else s.low
    return decide(opts, t, low, min(s.soa.values()) if s.soa else None, _cacheable(s, t), qname)


def _kind_of(s: Split, do: bool, wall: float | None) -> response.Type:
    """``store.kind_of``: ``response.typify``, and NOERROR with a SOA that does not answer is NODATA."""
    opcode = (s.flags & OPCODE) >> 11
    if opcode == _UPDATE:
        return _UPDATE_T
    if opcode == _NOTIFY:
        return _META_T
    if s.qtype in _XFR:
        return _META_T
    if do and s.sigs:
        utc = int(time.time() if wall is None else wall)
        for inception, expiration in s.sigs:
            if not sig_valid(inception, expiration, utc):
                return _OTHERERROR_T
    t = reply_type(s.flags & 0xF, s.qtype, [r[1] for r in s.answer], s.ns_types)
    if t == _NOERROR_T and s.soa and _not_answered(s):
        return _NODATA_T
    return t


def _cacheable(s: Split, t: response.Type) -> bool:
    """``store.cacheable``."""
    if s.flags & TC:
        return False
    if t in (_OTHERERROR_T, _META_T, _UPDATE_T):
        return False
    rcode = s.flags & 0xF
    if rcode == _NOTIMP:
        return False
    if t == _NXDOMAIN_T and not s.soa:
        return False
    return not (rcode == _NOERROR and not s.soa and _not_answered(s))


def _not_answered(s: Split) -> bool:
    """``store.not_answered``: a non-empty answer that does not answer the question."""
    return bool(s.answer) and not _answers(s)


def answers(s: Split) -> bool:
    """``store.answers``: the reply answers its question (at the end of the CNAME chain)."""
    return bool(s.answer) and _answers(s)


def _answers(s: Split) -> bool:
    """``store.answers``: the asked type at the end of the CNAME chain from the question name.

    A CNAME RRset holds one record in dnspython (the last one read), so an owner has one target
    per class: its last CNAME record's.
    """
    qtype, qclass, name = s.qtype, s.qclass, s.qname
    every = qclass == _CLASS_ANY
    if qtype == _ANY:
        for o, _, c, _ in s.answer:  # noqa: SIM110 (a loop: any() over a generator costs three times as much)
            if o == name and (every or c == qclass):
                return True
        return False
    cnames: dict[tuple[bytes, int], bytes] = {}
    for o, t, c, target in s.answer:
        if t == _CNAME and (every or c == qclass):
            cnames[(o, c)] = target
    if cnames:

        def targets_of(owner: bytes) -> set[bytes]:
            return {target for (o, _), target in cnames.items() if o == owner}

        if qtype == _CNAME:
            return len(targets_of(name)) == 1
        end = chain_end(name, targets_of)
        if end is None:
            return False  # an alias with two canonical names, or a loop
        name = end
    elif qtype == _CNAME:
        return False
    for o, t, c, _ in s.answer:  # noqa: SIM110 (as above)
        if t == qtype and o == name and (every or c == qclass):
            return True
    return False


__all__ = ["Split", "split", "verdict"]
