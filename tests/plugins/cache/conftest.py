"""Shared helpers for the cache tests: a fake clock, a scripted backend, and ways to ask a Cache."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.rcode
import pytest

from kdns.core import fastpath
from kdns.core.wire import finalize
from kdns.errors import PluginError
from kdns.plugin import FULL_PATH, Handler
from kdns.plugins.cache.plugin import Cache
from kdns.plugins.cache.setup import parse
from kdns.plugins.cache.store import Store
from kdns.request import Request
from kdns.testing import FakeWriter, controller, rr
from kdns.writer import ResponseWriter

SERVER = "dns://:53"
REMOTE = ("10.240.0.1", 40212)


class Clock:
    """Monotonic seconds that only move when the test says so."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass(frozen=True)
class Spec:
    """A reply the backend writes: sections as zone-file text, rcode and header bits."""

    answer: Sequence[str] = ()
    ns: Sequence[str] = ()
    extra: Sequence[str] = ()
    rcode: int = dns.rcode.NOERROR
    aa: bool = True
    ad: bool = False
    tc: bool = False


@dataclass
class Backend:
    """The plugin after the cache: answers from ``specs`` by (qname, qtype), counting calls.

    ``fail`` makes it raise a SERVFAIL PluginError (a dead upstream); ``gate``, when set, holds
    every query until the test sets it.
    """

    specs: dict[tuple[str, str], Spec] = field(default_factory=dict)
    default: Spec = field(default_factory=Spec)
    calls: int = 0
    fail: bool = False
    gate: asyncio.Event | None = None
    seen: list[Request] = field(default_factory=list)
    next: Handler | None = None
    name: str = "backend"

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        self.calls += 1
        self.seen.append(req)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise PluginError("backend", "upstream is down", dns.rcode.SERVFAIL)
        spec = self.specs.get((req.qname, req.type_text), self.default)
        reply = req.reply()
        reply.answer = [rr(t) for t in spec.answer]
        reply.authority = [rr(t) for t in spec.ns]
        reply.additional = [rr(t) for t in spec.extra]
        for bit, on in ((dns.flags.AA, spec.aa), (dns.flags.AD, spec.ad), (dns.flags.TC, spec.tc)):
            if on:
                reply.flags |= bit
        reply.set_rcode(dns.rcode.Rcode.make(spec.rcode))
        await w.write_msg(reply)
        return spec.rcode


def make_cache(text: str = "cache", backend: Backend | None = None, clock: Clock | None = None) -> Cache:
    opts = parse(controller(text))
    return Cache(opts=opts, store=Store(opts), next=backend or Backend(), now=clock or Clock())


def query(
    name: str, qtype: str = "A", *, edns: bool = False, do: bool = False, cd: bool = False, payload: int = 1232
) -> dns.message.Message:
    if edns or do:
        q = dns.message.make_query(name, qtype, use_edns=0, want_dnssec=do, payload=payload)
    else:
        q = dns.message.make_query(name, qtype)
    if cd:
        q.flags |= dns.flags.CD
    return q


def request(q: dns.message.Message, proto: str = "udp") -> Request:
    r = Request(q, remote=REMOTE, proto=proto, server=SERVER, wire_len=len(q.to_wire()))
    r.zone = "."
    return r


async def full(cache: Cache, q: dns.message.Message, proto: str = "udp") -> tuple[int, bytes]:
    """Ask through ``serve_dns``: the rcode returned and the bytes the server would send."""
    w = FakeWriter(proto=proto, remote=REMOTE)
    req = request(q, proto)
    rcode = await cache.serve_dns(w, req)
    assert w.msg is not None, "nothing written"
    return rcode, finalize(req, w.msg)


def wire(cache: Cache, q: dns.message.Message, proto: str = "udp") -> bytes | None:
    """Ask through ``wire_lookup`` (the cache-hit path): the reply bytes, or None for the full path (a miss,
    or an entry only the full path may answer with)."""
    wq = fastpath.parse(q.to_wire(), REMOTE, proto)
    assert wq is not None
    wq.server, wq.zone = SERVER, "."
    hit = cache.wire_lookup(wq)
    return None if hit is None or hit is FULL_PATH else bytes(hit[0])


def ttls(data: bytes) -> list[int]:
    m = dns.message.from_wire(data)
    return [r.ttl for s in (m.answer, m.authority, m.additional) for r in s]


async def settle(cache: Cache) -> None:
    """Wait for the cache's background refreshes."""
    while cache.tasks:
        await asyncio.gather(*list(cache.tasks))


class Kit:
    """The helpers above, handed to tests by the ``kit`` fixture (test folders are not packages)."""

    Clock = Clock
    Spec = Spec
    Backend = Backend
    SERVER = SERVER
    make_cache = staticmethod(make_cache)
    query = staticmethod(query)
    request = staticmethod(request)
    full = staticmethod(full)
    wire = staticmethod(wire)
    ttls = staticmethod(ttls)
    settle = staticmethod(settle)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit


@pytest.fixture
def clock() -> Clock:
    return Clock()
