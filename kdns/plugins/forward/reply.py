"""Parse an upstream reply into a ``dns.message.Message``, several times faster than ``from_wire``.

The result equals ``dns.message.from_wire(data)``: same ID, flags, sections, RRsets (records of one
name, class and type merged in order of first appearance, TTL the smallest), OPT record and errors.
It is faster because owner names are looked up by their (decompressed) wire bytes instead of parsed
again, and rdata of types without domain names inside (A, AAAA, TXT...) are looked up by their bytes
(both are immutable in dnspython). Anything unusual (another opcode, not one question, TSIG, a bad
pointer, trailing bytes) goes to dnspython's parser, so odd input gets dnspython's answer and errors.
"""

from __future__ import annotations

import itertools
import struct
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from kdns.pkg.wireformat import HEADER, OPT, QUESTION, RR

TSIG = 250
#: types whose rdata hold no domain name: the same bytes always give the same rdata
CACHEABLE = frozenset(
    int(dns.rdatatype.from_text(t))
    for t in ("A", "AAAA", "TXT", "DS", "DNSKEY", "CAA", "SSHFP", "TLSA", "NSEC3", "NSEC3PARAM", "HINFO", "CDS")
)
_CACHE_MAX = 8192

_names: dict[bytes, dns.name.Name] = {}
_rdatas: dict[tuple[int, int, bytes], dns.rdata.Rdata] = {}
#: OPT records by their bytes (shared: kdns never changes a message's OPT in place)
_opts: dict[bytes, dns.rrset.RRset] = {}
_types: dict[int, dns.rdatatype.RdataType] = {}
_classes: dict[int, dns.rdataclass.RdataClass] = {}


class _Fallback(Exception):
    """Leave this message to dnspython's parser."""


def parse_reply(data: bytes) -> dns.message.Message:
    """``dns.message.from_wire(data)``, faster for the usual reply; raises what ``from_wire`` raises."""
    try:
        return _parse(data)
    except (_Fallback, IndexError, struct.error):
        return dns.message.from_wire(data)


def _evict(cache: dict[Any, Any]) -> None:
    """Drop the oldest eighth of a full cache (first in, first out)."""
    for k in list(itertools.islice(cache, _CACHE_MAX // 8)):
        del cache[k]


def _rdtype(t: int) -> dns.rdatatype.RdataType:
    e = _types.get(t)
    if e is None:
        e = _types[t] = dns.rdatatype.RdataType.make(t)
    return e


def _rdclass(c: int) -> dns.rdataclass.RdataClass:
    e = _classes.get(c)
    if e is None:
        e = _classes[c] = dns.rdataclass.RdataClass.make(c)
    return e


def _name(data: bytes, off: int) -> tuple[dns.name.Name, int]:
    """The name at ``off`` (following compression pointers) and the offset after it."""
    pos = off
    start = off
    end = -1
    parts: list[bytes] = []
    while True:
        n = data[pos]
        if n == 0:
            pos += 1
            break
        if n >= 0xC0:
            ptr = ((n & 0x3F) << 8) | data[pos + 1]
            if ptr >= start:  # only strictly backwards pointers (no loops)
                raise _Fallback
            if end < 0:
                end = pos + 2
            parts.append(data[start:pos])
            pos = start = ptr
            continue
        if n > 63:
            raise _Fallback
        pos += n + 1
    if end < 0:
        end = pos
    key = data[start:pos] if not parts else b"".join(parts) + data[start:pos]
    name = _names.get(key)
    if name is None:
        name = dns.name.from_wire(key, 0)[0]
        if len(_names) >= _CACHE_MAX:
            _evict(_names)
        _names[key] = name
    return name, end


def _parse(data: bytes) -> dns.message.Message:
    qid, flags, qd, an, ns, ar = HEADER.unpack_from(data)
    if flags & 0x7800 or qd != 1:  # not opcode QUERY, or not one question
        raise _Fallback
    m = dns.message.QueryMessage(id=qid)
    m.flags = dns.flags.Flag(flags)
    m.wire = data
    qname, off = _name(data, 12)
    qtype, qclass = QUESTION.unpack_from(data, off)
    off += 4
    m.find_rrset(m.question, qname, _rdclass(qclass), _rdtype(qtype), create=True, force_unique=True)
    size = len(data)
    for section, count in ((m.answer, an), (m.authority, ns), (m.additional, ar)):
        index: dict[tuple[dns.name.Name, int, int, int], dns.rrset.RRset] = {}
        for _ in range(count):
            name, off = _name(data, off)
            rdtype, rdclass, ttl, rdlen = RR.unpack_from(data, off)
            off += 10
            end = off + rdlen
            if end > size:
                raise _Fallback
            if rdtype == OPT:
                if section is not m.additional or m.opt is not None or name != dns.name.root:
                    raise _Fallback
                okey = data[off - 8 : end]  # class (UDP size), TTL (flags), rdata (options)
                opt = _opts.get(okey)
                if opt is None:
                    opt = dns.rrset.from_rdata(name, ttl, dns.rdata.from_wire(rdclass, rdtype, data, off, rdlen))
                    if len(_opts) >= _CACHE_MAX:
                        _evict(_opts)
                    _opts[okey] = opt
                m.opt = opt
                off = end
                continue
            if rdtype == TSIG:
                raise _Fallback
            rd: dns.rdata.Rdata | None
            if rdtype in CACHEABLE:
                k = (rdtype, rdclass, data[off:end])
                rd = _rdatas.get(k)
                if rd is None:
                    rd = dns.rdata.from_wire(rdclass, rdtype, data, off, rdlen)
                    if len(_rdatas) >= _CACHE_MAX:
                        _evict(_rdatas)
                    _rdatas[k] = rd
            else:
                rd = dns.rdata.from_wire(rdclass, rdtype, data, off, rdlen)
            off = end
            if ttl > 0x7FFFFFFF:
                ttl = 0
            covers = rd.covers()
            key = (name, rdclass, rdtype, covers)
            rrset = index.get(key)
            if rrset is None:
                rrset = index[key] = dns.rrset.RRset(name, _rdclass(rdclass), _rdtype(rdtype), covers)
                section.append(rrset)
            rrset.add(rd, ttl)
    if off != size:
        raise _Fallback  # trailing bytes: dnspython raises TrailingJunk
    return m
