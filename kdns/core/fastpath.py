"""The wire path: answer from bytes without a task, a Request or dnspython objects.

A route gets a ``FastPath`` when its chain has a *cache* and every plugin before the cache can take
part at wire level (``kdns.plugin.WireStage``): each ``wire_pass`` may send the query to the full
path, the cache's ``wire_lookup`` gives the reply bytes, and each ``wire_done`` observes (or,
like *loadbalance*, reorders) the reply, innermost first. Anything unusual returns None and the
query takes the full path, which gives the same answer.

A cache miss stays on this path too when the plugins after the cache step aside for the query
(``WireSkip``) up to a *forward* (``WireForward``) that can send it at once: ``answer`` returns
``PENDING``, and the upstream's reply comes back to ``miss_reply``, which stores it in the cache,
runs the ``wire_done`` stages and sends it through the query's ``client`` (its transport). A
reply the cache cannot take at wire level, a timeout or an upstream error hands the query to the
full path (``Client.full``), with the reply in hand when there is one.
"""

from __future__ import annotations

import re
import socket
import struct
import time
from collections.abc import Sequence
from typing import Any, Protocol, final

import dns.name

from kdns.log import logger
from kdns.pkg.wireformat import CD, DO, HEADER, MAX_WIRE, OPT, QUESTION, RR
from kdns.plugin import FULL_PATH, WireCache, WireForward, WireSkip, WireStage, WireStore

log = logger("server")

#: lower-cased question name bytes -> presentation text, for routing (bounded)
_names: dict[bytes, str] = {}
_NAMES_MAX = 8192


@final
class WireQuery:
    """Header, question and EDNS facts of a plain query, read straight from its bytes."""

    __slots__ = (
        "_qname",
        "addr",
        "cd",
        "client",
        "do",
        "edns",
        "family",
        "flags",
        "id",
        "path",
        "payload",
        "proto",
        "qclass",
        "qend",
        "qkey",
        "qtype",
        "remote",
        "repeat",
        "server",
        "size",
        "start",
        "view",
        "wire",
        "writer",
        "zone",
    )

    wire: bytes
    id: int
    flags: int
    #: the question name's wire form, lower-cased (a cache key part)
    qkey: bytes
    _qname: str | None
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
    #: the plugin that wrote the reply, for metrics ("" on a cache hit: the cache)
    writer: str
    #: the client's address as its transport gives it, and the transport that answers a pending miss
    addr: Any
    client: Client
    #: the route's wire path, once the query is pending on a miss
    path: FastPath
    #: set by the cache on a hit whose reply may be sent again for the same query bytes
    repeat: Repeatable | None

    @property
    def qname(self) -> str:
        """Lower-cased presentation form with the trailing dot, as ``Request.qname`` (made when first read)."""
        name = self._qname
        if name is None:
            name = self._qname = text(self.qkey)
        return name


class Repeatable(Protocol):
    """A cache hit that may be answered again from the same reply (see ``Replay``)."""

    def again(self) -> int | None:
        """Count one more hit and give its rcode; None when the reply may no longer be sent."""


class Client(Protocol):
    """The transport side of a query left pending on a miss."""

    def reply(self, q: WireQuery, out: bytearray) -> None:
        """Send the reply."""

    def full(self, q: WireQuery, upstream: bytes | None) -> None:
        """Answer the query through the full path; ``upstream`` is the upstream's reply if it came."""


#: what ``FastPath.answer`` returns for a miss that was sent upstream (its reply is sent later)
PENDING = bytearray()


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
    q._qname = None  # ``text`` (memoised) makes it when a plugin reads ``qname``
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
    q.writer = ""
    q.repeat = None
    q.start = time.monotonic()
    return q


#: labels joined by dots that need no escaping in presentation form (printable ASCII but ``"\();@$``)
_PLAIN = re.compile(rb"[!#%&\'*-:<-?A-\[\]-~]+")


def text(qkey: bytes) -> str:
    """'example.org.' from a lower-cased wire name, as ``Request.qname`` has it (remembered for a while)."""
    name = _names.get(qkey)
    if name is None:
        name = _plain_text(qkey)
        if name is None:  # labels that need escaping: dnspython's presentation form, as the full path
            name = dns.name.from_wire(qkey, 0)[0].to_text().lower()
        if len(_names) >= _NAMES_MAX:
            _names.clear()
        _names[qkey] = name
    return name


def _plain_text(qkey: bytes) -> str | None:
    """The presentation form of a name whose labels need no escaping; None for the others."""
    if qkey == b"\x00":
        return "."
    if 46 in qkey:
        return None  # a dot inside a label (or a 46-octet label)
    dotted = bytearray(qkey)
    i = 0
    while n := dotted[i]:
        dotted[i] = 46
        i += n + 1
    body = bytes(dotted[1:-1])
    if _PLAIN.fullmatch(body) is None:
        return None
    return body.decode("ascii") + "."


