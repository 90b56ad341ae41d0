"""One listen address: route a query to the block of the longest matching zone and run its chain."""

from __future__ import annotations

import asyncio
import time

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from kdns import metrics
from kdns.core import fastpath
from kdns.core.fastpath import FULL, Client, FastPath, Replay
from kdns.errors import PluginError
from kdns.log import logger
from kdns.plugin import Handler, client_wrote
from kdns.request import Request, make_reply
from kdns.writer import ResponseWriter

log = logger("server")
#: plugins that may answer classes other than IN
ANY_CLASS = frozenset({"chaos", "forward", "proxy"})
#: names whose route the wire path remembers
ROUTES_MAX = 8192
#: queries (by their bytes) whose cache hit the wire path can send again
REPLAYS_MAX = 16384


class Route:
    """A zone's chain on one listener."""

    __slots__ = ("any_class", "chain", "fast", "zone")

    def __init__(self, zone: str, chain: Handler | None, any_class: bool, fast: FastPath | None = None) -> None:
        self.zone = zone
        self.chain = chain
        self.any_class = any_class
        #: the cache-hit path of this route's chain, when it has one
        self.fast = fast


class Server:
    """Zone routing and the server-level rules of CoreDNS (reference §1.5) for one address."""

    def __init__(self, label: str, routes: dict[str, Route], *, debug: bool = False) -> None:
        #: the metrics ``server`` label, e.g. ``dns://:53``
        self.label = label
        self.routes = routes
        self.debug = debug
        self.inflight = 0
        #: answers cache hits from bytes (None when no route has a cache-hit path)
        self.fast = self._fast if any(r.fast is not None for r in routes.values()) else None
        self._fast_failed = False
        #: qname -> route, for the wire path (bounded; DS queries are not remembered)
        self._routes: dict[str, Route | None] = {}
        #: hits answered again from a Replay (for tests and benchmarks)
        self.replayed = 0
        #: query bytes after the ID -> the hit to send again, one map per transport (sizes differ)
        self._replays: dict[str, dict[bytes, Replay]] = {"udp": {}, "tcp": {}}
        #: the route of every name when the root zone is the only one
        self._only = routes["."] if list(routes) == ["."] else None
        self._idle = asyncio.Event()
        self._idle.set()

    def route(self, qname: str, qtype: int) -> Route | None:
        """The route of the longest zone holding ``qname``; DS prefers the parent's zone."""
        routes = self.routes
        name = qname
        found: Route | None = None
        while True:
            r = routes.get(name)
            if r is not None:
                if qtype != dns.rdatatype.DS or name != qname:
                    return r
                found = r  # DS at a zone cut: keep walking to the parent's block
            if name == ".":
                break
            i = name.find(".")
            name = name[i + 1 :] or "."
        return found

    def _fast(self, wire: bytes, remote: tuple[str, int], proto: str, client: Client, addr: object) -> bytearray | None:
        """The reply to a cache hit, straight from bytes; ``fastpath.PENDING`` when a miss went upstream
        (``client`` sends its reply later, to ``addr``); None sends the query down the full path."""
        try:
            replays = self._replays[proto]
            key = wire[2:]
            again = replays.get(key)
            if again is not None:
                out = again.answer(wire, remote, client, addr)
                if out is FULL:
                    return None
                if out is not None:
                    self.replayed += 1
                    return out
                del replays[key]
            q = fastpath.parse(wire, remote, proto)
            if q is None or q.qclass != 1:
                return None
            qname = q.qname
            r: Route | None
            if self._only is not None:
                r = self._only
            elif q.qtype == dns.rdatatype.DS:
                r = self.route(qname, q.qtype)
            else:
                memo = self._routes
                r = memo.get(qname)
                if r is None:
                    r = self.route(qname, q.qtype)
                    if len(memo) >= ROUTES_MAX:
                        memo.clear()
                    memo[qname] = r
            if r is None or r.fast is None:
                return None
            q.server = self.label
            q.zone = r.zone
            q.client = client
            q.addr = addr
            fast = r.fast
            fast.last = None
            out = fast.answer(q)
            last = fast.last
            if last is not None and last.q is q:
                fast.last = None
                if len(replays) >= REPLAYS_MAX:
                    replays.clear()
                replays[key] = last
            return out
        except Exception:
            if not self._fast_failed:  # log once; the full path still answers
                self._fast_failed = True
                log.exception("cache-hit path failed; using the full path")
            return None

    async def serve(self, w: ResponseWriter, req: Request) -> None:
        """Answer ``req`` through ``w``: route, run the chain, write an error reply if it did not."""
        self.inflight += 1
        self._idle.clear()
        try:
            await self._serve(w, req)
        finally:
            self.inflight -= 1
            if not self.inflight:
                self._idle.set()

    async def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the queries this server is answering."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            log.warning("%s: %d queries still in flight after %.1fs", self.label, self.inflight, timeout)

    async def _serve(self, w: ResponseWriter, req: Request) -> None:
        msg = req.msg
        if not msg.question:
            await self._error(w, req, dns.rcode.SERVFAIL, metrics.DROPPED)
            return
        if msg.edns > 0:
            await self._error(w, req, dns.rcode.BADVERS, metrics.DROPPED)
            return
        r = self.route(req.qname, req.qtype)
        if r is None or r.chain is None:
            await self._error(w, req, dns.rcode.REFUSED, metrics.DROPPED)
            return
        if req.qclass != dns.rdataclass.IN and not r.any_class:
            await self._error(w, req, dns.rcode.REFUSED, metrics.DROPPED)
            return
        req.zone = r.zone
        req.server = self.label
        chain = r.chain
        req.plugin = chain.name
        try:
            rcode = await chain.serve_dns(w, req)
        except PluginError as e:
            # a known failure, logged by *errors* if configured; answer with its rcode
            rcode = e.rcode if not client_wrote(e.rcode) else dns.rcode.SERVFAIL
        except Exception:
            if self.debug:
                raise
            metrics.PANICS.inc()
            log.exception("plugin panic on %s %s", req.qname, req.type_text)
            rcode = dns.rcode.SERVFAIL
        if not client_wrote(rcode) and not getattr(w, "written", False):
            await w.write_msg(make_reply(msg, rcode))

    async def _error(self, w: ResponseWriter, req: Request, rcode: int, zone: str) -> None:
        start = time.monotonic()
        req.server = self.label
        reply = make_reply(req.msg, rcode)
        n = await w.write_msg(reply)
        metrics.report_request(req, zone, rcode, "", n, start)
