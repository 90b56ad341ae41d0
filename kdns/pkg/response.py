"""Classify a reply: what kind of answer it is (``typify``) and its log/cache class (``classify``).

The types and rules are CoreDNS's ``plugin/pkg/response``: a positive answer, NXDOMAIN, NODATA,
a delegation, a server error, meta (NOTIFY, AXFR/IXFR), update, or any other error.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable, Sequence

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.rdtypes.ANY.RRSIG

__all__ = ["Class", "Type", "class_from_string", "classify", "reply_type", "sig_valid", "type_from_string", "typify"]


class Type(enum.IntEnum):
    """The kind of a reply."""

    #: a positive reply
    NOERROR = 0
    #: NXDOMAIN with a SOA in the authority section
    NXDOMAIN = 1
    #: SERVFAIL or NOTIMP
    SERVERERROR = 2
    #: NOERROR, no answer of the asked type, SOA in the authority section
    NODATA = 3
    #: NOERROR, NS records in the authority section, no answer
    DELEGATION = 4
    #: NOTIFY, or a zone transfer (AXFR/IXFR)
    META = 5
    #: a dynamic update
    UPDATE = 6
    #: anything else (REFUSED, FORMERR, expired signatures, no message at all)
    OTHERERROR = 7

    def __str__(self) -> str:
        return self.name


class Class(enum.IntEnum):
    """A set of reply types, as the *log* plugin's ``class`` option names them."""

    ALL = 0
    SUCCESS = 1
    DENIAL = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()


_CLASSES = {str(c): c for c in Class}
_TYPES = {str(t): t for t in Type}
_CLASS_OF = {
    Type.NOERROR: Class.SUCCESS,
    Type.DELEGATION: Class.SUCCESS,
    Type.NXDOMAIN: Class.DENIAL,
    Type.NODATA: Class.DENIAL,
    Type.SERVERERROR: Class.ERROR,
    Type.OTHERERROR: Class.ERROR,
}
_ADDR = (dns.rdatatype.A, dns.rdatatype.AAAA)
_XFR = (dns.rdatatype.AXFR, dns.rdatatype.IXFR)
_YEAR68 = 1 << 31


def class_from_string(text: str) -> Class:
    """``all``, ``success``, ``denial`` or ``error``; ValueError otherwise."""
    try:
        return _CLASSES[text]
    except KeyError:
        raise ValueError(f"invalid Class: {text}") from None


def type_from_string(text: str) -> Type:
    """A type by its name (``NOERROR``, ``NXDOMAIN``, ...); ValueError otherwise."""
    try:
        return _TYPES[text]
    except KeyError:
        raise ValueError(f"invalid Type: {text}") from None


def classify(t: Type) -> Class:
    """SUCCESS for NOERROR/DELEGATION, DENIAL for NXDOMAIN/NODATA, ERROR for errors, else ALL."""
    return _CLASS_OF.get(t, Class.ALL)


def typify(msg: dns.message.Message | None, now: float | None = None, *, do: bool | None = None) -> Type:
    """The type of reply ``msg`` (None, nothing written, is OTHERERROR).

    With DNSSEC OK (``do``, else the reply's own DO bit) a reply carrying an RRSIG outside its
    validity period at ``now`` (Unix time, default the current time) is OTHERERROR.
    """
    if msg is None:
        return Type.OTHERERROR
    opcode = msg.opcode()
    if opcode == dns.opcode.UPDATE:
        return Type.UPDATE
    if opcode == dns.opcode.NOTIFY:
        return Type.META
    qtype = msg.question[0].rdtype if msg.question else None
    if qtype in _XFR:
        return Type.META
    if do is None:
        do = msg.edns >= 0 and bool(msg.ednsflags & dns.flags.DO)
    if do and _expired(msg, time.time() if now is None else now):
        return Type.OTHERERROR

    return reply_type(msg.rcode(), qtype, [r.rdtype for r in msg.answer], [r.rdtype for r in msg.authority])


def reply_type(rcode: int, qtype: int | None, answer: Sequence[int], authority: Iterable[int]) -> Type:
    """The type of a reply with ``rcode`` to ``qtype`` (not META or UPDATE, signatures valid), given the
    record types of its answer and authority sections (shared by ``typify`` and the wire-level log)."""
    if answer and rcode == dns.rcode.NOERROR:
        if qtype in _ADDR and qtype not in answer:
            return Type.NODATA
        return Type.NOERROR

    soa = False
    ns = False
    for t in authority:
        if t == dns.rdatatype.SOA:
            soa = True
        elif t == dns.rdatatype.NS:
            ns = True
    if soa and rcode == dns.rcode.NOERROR:
        return Type.NODATA
    if soa and rcode == dns.rcode.NXDOMAIN:
        return Type.NXDOMAIN
    if rcode in (dns.rcode.SERVFAIL, dns.rcode.NOTIMP):
        return Type.SERVERERROR
    if ns and rcode == dns.rcode.NOERROR:
        return Type.DELEGATION
    if rcode == dns.rcode.NOERROR:
        return Type.NOERROR
    return Type.OTHERERROR


def _expired(msg: dns.message.Message, now: float) -> bool:
    utc = int(now)
    for section in (msg.answer, msg.authority, msg.additional):
        for rrset in section:
            if rrset.rdtype == dns.rdatatype.RRSIG and not all(_valid(rd, utc) for rd in rrset):
                return True
    return False


def _valid(rd: object, utc: int) -> bool:
    """RFC 4034 validity with serial-number arithmetic (timestamps wrap every 136 years)."""
    if not isinstance(rd, dns.rdtypes.ANY.RRSIG.RRSIG):
        return True
    return sig_valid(rd.inception, rd.expiration, utc)


def sig_valid(inception: int, expiration: int, utc: int) -> bool:
    """RFC 4034 validity of an RRSIG's period at ``utc``, with serial-number arithmetic."""
    ti = inception + int((inception - utc) / _YEAR68) * _YEAR68
    te = expiration + int((expiration - utc) / _YEAR68) * _YEAR68
    return ti <= utc <= te