@final
class FastPath:
    """The wire-level stages of one route, its cache, and what a miss can step over to reach a forward."""

    __slots__ = ("after", "cache", "failed", "forward", "last", "stages", "stages_rev", "store")

    def __init__(
        self,
        stages: Sequence[WireStage],
        cache: WireCache,
        miss: tuple[WireStore, Sequence[WireSkip], WireForward] | None = None,
    ) -> None:
        self.stages = tuple(stages)
        self.stages_rev = tuple(reversed(self.stages))
        self.cache = cache
        #: the miss path: the cache again (as a store), the plugins it steps over, the forward
        self.store: WireStore | None = None
        self.after: tuple[WireSkip, ...] = ()
        self.forward: WireForward | None = None
        if miss is not None:
            self.store, after, self.forward = miss
            self.after = tuple(after)
        self.failed = False
        #: the Replay of the last repeatable hit (the server keeps it by the query's bytes)
        self.last: Replay | None = None

    def answer(self, q: WireQuery) -> bytearray | None:
        """The reply to a hit, ``PENDING`` for a miss sent upstream, or None: the full path answers."""
        for st in self.stages:
            if not st.wire_pass(q):
                return None
        hit = self.cache.wire_lookup(q)
        if hit is None:
            fwd = self.forward
            if fwd is None:
                return None
            for a in self.after:
                if not a.wire_skip(q):
                    return None
            q.path = self
            return PENDING if fwd.wire_forward(q) else None
        if hit is FULL_PATH:
            return None
        reply, rcode = hit
        if q.repeat is not None:
            self.last = Replay(q, self, bytes(reply), q.repeat)  # the cache's reply, before the stages
        for st in self.stages_rev:
            st.wire_done(q, reply, rcode)
        return reply

    def miss_reply(self, q: WireQuery, data: bytes) -> None:
        """The upstream's reply to a pending miss: cache it and answer, or leave both to the full path."""
        try:
            assert self.store is not None
            out = self.store.wire_store(q, data)
            if out is None or len(out[0]) > q.size:  # too big: the full path truncates
                q.client.full(q, data)
                return
            reply, rcode = out
            q.writer = getattr(self.forward, "name", "")
            for st in self.stages_rev:
                st.wire_done(q, reply, rcode)
        except Exception:
            if not self.failed:  # log once; the full path still answers
                self.failed = True
                log.exception("cache-miss path failed; using the full path")
            q.client.full(q, data)
            return
        q.client.reply(q, reply)

    def miss_failed(self, q: WireQuery, data: bytes | None) -> None:
        """No reply the wire path can use (timeout, upstream error), or one forward must judge (``data``)."""
        q.client.full(q, data)


#: what ``Replay.answer`` returns when a stage sends the query to the full path
FULL = bytearray()


@final
class Replay:
    """A hit answered again for the same query bytes (same ID aside) while the cache says it may be.

    The query's facts are those of the first one (same bytes), so its WireQuery is reused with the
    new ID, client and time; every stage still runs (``wire_pass`` and ``wire_done``), and the cache
    counts the hit (``Repeatable.again``). What it skips is parsing, routing and the cache lookup.
    """

    __slots__ = ("path", "q", "raw", "repeat")

    def __init__(self, q: WireQuery, path: FastPath, raw: bytes, repeat: Repeatable) -> None:
        self.q = q
        self.path = path
        self.raw = raw
        self.repeat = repeat

    def answer(self, wire: bytes, remote: tuple[str, int], client: Client, addr: object) -> bytearray | None:
        """The reply, ``FULL`` when a stage wants the full path, or None when this replay is stale."""
        q = self.q
        q.wire = wire
        q.id = (wire[0] << 8) | wire[1]
        q.remote = remote
        q.family = socket.AF_INET6 if ":" in remote[0] else socket.AF_INET
        q.client = client
        q.addr = addr
        q.writer = ""
        q.start = time.monotonic()
        path = self.path
        for st in path.stages:
            if not st.wire_pass(q):
                return FULL
        rcode = self.repeat.again()
        if rcode is None:
            return None
        reply = bytearray(self.raw)
        reply[0] = wire[0]
        reply[1] = wire[1]
        for st in path.stages_rev:
            st.wire_done(q, reply, rcode)
        return reply


def build(handlers: Sequence[object]) -> FastPath | None:
    """A FastPath for a chain (handlers in order), or None when it has no cache or a stage cannot join.

    The miss path joins when every plugin between the cache and the first *forward* can step aside.
    """
    stages: list[WireStage] = []
    for i, h in enumerate(handlers):
        if isinstance(h, WireCache):
            after: list[WireSkip] = []
            for a in handlers[i + 1 :] if isinstance(h, WireStore) else ():
                if isinstance(a, WireForward):
                    assert isinstance(h, WireStore)
                    return FastPath(stages, h, (h, after, a))
                if not isinstance(a, WireSkip):
                    break
                after.append(a)
            return FastPath(stages, h)
        if not isinstance(h, WireStage):
            return None
        stages.append(h)
    return None
