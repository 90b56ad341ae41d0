"""The *log* line of a cache hit answered from bytes: the same line the full path writes.

The rule's ``Replacer`` fills the line from stand-ins for the Request and the Recorder that carry the
same values, read from the WireQuery and the reply bytes, so every placeholder reads as on the full
path. The reply's class (for ``class`` filters) is worked out from the bytes as ``typify`` does.
"""

from __future__ import annotations

import struct
import time
from typing import TYPE_CHECKING, cast

import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from kdns.pkg import response, wirerecords
from kdns.pkg.replacer import Recorded, Replacer
from kdns.pkg.response import Class, Type, classify
from kdns.request import Request

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery

_XFR = (dns.rdatatype.AXFR, dns.rdatatype.IXFR)
_RRSIG = dns.rdatatype.RRSIG
_SIG_TIMES = struct.Struct("!II")  # expiration, inception: 8 bytes into RRSIG rdata
_FLAGS = struct.Struct("!H")
#: placeholders a cache hit cannot fill (the listener's address is not known there)
_FULL_ONLY = ("{local}",)


def fillable(fmt: str) -> bool:
    """True when a line in format ``fmt`` can be written for a cache hit answered from bytes."""
    return not any(p in fmt for p in _FULL_ONLY)


def reply_type(q: WireQuery, reply: bytes | bytearray, rcode: int, now: float | None = None) -> Type:
    """The ``typify`` type of the reply bytes to ``q`` (rcode as given, extended bits included)."""
    qtype = q.qtype
    if qtype in _XFR:
        return Type.META
    answer, authority, additional = wirerecords.sections(reply)
    if q.do and _expired(reply, (answer, authority, additional), time.time() if now is None else now):
        return Type.OTHERERROR
    return response.reply_type(rcode, qtype, [r.rtype for r in answer], [r.rtype for r in authority])


def reply_class(q: WireQuery, reply: bytes | bytearray, rcode: int) -> Class:
    """success, denial or error (or all for meta replies), as ``classify(typify(...))``."""
    return classify(reply_type(q, reply, rcode))


def _expired(buf: bytes | bytearray, sections: tuple[list[wirerecords.Record], ...], now: float) -> bool:
    """An RRSIG outside its validity period (RFC 4034 serial-number arithmetic)."""
    utc = int(now)
    for section in sections:
        for r in section:
            if r.rtype != _RRSIG or r.rdlen < 16:
                continue
            expiration, inception = _SIG_TIMES.unpack_from(buf, r.rdata + 8)
            if not response.sig_valid(inception, expiration, utc):
                return True
    return False


class _Msg:
    """The query or reply message fields the replacer reads."""

    __slots__ = ("flags", "id")

    def __init__(self, qid: int, flags: int) -> None:
        self.id = qid
        self.flags = flags

    def opcode(self) -> dns.opcode.Opcode:
        return dns.opcode.QUERY  # the cache-hit path takes plain queries only


class _Req:
    """A stand-in for ``Request`` with the fields log placeholders read."""

    __slots__ = ("class_text", "do", "local", "meta", "msg", "proto", "qname", "remote", "size", "type_text",
                 "wire_len")  # fmt: skip

    def __init__(self, q: WireQuery) -> None:
        self.type_text = _type_text(q.qtype)
        self.class_text = dns.rdataclass.to_text(dns.rdataclass.RdataClass.make(q.qclass))
        self.qname = q.qname
        self.proto = q.proto
        self.wire_len = len(q.wire)
        self.remote = q.remote
        self.local = ("", 0)  # formats with {local} take the full path (see ``fillable``)
        self.msg = _Msg(q.id, q.flags)
        self.do = q.do
        self.size = q.size
        self.meta: dict[str, object] = {}


class _Rec:
    """A stand-in for the Recorder: what the cache wrote."""

    __slots__ = ("len", "msg", "rcode", "start")

    def __init__(self, reply: bytes | bytearray, rcode: int, start: float) -> None:
        self.rcode = rcode
        self.len = len(reply)
        self.msg = _Msg(0, _FLAGS.unpack_from(reply, 2)[0])
        self.start = start


_type_texts: dict[int, str] = {}


def _type_text(qtype: int) -> str:
    t = _type_texts.get(qtype)
    if t is None:
        t = _type_texts[qtype] = dns.rdatatype.to_text(dns.rdatatype.RdataType.make(qtype))
    return t


def line(replacer: Replacer, q: WireQuery, reply: bytes | bytearray, rcode: int, duration: float) -> str:
    """The line ``replacer`` makes for a cache hit: ``reply`` with ``rcode``, ``duration`` seconds after ``q``."""
    req = cast(Request, _Req(q))
    rec = cast(Recorded, _Rec(reply, rcode, q.start))
    return replacer.replace(req, rec, duration)
