"""The cache handler: answers from stored wire replies, stores what the rest of the chain writes.

Two ways in: ``wire_lookup`` (the server's cache-hit path, bytes in and bytes out) and ``serve_dns``
(the full path, for a miss or when a plugin before the cache has no wire form). Both serve the same
entries with the same rules. Prefetch and serve_stale refresh entries in background tasks that run
the rest of the chain with a rebuilt query and a writer that only stores the reply.
"""

from __future__ import annotations

import asyncio
import random
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import final

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from kdns.core.fastpath import WireQuery
from kdns.core.wire import opt_wire
from kdns.log import plugin_logger
from kdns.pkg import heap
from kdns.pkg.fall import Fall
from kdns.pkg.wireformat import AD, CD, DO, U16, U32
from kdns.plugin import FULL_PATH, Handler, next_or_failure
from kdns.plugins.cache.entry import Entry, Key, key_of, make_entry, question_wire
from kdns.plugins.cache.metrics import Counters
from kdns.plugins.cache.store import DENIAL, SUCCESS, Options, Store
from kdns.plugins.cache.store import answers as answers_msg
from kdns.plugins.cache.wirereply import answers, split, verdict
from kdns.request import Request
from kdns.writer import ResponseWriter, WriterWrapper

NAME = "cache"
#: where a refreshed query came from: server, zone and view labels, client address
Origin = tuple[str, str, str, tuple[str, int]]
log = plugin_logger(NAME)
#: the rcodes a serve_stale verify refresh must get to count as refreshed (RFC 8767 section 4)
REFRESHED = frozenset({dns.rcode.NOERROR, dns.rcode.NXDOMAIN})
_ID_FLAGS = struct.Struct("!HH")


class _Sink:
    """Where background refreshes 'write': nowhere."""

    remote: tuple[str, int] = ("127.0.0.1", 0)
    local: tuple[str, int] = ("127.0.0.1", 0)
    proto: str = "tcp"

    async def write_msg(self, msg: dns.message.Message) -> int:
        return 0


SINK = _Sink()


