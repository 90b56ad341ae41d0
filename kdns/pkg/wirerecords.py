"""The records of a DNS message read straight from its bytes, for wire forms of plugins (cache-hit path).

Nothing here builds dnspython objects: a record is its offsets and fixed fields. Malformed input
raises ``ValueError`` (a bad name) or ``IndexError``/``struct.error`` (short data): ``ERRORS``.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from kdns.pkg.wireformat import HEADER, RR

#: what reading a malformed message raises
ERRORS = (ValueError, IndexError, struct.error)
_MAX_HOPS = 64


class Record(NamedTuple):
    """One resource record: where it starts, its type, class and TTL, and where its rdata is."""

    start: int
    rtype: int
    rclass: int
    ttl: int
    rdata: int
    rdlen: int

    @property
    def end(self) -> int:
        return self.rdata + self.rdlen


def skip_name(buf: bytes | bytearray, off: int) -> int:
    """The offset just after the name at ``off`` (a pointer ends the name)."""
    while True:
        n = buf[off]
        if n == 0:
            return off + 1
        if n >= 0xC0:
            return off + 2
        if n > 63:
            raise ValueError("reserved label type")
        off += n + 1


def read_name(buf: bytes | bytearray, off: int) -> bytes:
    """The name at ``off`` in lower-cased wire form, compression pointers followed."""
    out = bytearray()
    hops = 0
    while True:
        n = buf[off]
        if n == 0:
            out.append(0)
            return bytes(out).lower()
        if n >= 0xC0:
            hops += 1
            if hops > _MAX_HOPS:
                raise ValueError("compression loop")
            off = ((n & 0x3F) << 8) | buf[off + 1]
            continue
        if n > 63:
            raise ValueError("reserved label type")
        out += buf[off : off + n + 1]
        off += n + 1


def counts(buf: bytes | bytearray) -> tuple[int, int, int, int]:
    """The section counts of the header: question, answer, authority, additional."""
    _, _, qd, an, ns, ar = HEADER.unpack_from(buf)
    return qd, an, ns, ar


def read_records(buf: bytes | bytearray, off: int, count: int) -> tuple[list[Record], int]:
    """``count`` records from ``off``, and the offset after them."""
    out: list[Record] = []
    size = len(buf)
    for _ in range(count):
        start = off
        off = skip_name(buf, off)
        rtype, rclass, ttl, rdlen = RR.unpack_from(buf, off)
        rdata = off + 10
        off = rdata + rdlen
        if off > size:
            raise IndexError("record beyond the message")
        out.append(Record(start, rtype, rclass, ttl, rdata, rdlen))
    return out, off


def sections(buf: bytes | bytearray) -> tuple[list[Record], list[Record], list[Record]]:
    """The answer, authority and additional records of a message (OPT stays in the additional list)."""
    qd, an, ns, ar = counts(buf)
    off = 12
    for _ in range(qd):
        off = skip_name(buf, off) + 4
    answer, off = read_records(buf, off, an)
    authority, off = read_records(buf, off, ns)
    additional, _ = read_records(buf, off, ar)
    return answer, authority, additional
