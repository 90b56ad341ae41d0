"""A stand-in for *cache* in tests of the cache-hit path (kdns.core.fastpath) and of wire forms.

- ``Entry``: a canned reply (rcode and sections as zone-file text).
- ``FakeWireCache``: answers its entries from bytes (``wire_lookup``) or, with ``fast=False`` or on
  the full path, from ``serve_dns``; both give the same reply, so the two paths can be compared.
- ``fake_wire_cache(cache)``: register it as directive ``fakecache``, just before *cache*.
- ``wire_query(name, qtype, ...)``: a WireQuery parsed from real query bytes, as the server makes it.
- ``request_of(q)``: the full path's Request for the same query.
- ``FinalWriter(req)``: a writer that keeps the bytes the server would send (for full-path comparisons).
- ``hands_on(make, q)``: whether a full handler passes the query on untouched (what ``wire_pass`` says).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from kdns.core import fastpath
from kdns.core.fastpath import WireQuery
from kdns.core.wire import finalize
from kdns.pkg.wireformat import TC
from kdns.plugin import Handler, WireStage, next_or_failure
from kdns.request import Request, make_reply
from kdns.testing.case import rr
from kdns.testing.instance import chain_plugin
from kdns.testing.stubs import FakeWriter
from kdns.writer import ResponseWriter

__all__ = [
    "Entry",
    "FakeWireCache",
    "FinalWriter",
    "assert_wire_done_leaves_reply",
    "fake_wire_cache",
    "hands_on",
    "reply_bytes",
    "request_of",
    "wire_query",
]


@dataclass(frozen=True)
class Entry:
    """A cached reply: rcode and records (zone-file text; records of one name and type form one set)."""

    answer: Sequence[str] = ()
    ns: Sequence[str] = ()
    extra: Sequence[str] = ()
    rcode: int = dns.rcode.NOERROR

    def reply(self, query: dns.message.Message) -> dns.message.Message:
        """The reply message to ``query`` (no OPT: the server mirrors the query's on write)."""
        msg = make_reply(query, self.rcode)
        msg.flags |= dns.flags.RA
        for section, lines in ((msg.answer, self.answer), (msg.authority, self.ns), (msg.additional, self.extra)):
            for text in lines:
                one = rr(text)
                rrset = msg.find_rrset(section, one.name, one.rdclass, one.rdtype, create=True)
                rrset.update(one)
        return msg


def reply_bytes(q: WireQuery, entry: Entry) -> bytearray | None:
    """The final bytes the full path writes for ``entry`` (OPT mirrored); None when they do not fit."""
    req = Request(dns.message.from_wire(q.wire), remote=q.remote, proto=q.proto, wire_len=len(q.wire))
    out = finalize(req, entry.reply(req.msg))
    if out[2] & (TC >> 8):
        return None  # truncated: the full path writes that
    return bytearray(out)


@dataclass(slots=True)
class FakeWireCache:
    """Answers (name, type) pairs in ``entries`` with the same reply on the cache-hit and full paths.

    Keys are lower-case FQDNs and type names: ``{("cached.example.org.", "A"): Entry(...)}``. Other
    queries go on down the chain. ``fast=False`` turns the wire form off: hits then take the full path.
    """

    entries: dict[tuple[str, str], Entry] = field(default_factory=dict)
    fast: bool = True
    next: Handler | None = None
    name: str = "fakecache"
    #: hits answered from bytes, and queries that reached ``serve_dns`` (hits and misses)
    wire_hits: int = 0
    full_calls: int = 0

    def _entry(self, qname: str, qtype: int) -> Entry | None:
        return self.entries.get((qname, dns.rdatatype.to_text(dns.rdatatype.RdataType.make(qtype))))

    def wire_lookup(self, q: WireQuery) -> tuple[bytearray, int] | None:
        if not self.fast:
            return None
        entry = self._entry(q.qname, q.qtype)
        if entry is None:
            return None
        out = reply_bytes(q, entry)
        if out is None:
            return None
        self.wire_hits += 1
        return out, entry.rcode

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        self.full_calls += 1
        entry = self._entry(req.qname, req.qtype)
        if entry is None:
            return await next_or_failure(self.name, self.next, w, req)
        await w.write_msg(entry.reply(req.msg))
        return entry.rcode


@contextlib.contextmanager
def fake_wire_cache(cache: FakeWireCache, name: str = "fakecache") -> Iterator[FakeWireCache]:
    """Register directive ``name`` (just before *cache*) that puts ``cache`` in each block using it."""

    def make(nxt: Handler | None) -> Handler:
        cache.next = nxt
        return cache

    cache.name = name
    with chain_plugin(name, make, before="cache"):
        yield cache


def wire_query(
    name: str,
    qtype: str = "A",
    *,
    remote: tuple[str, int] = ("10.240.0.1", 40212),
    proto: str = "udp",
    server: str = "dns://:53",
    zone: str = ".",
    **kw: object,
) -> WireQuery:
    """A WireQuery for a dnspython query (``kw`` as ``make_query``: use_edns, want_dnssec, payload...)."""
    msg = dns.message.make_query(name, qtype, **kw)  # type: ignore[arg-type]
    q = fastpath.parse(msg.to_wire(), remote, proto)
    assert q is not None, "not a plain query"
    q.server = server
    q.zone = zone
    return q


def request_of(q: WireQuery) -> Request:
    """The Request the full path builds for the query of ``q``."""
    req = Request(dns.message.from_wire(q.wire), remote=q.remote, proto=q.proto, server=q.server, wire_len=len(q.wire))
    req.zone, req.view = q.zone, q.view
    return req


class _Spy:
    """A next plugin that notes the writer and request it got and answers NOERROR."""

    name = "spy"

    def __init__(self) -> None:
        self.seen: tuple[ResponseWriter, Request] | None = None

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        self.seen = (w, req)
        await w.write_msg(req.reply())
        return dns.rcode.NOERROR


async def hands_on(make: Callable[[Handler], Handler], q: WireQuery) -> bool:
    """True when the full handler ``make(next)`` gives the query of ``q`` to ``next`` untouched.

    Untouched: the very writer and Request it got, so it neither answers, nor changes the query, nor
    watches the reply. That is when its ``wire_pass`` may say True.
    """
    spy = _Spy()
    w = FakeWriter(q.proto, remote=q.remote)
    req = request_of(q)
    await make(spy).serve_dns(w, req)
    return spy.seen is not None and spy.seen[0] is w and spy.seen[1] is req


class FinalWriter(FakeWriter):
    """A writer keeping the final bytes of each reply to ``req`` (OPT mirrored, truncated) as the server sends them."""

    def __init__(self, req: Request) -> None:
        super().__init__(req.proto, remote=req.remote)
        self.req = req
        self.wire = b""

    async def write_msg(self, msg: dns.message.Message) -> int:
        await super().write_msg(msg)
        self.wire = finalize(self.req, msg)
        return len(self.wire)


def assert_wire_done_leaves_reply(h: object, qtype: str, answer: str) -> None:
    """``h`` is a WireStage whose ``wire_done`` leaves the bytes of a cache hit (``answer`` to a ``qtype``
    query for example.org) as the cache made them."""
    assert isinstance(h, WireStage)
    q = wire_query("example.org.", qtype)
    reply = reply_bytes(q, Entry(answer=[answer]))
    assert reply is not None
    before = bytes(reply)
    h.wire_done(q, reply, 0)
    assert bytes(reply) == before