@dataclass(slots=True)
class Cache:
    """The cache plugin: serves stored replies (wire or full path) and stores what the next plugins write."""

    opts: Options
    store: Store
    next: Handler | None = None
    name: str = NAME
    #: monotonic seconds (injected by tests)
    now: Callable[[], float] = time.monotonic
    #: background refreshes in flight (a reference keeps each task alive)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    #: replies given on the cache-hit (wire) path
    wire_hits: int = 0
    zones_label: str = field(init=False)
    _zones: Fall = field(init=False, repr=False)
    _every_zone: bool = field(init=False, repr=False)
    _counters: dict[tuple[str, str], Counters] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._zones = Fall(self.opts.zones)
        self._every_zone = "." in self.opts.zones
        self.zones_label = ",".join(self.opts.zones)

    def counters(self, server: str, view: str) -> Counters:
        c = self._counters.get((server, view))
        if c is None:
            c = self._counters[(server, view)] = Counters(server, self.zones_label, view)
            success, denial = self.store.success, self.store.denial
            c.entries[SUCCESS].track(lambda: len(success))
            c.entries[DENIAL].track(lambda: len(denial))
        return c

    # -- the cache-hit path ---------------------------------------------------------------

    def wire_lookup(self, q: WireQuery) -> tuple[bytearray, int] | None:
        """The final reply bytes for a hit, or None (miss, verify needed, or too big: the full path answers)."""
        if not self._every_zone and not self._zones.through(q.qname):
            return FULL_PATH
        key = (q.qkey, q.qtype, q.qclass, q.do, q.cd)  # self.key(q), without the call
        now = self.now()
        found = self.store.get(key, now)
        if found is None:
            return None
        entry, left = found
        stale = left <= 0
        opts = self.opts
        if (stale and opts.verify and not self._rechecking(entry, now)) or entry.qend != q.qend:
            return FULL_PATH  # a verify first, or a question of another length
        qflags = q.flags
        out = entry.reply(
            q.id,
            qflags,
            q.wire[12 : q.qend],
            entry.duration if opts.keepttl else (opts.stale_ttl if stale else left),
            q.do or bool(qflags & AD),
        )
        if q.edns:
            out += opt_wire(q.payload if q.payload > 512 else 512, DO if q.do else 0)
            U16.pack_into(out, 10, entry.arcount + 1)
        if len(out) > q.size:
            return FULL_PATH  # the full path truncates it
        c = self._counters.get((q.server, q.view)) or self.counters(q.server, q.view)
        c.hit(entry.kind)
        if stale:
            c.served_stale.inc()
            if not opts.verify:
                self._start_refresh(entry, key, (q.server, q.zone, q.view, q.remote), c)
        elif self.opts.prefetch:
            if self.store.should_prefetch(entry, left, now):
                self._start_refresh(entry, key, (q.server, q.zone, q.view, q.remote), c)
        else:
            # the same query bytes get the same reply until the TTL left changes (or the entry goes)
            stored = entry.stored
            until = stored + entry.duration if self.opts.keepttl else stored + int(now - stored) + 1
            q.repeat = Repeat(self, entry, c, until)
        self.wire_hits += 1
        return out, entry.rcode

    def wire_store(self, q: WireQuery, data: bytes) -> tuple[bytearray, int] | None:
        """Store an upstream's reply to the missed ``q`` and give the client's reply, as ``serve_dns``
        with ``absorb`` and the server's rendering would; None when only the full path can tell."""
        if not self._every_zone and not self._zones.through(q.qname):
            return None  # not ours to store: the full path passes the reply on
        s = split(data)
        if s is None:
            return None
        do = q.do
        v = verdict(self.opts, s, q.qname, do)
        if v is None:
            return None
        if self.opts.verify and data[3] & 0xF not in REFRESHED and self.store.peek(self.key(q)) is not None:
            return None  # serve_stale verify keeps the stale entry over this reply: the full path decides
        duration = v.duration
        out = bytearray(s.body)
        flags = (out[2] << 8) | out[3]
        if not do and not q.flags & AD:
            flags &= ~AD  # stored with AD; only DNSSEC-aware clients see it
        _ID_FLAGS.pack_into(out, 0, q.id, flags)
        out[12 : s.qend] = q.wire[12 : q.qend]
        if s.ttls:
            t = U32.pack(duration)
            for off in s.ttls:
                out[off : off + 4] = t
        if q.edns:
            out += opt_wire(q.payload if q.payload > 512 else 512, DO if do else 0)
            U16.pack_into(out, 10, ((out[10] << 8) | out[11]) + 1)
        if len(out) > q.size:
            return None  # the full path truncates it (and stores it)
        c = self._counters.get((q.server, q.view)) or self.counters(q.server, q.view)
        c.requests.inc()
        c.misses.inc()
        if v.kind is not None:
            entry = Entry(s.body, s.ttls, s.qend, v.kind, self.now(), duration)
            entry.positive = v.kind == SUCCESS and answers(s)
            if self.store.put(self.key(q), entry):
                c.evictions[v.kind].inc()
            heap.grew()
        return out, flags & 0xF

    @staticmethod
    def key(q: WireQuery) -> Key:
        return (q.qkey, q.qtype, q.qclass, q.do, q.cd)

    # -- the full path --------------------------------------------------------------------

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        if not self._zones.through(req.qname):
            return await next_or_failure(NAME, self.next, w, req)
        msg = req.msg
        key = key_of(msg.question[0].name, req.qtype, req.qclass, req.do, bool(msg.flags & CD))
        c = self.counters(req.server, req.view)
        now = self.now()
        found = self.store.get(key, now)
        if found is None:
            c.requests.inc()
            c.misses.inc()
            return await next_or_failure(NAME, self.next, CacheWriter(w, self, req, key, c), req)
        entry, left = found
        c.hit(entry.kind)
        stale = left <= 0
        if stale:
            fresh = None
            if not self.opts.verify:
                self._start_refresh(entry, key, (req.server, req.zone, req.view, req.remote), c)
            elif not self._rechecking(entry, now):
                fresh = await self._verify(entry, key, req, c)
            if fresh is None:
                c.served_stale.inc()
            else:
                entry, left = fresh
                stale = False
        elif self.store.should_prefetch(entry, left, now):
            self._start_refresh(entry, key, (req.server, req.zone, req.view, req.remote), c)
        ttl = entry.duration if self.opts.keepttl else (self.opts.stale_ttl if stale else left)
        wire = entry.reply(msg.id, msg.flags, question_wire(msg), ttl, req.do or bool(msg.flags & AD))
        await w.write_msg(dns.message.from_wire(bytes(wire)))
        return dns.rcode.NOERROR

    # -- storing replies --------------------------------------------------------------------

    def absorb(
        self, msg: dns.message.Message, req: Request, key: Key, c: Counters, verify: bool = False
    ) -> dns.message.Message:
        """Store ``msg`` (the reply to ``req``) when it may be cached; the reply to send, TTLs capped."""
        do = key[3]
        verdict = self.store.verdict(msg, req.qname, do)
        out = with_ttl(msg, verdict.duration)
        if verdict.kind is not None:
            if not matches(msg, key):
                c.drops.inc()
            elif not verify or msg.rcode() in REFRESHED:
                self._put(key, out, verdict.kind, verdict.duration, c)
        if not do and not req.msg.flags & dns.flags.AD:
            out.flags &= ~dns.flags.AD  # stored with AD; only DNSSEC-aware clients see it
        return out

    def _put(self, key: Key, msg: dns.message.Message, kind: str, duration: int, c: Counters) -> None:
        try:
            entry = make_entry(msg, kind, self.now(), duration)
        except Exception as e:  # a reply we cannot render back (e.g. over 64 KiB): not cached
            log.debug("not caching reply: %s", e)
            return
        entry.positive = kind == SUCCESS and answers_msg(msg)
        if self.store.put(key, entry):
            c.evictions[kind].inc()
        heap.grew()

    # -- background refreshes -----------------------------------------------------------------

    def _start_refresh(self, entry: Entry, key: Key, origin: Origin, c: Counters) -> None:
        """Refresh ``entry`` in the background unless a refresh of it is in flight or failed within ``recheck``."""
        if entry.refresh is not None or self._rechecking(entry, self.now()):
            return
        c.prefetch.inc()
        self._spawn(entry, key, origin, c, verify=False)

    def _rechecking(self, entry: Entry, now: float) -> bool:
        """serve_stale's failure recheck: the entry's last refresh failed less than ``recheck`` ago."""
        return now - entry.failed < self.opts.recheck

    def _spawn(self, entry: Entry, key: Key, origin: Origin, c: Counters, *, verify: bool) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(
            self._refresh(entry, key, origin, c, verify), name=f"cache refresh {key[1]}"
        )
        entry.refresh = task
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _verify(self, entry: Entry, key: Key, req: Request, c: Counters) -> tuple[Entry, int] | None:
        """serve_stale verify: refresh first (or join the refresh in flight); the fresh entry, or None."""
        task = entry.refresh
        if task is None:
            task = self._spawn(entry, key, (req.server, req.zone, req.view, req.remote), c, verify=True)
        timeout = self.opts.verify_timeout
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout) if timeout else await asyncio.shield(task)
        except TimeoutError:
            return None  # answer stale now; the refresh goes on and updates the entry for later queries
        found = self.store.get(key, self.now())
        if found is not None and found[1] > 0:
            return found
        return None

    async def _refresh(self, entry: Entry, key: Key, origin: Origin, c: Counters, verify: bool) -> None:
        try:
            req = refresh_request(entry, key, *origin)
            cw = CacheWriter(SINK, self, req, key, c, capture=True, verify=verify)
            started = self.now()
            try:
                await next_or_failure(NAME, self.next, cw, req)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.debug("refresh of %s failed: %s", req.qname, e)
            if not self.store.refreshed(key, started):
                entry.failed = self.now()  # no NOERROR or NXDOMAIN came: recheck only after a while
            new = self.store.peek(key)
            if new is not None and new is not entry:
                new.hits, new.last = entry.hits, self.now()  # the new entry keeps the popularity
        finally:
            entry.refresh = None

    async def stop(self) -> None:
        """Cancel the refreshes in flight (the config is going away)."""
        tasks = list(self.tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@final
class Repeat:
    """A hit whose reply can be sent again for the same query bytes while ``valid`` (``fastpath.Replay``)."""

    __slots__ = ("cache", "counters", "entry", "until")

    def __init__(self, cache: Cache, entry: Entry, counters: Counters, until: float) -> None:
        self.cache = cache
        self.entry = entry
        self.counters = counters
        #: in the cache's clock: when the TTL left changes (or the entry expires, with keepttl)
        self.until = until

    def again(self) -> int | None:
        """Count one more hit and give its rcode; None when the reply is no longer the one to send."""
        entry = self.entry
        if entry.dead or self.cache.now() >= self.until:
            return None
        self.counters.hit(entry.kind)
        self.cache.wire_hits += 1
        return entry.rcode


class CacheWriter(WriterWrapper):
    """Stores the reply the rest of the chain writes, then passes it on (unless only capturing)."""

    __slots__ = ("cache", "capture", "counters", "key", "msg", "req", "verify")

    def __init__(
        self,
        inner: ResponseWriter,
        cache: Cache,
        req: Request,
        key: Key,
        counters: Counters,
        *,
        capture: bool = False,
        verify: bool = False,
    ) -> None:
        super().__init__(inner)
        self.cache = cache
        self.req = req
        self.key = key
        self.counters = counters
        self.capture = capture
        self.verify = verify
        self.msg: dns.message.Message | None = None

    async def write_msg(self, msg: dns.message.Message) -> int:
        out = self.cache.absorb(msg, self.req, self.key, self.counters, self.verify)
        self.msg = out
        if self.capture:
            return 0
        return await self.inner.write_msg(out)


def with_ttl(msg: dns.message.Message, ttl: int) -> dns.message.Message:
    """A copy of ``msg`` whose records all have TTL ``ttl`` (the original is not changed)."""
    out = dns.message.Message(id=msg.id)
    out.flags = msg.flags
    out.question = list(msg.question)
    out.answer = [_ttl(r, ttl) for r in msg.answer]
    out.authority = [_ttl(r, ttl) for r in msg.authority]
    out.additional = [_ttl(r, ttl) for r in msg.additional]
    if msg.edns >= 0:
        out.use_edns(msg.edns, msg.ednsflags, msg.payload, options=list(msg.options))
    return out


def _ttl(rrset: dns.rrset.RRset, ttl: int) -> dns.rrset.RRset:
    r = rrset.copy()
    r.ttl = ttl
    return r


def matches(msg: dns.message.Message, key: Key) -> bool:
    """The reply is a response to the question of ``key`` (name compared without case)."""
    if not msg.flags & dns.flags.QR or len(msg.question) != 1:
        return False
    q = msg.question[0]
    wire = q.name.to_wire()
    return wire is not None and wire.lower() == key[0] and q.rdtype == key[1] and q.rdclass == key[2]


def refresh_request(entry: Entry, key: Key, server: str, zone: str, view: str, remote: tuple[str, int]) -> Request:
    """A query for the entry's question with the key's DO and CD, as a client over TCP would send it."""
    name = dns.name.from_wire(entry.wire, 12)[0]
    m = dns.message.Message(id=random.randrange(65536))
    m.flags = dns.flags.Flag(dns.flags.RD | (dns.flags.CD if key[4] else 0))
    m.question = [dns.rrset.RRset(name, dns.rdataclass.RdataClass.make(key[2]), dns.rdatatype.RdataType.make(key[1]))]
    if key[3]:
        m.use_edns(0, dns.flags.DO, 1232)
    r = Request(m, remote=remote, proto="tcp", server=server)
    r.zone, r.view = zone, view
    return r
