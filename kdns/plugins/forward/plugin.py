"""The forward handler: send a query to the upstreams by policy, skip the down ones, relay the reply."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dns.message
import dns.rcode

from kdns.core.wire import PARSE_ERRORS
from kdns.errors import PluginError
from kdns.pkg.singleflight import Group
from kdns.plugin import Handler, next_or_failure
from kdns.plugins.forward import metrics
from kdns.plugins.forward.health import HealthChecker
from kdns.plugins.forward.policy import Policy
from kdns.plugins.forward.proxy import MAX_QUERIES, TCP, UDP, NetworkError, Question, Upstream, question_end
from kdns.plugins.forward.reply import parse_reply
from kdns.plugins.forward.wire import Flight, FlightKey
from kdns.request import Request
from kdns.writer import ResponseWriter

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery
    from kdns.plugins.forward.setup import ForwardOptions

NAME = "forward"
#: one deadline for the whole query, however many upstreams it tries
QUERY_TIMEOUT = 5.0
HINFO = 13

#: singleflight key: lower-case name, type+class, RD, CD, upstream transport, the rest (EDNS) minus UDP size
Key = tuple[bytes, bytes, int, int, str, bytes]


@dataclass(slots=True, eq=False)
class Forward:
    opts: ForwardOptions
    upstreams: list[Upstream]
    policy: Policy
    #: the health probe's query bytes
    probe_wire: bytes
    next: Handler | None = None
    name: str = NAME
    timeout: float = QUERY_TIMEOUT
    #: queries being forwarded now (kept only with max_concurrent)
    concurrent: int = 0
    flights: Group[Key, bytes] = field(default_factory=Group)
    #: exchanges of the wire (cache-miss) path in flight, by what makes queries identical
    wire_flights: dict[FlightKey, Flight] = field(default_factory=dict)
    #: exchanges the wire path sent (each may carry several identical queries)
    wire_sent: int = 0
    #: checks the wire path's flights for their read timeout while there are any
    _wire_timer: asyncio.TimerHandle | None = field(init=False, default=None)
    _wire_timeout: float = field(init=False, default=0.0)
    _match_all: bool = field(init=False, default=False)
    _dot_zone: str = field(init=False, default="")
    _excepts: tuple[tuple[str, str], ...] = field(init=False, default=())
    _max_attempts: int = field(init=False, default=0)
    _rng: random.Random = field(init=False, default_factory=random.Random)
    _sweeper: asyncio.Task[None] | None = field(init=False, default=None)
    #: resolves the host-name upstreams at startup (None when every TO is an address)
    resolve: Callable[[], Awaitable[list[Upstream]]] | None = None

    def __post_init__(self) -> None:
        o = self.opts
        self._match_all = o.zone == "." and not o.excepts
        self._dot_zone = "" if o.zone == "." else "." + o.zone
        self._excepts = tuple((e, "" if e == "." else "." + e) for e in o.excepts)
        self.adopt([])

    def adopt(self, ups: list[Upstream]) -> None:
        """Add upstreams (those of host names resolved at startup) and give every one its health checker."""
        o = self.opts
        self.upstreams.extend(ups)
        n = o.max_connect_attempts
        self._max_attempts = 2 * len(self.upstreams) if n is None else n
        probe_q = Question(self.probe_wire, question_end(self.probe_wire))
        for up in self.upstreams:
            if up.checker is not None:
                continue
            proto = TCP if o.force_tcp else UDP  # a TLS upstream always probes over TLS
            up.checker = HealthChecker(
                up.health,
                functools.partial(up.probe, self.probe_wire, probe_q, proto),
                o.hc_interval,
                up.to,
                metrics.HEALTHCHECK_FAILURES.labels(metrics.PROXY_NAME, up.to).inc,
            )

    def chain_to(self, nxt: Handler | None) -> Forward:
        """The plugin factory: this forward, handing on to ``nxt``."""
        self.next = nxt
        return self

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self.resolve is not None:
            self.adopt(await self.resolve())
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="forward-sweeper")

    async def stop(self) -> None:
        if self._wire_timer is not None:
            self._wire_timer.cancel()
            self._wire_timer = None
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for up in self.upstreams:
            await up.close()

    async def _sweep(self) -> None:
        """Close idle connections past ``expire`` now and then (a pick also checks them)."""
        interval = min(max(self.opts.expire / 2, 0.5), 30.0)
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for up in self.upstreams:
                up.sweep(now)

    # -- serving -------------------------------------------------------------------------

    def match(self, qname: str) -> bool:
        """``qname`` is in FROM and not under an ``except`` name (FROM itself always matches)."""
        zone = self.opts.zone
        if qname == zone:
            return True
        if self._dot_zone and not qname.endswith(self._dot_zone):
            return False
        return not any(qname == e or qname.endswith(dot) for e, dot in self._excepts)

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        if not self._match_all and not self.match(req.qname):
            return await next_or_failure(NAME, self.next, w, req)
        limit = self.opts.max_concurrent
        if not limit:
            return await self._forward(w, req)
        if self.concurrent >= limit:
            metrics.REJECTS.inc()
            raise PluginError(NAME, f"concurrent queries exceeded maximum {limit}", dns.rcode.REFUSED)
        self.concurrent += 1
        try:
            return await self._forward(w, req)
        finally:
            self.concurrent -= 1

    async def _forward(self, w: ResponseWriter, req: Request) -> int:
        msg = req.msg
        wire = msg.wire  # the client's bytes: sent with another ID, not rendered again
        if wire is None:
            wire = msg.to_wire()
        try:
            nend = question_end(wire)
        except (ValueError, IndexError):
            raise PluginError(NAME, "malformed question", dns.rcode.FORMERR) from None
        q = Question(wire, nend)
        o = self.opts
        proto = TCP if o.force_tcp else UDP if o.prefer_udp or req.proto == "udp" else TCP
        rest = wire[nend + 4 :]
        key = (q.name, q.tail, wire[2] & 0x01, wire[3] & 0x10, proto, rest[:3] + rest[5:])
        budget = self.timeout - req.spent  # the wire path may have used part of the query's one deadline
        if req.upstream is not None:  # the wire path got this reply but left judging it to us
            data, req.upstream = req.upstream, None
            if data[2] & 0x02 and proto == UDP and o.prefer_udp:
                data = await self._resolve(wire, q, TCP, budget)  # truncated: ask again over TCP
        elif q.tail[:2] == b"\x00\x0d":  # HINFO, loop's probe: every copy that comes round goes out again
            data = await self._resolve(wire, q, proto, budget)
        else:
            data, _ = await self.flights.do(key, functools.partial(self._resolve, wire, q, proto, budget))
        if (o.next_rcodes or o.next_on_nodata) and isinstance(self.next, Forward):
            rcode = data[3] & 0xF
            if rcode in o.next_rcodes or (o.next_on_nodata and rcode == 0 and data[6] == data[7] == 0):
                return await next_or_failure(NAME, self.next, w, req)
        await w.write_msg(_reply(data, wire, nend))
        return dns.rcode.NOERROR

    # -- the wire (cache-miss) path ---------------------------------------------------------

    def wire_forward(self, q: WireQuery) -> bool:
        """Send ``q`` upstream now, or join the identical query in flight; False leaves it to the full path.

        Only the plain case is taken: the query is for this forward, the first healthy upstream in
        policy order has a connection ready, and ``max_concurrent`` has room. The reply reaches
        ``q.path.miss_reply`` (or ``q.path.miss_failed``) from the connection's callback.
        """
        if (not self._match_all and not self.match(q.qname)) or q.qtype == HINFO:
            return False
        o = self.opts
        limit = o.max_concurrent
        if limit and self.concurrent >= limit:
            return False  # the full path refuses it and counts the reject
        proto = TCP if o.force_tcp else UDP if o.prefer_udp or q.proto == "udp" else TCP
        wire = q.wire
        e = q.qend
        key = (q.qkey, q.qtype, q.qclass, q.flags & 0x0110, proto, wire[e : e + 3] + wire[e + 5 :])  # a FlightKey
        f = self.wire_flights.get(key)
        if f is not None:
            f.queries.append(q)
            if limit:
                self.concurrent += 1
            return True
        ups = self.upstreams
        up = None
        for u in ups if len(ups) == 1 else self.policy.order(ups):
            h = u.health
            if not (h.max_fails and h.fails > h.max_fails):  # not down
                up = u
                break
        if up is None:
            return False
        pool = up.pool(proto)
        c = pool.ready_conn()
        if c is None:
            return False
        f = Flight(self, key, up, pool, c, Question(wire, e - 4, q.qkey), q)
        f.qid = qid = c.new_id()
        try:
            c.send(qid, wire)
        except OSError:
            return False
        c.waiters[qid] = f
        c.sent += 1
        if c.sent >= MAX_QUERIES and c.proto != UDP:
            c.retired = True
        if self._wire_timer is None:
            self._arm()
        self.wire_flights[key] = f
        self.wire_sent += 1
        if limit:
            self.concurrent += 1
        return True

    def _arm(self) -> None:
        """Check the flights for their read timeout in a while: one timer for them all, not one each."""
        if not self._wire_timeout:
            self._wire_timeout = min(self.opts.read_timeout, self.timeout)
        tick = min(max(self._wire_timeout / 4, 0.005), 0.25)
        self._wire_timer = asyncio.get_running_loop().call_later(tick, self._expire_flights)

    def _expire_flights(self) -> None:
        """Time out the flights older than the read timeout (oldest first: the dict keeps sending order)."""
        self._wire_timer = None
        flights = self.wire_flights
        cutoff = time.monotonic() - self._wire_timeout
        while flights:
            key, f = next(iter(flights.items()))
            if f.start > cutoff:
                break
            f.expire()  # removes it from ``flights``
            if flights.get(key) is f:
                del flights[key]
        if flights:
            self._arm()

    def wire_reply(self, f: Flight, data: bytes) -> None:
        """The upstream answered a flight: hand the reply on, or to the full path when it must judge it.

        A ``failover`` rcode sends the queries to the full path to try the other upstreams; a
        truncated reply under ``prefer_udp`` and a ``next`` rcode go with the reply in hand.
        """
        o = self.opts
        rcode = data[3] & 0xF
        if rcode in o.failover:
            for q in f.queries:
                q.path.miss_failed(q, None)
            return
        judge = bool(data[2] & 0x02 and f.proto == UDP and o.prefer_udp and f.up.ssl is None)
        if not judge and (o.next_rcodes or o.next_on_nodata) and isinstance(self.next, Forward):
            judge = rcode in o.next_rcodes or (o.next_on_nodata and rcode == 0 and data[6] == data[7] == 0)
        for q in f.queries:
            if judge:
                q.path.miss_failed(q, data)
            else:
                q.path.miss_reply(q, data)

    async def _resolve(self, wire: bytes, q: Question, proto: str, budget: float | None = None) -> bytes:
        """The reply bytes from the first upstream that answers, trying them in policy order.

        Down upstreams are skipped; when all are down one random upstream is tried (or none with
        failfast_all_unhealthy_upstreams). A network error starts the upstream's health probes and
        moves on; a ``failover`` rcode moves on too, and the last such reply is the answer when
        nothing better comes. One deadline bounds the whole query.
        """
        o = self.opts
        order = self.policy.order(self.upstreams)
        cap = self._max_attempts
        attempts = 0
        error = ""
        last: bytes | None = None
        loop = asyncio.get_running_loop()
        budget = self.timeout if budget is None else budget
        deadline = loop.time() + budget  # the one deadline; each attempt ends at it at the latest
        while loop.time() < deadline:
            candidates = [u for u in order if not u.health.down]
            final = False
            if not candidates:
                metrics.BROKEN.inc()
                if o.failfast_all_unhealthy_upstreams:
                    break
                candidates = [self._rng.choice(self.upstreams)]
                final = True
            for up in candidates:
                try:
                    data = await self._exchange(up, wire, q, proto, deadline)
                except NetworkError as e:
                    error = str(e)
                    if up.checker is not None:
                        up.checker.trigger()
                    attempts += 1
                    if (cap and attempts >= cap) or loop.time() >= deadline:
                        final = True
                        break
                    continue
                if data[3] & 0xF in o.failover:
                    last = data
                    continue
                return data
            if last is not None:
                return last
            if final:
                break
        if loop.time() >= deadline:
            error = f"no reply from upstreams within {self.timeout:g}s" + (f" ({error})" if error else "")
        raise PluginError(NAME, error or "no healthy proxies", dns.rcode.SERVFAIL)

    async def _exchange(self, up: Upstream, wire: bytes, q: Question, proto: str, deadline: float) -> bytes:
        data = await up.exchange(wire, q, proto, deadline)
        if data[2] & 0x02 and proto == UDP and self.opts.prefer_udp and up.ssl is None:
            data = await up.exchange(wire, q, TCP, deadline)  # truncated: ask again over TCP
        return data


def _reply(data: bytes, wire: bytes, nend: int) -> dns.message.Message:
    """The upstream reply as the client's: its ID and its question bytes (case) put back, parsed once."""
    try:
        return parse_reply(b"".join((wire[:2], data[2:12], wire[12:nend], data[nend:])))
    except PARSE_ERRORS:
        raise PluginError(NAME, "malformed reply from upstream", dns.rcode.SERVFAIL) from None
