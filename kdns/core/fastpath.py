"""The cache-hit path: answer from wire bytes without a task, a Request or dnspython objects.

A route gets a ``FastPath`` when its chain has a *cache* and every plugin before the cache can take
part at wire level (``kdns.plugin.WireStage``): each ``wire_pass`` may send the query to the full
path, the cache's ``wire_lookup`` gives the reply bytes, and each ``wire_done`` observes (or,
like *loadbalance*, reorders) the reply, innermost first. Anything unusual returns None and the
query takes the full path, which gives the same answer.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Sequence
from typing import final

from kdns.log import logger
from kdns.pkg.wireformat import CD, DO, HEADER, MAX_WIRE, OPT, QUESTION, RR
from kdns.plugin import WireCache, WireStage

log = logger("server")

#: lower-cased question name bytes -> presentation text, for routing (bounded)
_names: dict[bytes, str] = {}
_NAMES_MAX = 8192


@final
class WireQuery:
    """Header, question and EDNS facts of a plain query, read straight from its bytes."""

    __slots__ = (
        "cd",
        "do",
        "edns",
        "family",
        "flags",
        "id",
        "payload",
        "proto",
        "qclass",
        "qend",
        "qkey",
        "qname",
        "qtype",
        "remote",
        "server",
        "size",
        "start",
        "view",
        "wire",
        "zone",
    )

    wire: bytes
    id: int
    flags: int
    #: the question name's wire form, lower-cased (a cache key part)
    qkey: bytes
    #: lower-cased presentation form with the trailing dot, as ``Request.qname``
    qname: str
    qtype: int
    qclass: int
    #: offset just after the question section
    qend: int
    edns: bool
    do: bool
    cd: bool
    payload: int
    #: largest reply the client takes: 512 or the EDNS size on UDP, 65535 on TCP
    size: int
    remote: tuple[str, int]
    proto: str
    family: int
    server: str
    zone: str
    view: str
    start: float


def parse(wire: bytes, remote: tuple[str, int], proto: str) -> WireQuery | None:
    """A WireQuery for a plain QUERY with one question and at most an OPT; None for anything else."""
    if len(wire) < 17:
        return None
    qid, flags, qd, an, ns, ar = HEADER.unpack_from(wire)
    if qd != 1 or an or ns or ar > 1 or flags & 0xF800:  # QR set or opcode not QUERY
        return None
    end = 12
    n = wire[end]
    try:
        while n:
            if n > 63:
                return None  # pointer or reserved label type
            end += n + 1
            n = wire[end]
        end += 1
        qkey = wire[12:end].lower()  # length octets are < 64: only letters change
        qtype, qclass = QUESTION.unpack_from(wire, end)
        qend = end + 4
        edns = do = False
        payload = 0
        if ar:
            if wire[qend] != 0:
                return None
            otype, payload, ttl, rdlen = RR.unpack_from(wire, qend + 1)
            if otype != OPT or qend + 11 + rdlen != len(wire) or ttl & 0x00FF0000:  # EDNS version != 0
                return None
            edns = True
            do = bool(ttl & DO)
        elif qend != len(wire):
            return None
    except (IndexError, struct.error):
        return None
    q = WireQuery()
    q.wire = wire
    q.id = qid
    q.flags = flags
    q.qkey = qkey
    name = _names.get(qkey)
    if name is None:
        name = _text(qkey)
        if name is None:
            return None
        if len(_names) >= _NAMES_MAX:
            _names.clear()
        _names[qkey] = name
    q.qname = name
    q.qtype = qtype
    q.qclass = qclass
    q.qend = qend
    q.edns = edns
    q.do = do
    q.cd = bool(flags & CD)
    q.payload = payload
    q.size = MAX_WIRE if proto == "tcp" else (max(512, payload) if edns else 512)
    q.remote = remote
    q.proto = proto
    q.family = socket.AF_INET6 if ":" in remote[0] else socket.AF_INET
    q.view = ""
    q.start = time.monotonic()
    return q


def _text(qkey: bytes) -> str | None:
    """'example.org.' from a wire name; None for labels that need escaping (the full path does those)."""
    if qkey == b"\x00":
        return "."
    parts = []
    i = 0
    while qkey[i]:
        n = qkey[i]
        label = qkey[i + 1 : i + 1 + n]
        if not all(33 <= c < 127 and c not in b'."\\();@$' for c in label):
            return None
        parts.append(label.decode("ascii"))
        i += n + 1
    return ".".join(parts) + "."


@final
class FastPath:
    """The wire-level stages of one route, and its cache."""

    __slots__ = ("cache", "stages", "stages_rev")

    def __init__(self, stages: Sequence[WireStage], cache: WireCache) -> None:
        self.stages = tuple(stages)
        self.stages_rev = tuple(reversed(self.stages))
        self.cache = cache

    def answer(self, q: WireQuery) -> bytearray | None:
        for st in self.stages:
            if not st.wire_pass(q):
                return None
        hit = self.cache.wire_lookup(q)
        if hit is None:
            return None
        reply, rcode = hit
        for st in self.stages_rev:
            st.wire_done(q, reply, rcode)
        return reply


def build(handlers: Sequence[object]) -> FastPath | None:
    """A FastPath for a chain (handlers in order), or None when it has no cache or a stage cannot join."""
    stages: list[WireStage] = []
    for h in handlers:
        if isinstance(h, WireCache):
            return FastPath(stages, h)
        if not isinstance(h, WireStage):
            return None
        stages.append(h)
    return None
