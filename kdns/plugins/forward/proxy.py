"""Upstream connections: pooled UDP sockets and pipelined TCP/TLS connections, replies matched by ID.

Every connection carries several queries at once. Each query gets a random ID not in use on its
connection; a reply is handed to the query of its ID only when it is a response and echoes the
question (name compared case-insensitively, type and class exactly). Anything else is dropped and
the query keeps waiting for its reply until its read timeout.

A pool per upstream and transport reuses connections, oldest first (see ``Pool.acquire`` for how
TCP spreads before it pipelines). A connection idle longer than ``expire`` is closed; one older
than ``max_age``, or with ``MAX_QUERIES`` sent, takes no new queries and closes when idle; at most
``max_idle_conns`` idle connections are kept. A pooled connection the upstream closed before
answering is retried on another connection (``CachedClosed``); a fresh one failing is an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import ssl
import struct
import time
from dataclasses import dataclass
from typing import Any, Protocol

from kdns.metrics import Children, rcode_label
from kdns.plugins.forward import metrics
from kdns.plugins.forward.health import HealthChecker, HealthState

UDP = "udp"
TCP = "tcp"
#: the ``proto`` label of DNS over TLS (CoreDNS's name for it)
TLS = "tcp-tls"
#: queries in flight on one connection before the pool opens another
MAX_INFLIGHT = {UDP: 256, TCP: 16, TLS: 16}
#: TCP/TLS connections opened before queries are pipelined on busy ones
SPREAD = 4
#: queries sent on one TCP/TLS connection before it is retired (CoreDNS's servers close after 128)
MAX_QUERIES = 100
#: a health probe waits at most this long for its reply
PROBE_TIMEOUT = 1.0

_LEN = struct.Struct("!H")
_ID = struct.Struct("!H")


class _IDs:
    """Random 16-bit query IDs from the OS's CSPRNG, read 2,048 at a time (one syscall, not one per query)."""

    __slots__ = ("ids",)

    def __init__(self) -> None:
        self.ids: list[int] = []

    def next(self) -> int:
        ids = self.ids
        if not ids:
            raw = secrets.token_bytes(4096)
            ids.extend(struct.unpack(f"!{len(raw) // 2}H", raw))
        return ids.pop()


_ids = _IDs()


class NetworkError(Exception):
    """No usable reply from an upstream: refused, reset, closed, timed out, unreachable."""


class CachedClosed(NetworkError):
    """A reused connection was closed by the upstream before the reply came: retry on another."""


@dataclass(frozen=True, slots=True)
class Options:
    """Connection settings shared by every upstream of one forward line."""

    expire: float = 10.0
    max_age: float = 0.0
    max_idle_conns: int = 0
    read_timeout: float = 2.0
    source: str | None = None


def question_end(wire: bytes | bytearray) -> int:
    """Offset just past the question's name (the query's first name, never compressed); ValueError if bad."""
    end = 12
    while True:
        n = wire[end]
        if n == 0:
            return end + 1
        if n > 63:
            raise ValueError("compressed or invalid question name")
        end += n + 1


class Question:
    """What a reply must echo: the query's name (lower-case wire form) and its type and class bytes."""

    __slots__ = ("name", "nend", "tail")

    def __init__(self, wire: bytes | bytearray, nend: int, name: bytes | None = None) -> None:
        self.name = bytes(wire[12:nend]).lower() if name is None else name
        self.tail = bytes(wire[nend : nend + 4])
        self.nend = nend

    def matches(self, data: bytes) -> bool:
        """``data`` is a response with exactly one question, and it is this one."""
        if data[2] & 0x80 == 0 or data[4] != 0 or data[5] != 1:
            return False
        nend = self.nend
        return data[12:nend].lower() == self.name and data[nend : nend + 4] == self.tail


class Waiter(Protocol):
    """A query waiting on a connection for its reply: a future (``_Waiter``) or a callback (forward's wire path)."""

    q: Question
    reused: bool

    def finished(self) -> bool: ...

    def resolve(self, data: bytes) -> None: ...

    def fail(self, exc: NetworkError) -> None: ...


class _Waiter:
    __slots__ = ("fut", "q", "reused")

    def __init__(self, fut: asyncio.Future[bytes], q: Question, reused: bool) -> None:
        self.fut = fut
        self.q = q
        self.reused = reused

    def finished(self) -> bool:
        return self.fut.done()

    def resolve(self, data: bytes) -> None:
        self.fut.set_result(data)

    def fail(self, exc: NetworkError) -> None:
        self.fut.set_exception(exc)


class Conn:
    """One connection to an upstream and the queries waiting on it (by upstream ID)."""

    proto = UDP

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.waiters: dict[int, Waiter] = {}
        self.transport: Any = None
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()
        #: set when the transport is gone
        self.gone: asyncio.Future[None] = loop.create_future()
        self.created = self.last_used = time.monotonic()
        self.closed = False
        #: takes no new queries (too old, or a query on it timed out); closes once idle
        self.retired = False
        #: queries waiting for it to connect
        self.joining = 0
        #: queries sent on it
        self.sent = 0

    def new_id(self) -> int:
        waiters = self.waiters
        qid = _ids.next()
        while qid in waiters:
            qid = _ids.next()
        return qid

    def deliver(self, data: bytes) -> None:
        """A message from the upstream: complete the query it answers, drop it otherwise."""
        if len(data) < 12:
            return
        w = self.waiters.get((data[0] << 8) | data[1])
        if w is None or w.finished() or not w.q.matches(data):
            return
        w.resolve(data)

    def send(self, qid: int, wire: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.pool.forget(self)
            if self.transport is not None:
                self.transport.close()

    def lost(self, exc: BaseException | None) -> None:
        """The connection is gone: fail its queries (reused ones may retry elsewhere)."""
        self.closed = True
        self.pool.forget(self)
        if not self.gone.done():
            self.gone.set_result(None)
        why = str(exc) if exc else "connection closed by upstream"
        for w in list(self.waiters.values()):
            if not w.finished():
                w.fail(CachedClosed(why) if w.reused else NetworkError(why))


class UDPConn(Conn, asyncio.DatagramProtocol):
    proto = UDP

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.deliver(data)

    def error_received(self, exc: Exception) -> None:
        # a connected socket reports ICMP errors (port unreachable): the upstream is not there
        for w in list(self.waiters.values()):
            if not w.finished():
                w.fail(NetworkError(str(exc)))
        self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost(exc)

    def send(self, qid: int, wire: bytes) -> None:
        self.transport.sendto(_ID.pack(qid) + wire[2:])


class StreamConn(Conn, asyncio.Protocol):
    """TCP or TLS: 2-byte length framing, many queries pipelined, replies in any order."""

    proto = TCP

    def __init__(self, pool: Pool) -> None:
        super().__init__(pool)
        self.proto = pool.proto
        self._buf = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        while len(buf) >= 2:
            n = (buf[0] << 8) | buf[1]
            if len(buf) < n + 2:
                break
            frame = bytes(buf[2 : n + 2])
            del buf[: n + 2]
            self.deliver(frame)

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost fails what is still waiting

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost(exc)

    def send(self, qid: int, wire: bytes) -> None:
        self.transport.write(_LEN.pack(len(wire)) + _ID.pack(qid) + wire[2:])


class Pool:
    """Connections of one upstream over one transport, reused first in, first out."""

    def __init__(self, up: Upstream, proto: str) -> None:
        self.up = up
        self.proto = proto
        self.opts = up.opts
        self.conns: list[Conn] = []
        self.cap = MAX_INFLIGHT[proto]
        self._tasks: set[asyncio.Task[None]] = set()
        labels = (metrics.PROXY_NAME, up.to, proto)
        self.hits = metrics.CONN_CACHE_HITS.labels(*labels)
        self.misses = metrics.CONN_CACHE_MISSES.labels(*labels)

    async def acquire(self) -> tuple[Conn, bool]:
        """A connection with room for one more query, and whether it was open before (reused).

        UDP: the first socket with room. TCP and TLS: an idle connection if there is one; else a new
        one while fewer than ``SPREAD`` are open; else the least busy (pipelining). Many servers
        answer one TCP connection's queries one after the other, so spreading first keeps a slow
        query from holding up the ones queued behind it.
        """
        best, best_load, usable = self._pick(ready_only=False)
        if best is None or (best_load and self.proto != UDP and usable < SPREAD):
            self.misses.inc()
            c = self.open()
            await self._join(c)
            return c, False
        self.hits.inc()
        if best.ready.done():
            best.ready.result()
            return best, True
        await self._join(best)  # still connecting: share it
        return best, False

    def ready_conn(self) -> Conn | None:
        """A connected connection with room for one more query now, without waiting (the wire path).

        None when ``acquire`` would open a connection or wait for one: the caller then takes the
        way that can wait.
        """
        best, best_load, usable = self._pick(ready_only=True)
        if best is None or (best_load and self.proto != UDP and usable < SPREAD):
            return None
        self.hits.inc()
        return best

    def _pick(self, *, ready_only: bool) -> tuple[Conn | None, int, int]:
        """The connection to use (the least loaded; the first with room for UDP), its load, and how many
        were usable. Connections past ``max_age`` are retired and idle ones past ``expire`` closed on
        the way; with ``ready_only`` the ones still connecting are passed over."""
        now = time.monotonic()
        opts = self.opts
        conns = self.conns
        stream = self.proto != UDP
        best: Conn | None = None
        best_load = self.cap
        usable = 0
        i = 0
        while i < len(conns):
            c = conns[i]
            if c.retired or (ready_only and (not c.ready.done() or c.transport is None)):
                i += 1
                continue
            if opts.max_age and now - c.created > opts.max_age:
                self.retire(c)
                i += 0 if c.closed else 1
                continue
            if not c.waiters and now - c.last_used > opts.expire and c.ready.done():
                c.close()  # removes it from conns
                continue
            usable += 1
            load = len(c.waiters) + c.joining
            if load < best_load:
                best, best_load = c, load
                if load == 0 or not stream:
                    break
            i += 1
        return best, best_load, usable

    @staticmethod
    async def _join(c: Conn) -> None:
        """Wait for ``c`` to connect, holding a place on it meanwhile."""
        c.joining += 1
        try:
            await asyncio.shield(c.ready)
        finally:
            c.joining -= 1

    def open(self) -> Conn:
        if self.up.closed:
            raise NetworkError(f"{self.up.to}: shutting down")
        c: Conn = UDPConn(self) if self.proto == UDP else StreamConn(self)
        self.conns.append(c)
        t = asyncio.get_running_loop().create_task(self._connect(c))
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return c

    async def _connect(self, c: Conn) -> None:
        up = self.up
        loop = asyncio.get_running_loop()
        local = (up.opts.source, 0) if up.opts.source else None
        try:
            async with asyncio.timeout(max(up.opts.read_timeout, 1.0)):
                if isinstance(c, UDPConn):
                    udp = c
                    await loop.create_datagram_endpoint(lambda: udp, remote_addr=up.addr, local_addr=local)
                else:
                    assert isinstance(c, StreamConn)
                    stream = c
                    await loop.create_connection(
                        lambda: stream,
                        up.addr[0],
                        up.addr[1],
                        ssl=up.ssl,
                        server_hostname=up.server_name if up.ssl is not None else None,
                        local_addr=local,
                    )
        except (OSError, ssl.SSLError, TimeoutError) as e:
            c.closed = True
            self.forget(c)
            c.ready.set_exception(NetworkError(f"{up.to}: {str(e) or 'connect timeout'}"))
            c.ready.exception()  # retrieved: nobody may be waiting any more
            return
        except asyncio.CancelledError:
            c.closed = True
            self.forget(c)
            c.ready.cancel()
            raise
        if c.closed:  # the pool was closed while connecting
            c.transport.close()
            c.ready.set_exception(NetworkError(f"{up.to}: closed"))
            c.ready.exception()
            return
        c.ready.set_result(None)

    def release(self, c: Conn, qid: int, now: float | None = None) -> None:
        """A query on ``c`` is over: close ``c`` when it is retired or one idle connection too many."""
        c.waiters.pop(qid, None)
        c.last_used = time.monotonic() if now is None else now
        if c.waiters or c.closed:
            return
        if c.retired or self.opts.expire <= 0 or self._too_many_idle():
            c.close()

    def _too_many_idle(self) -> bool:
        cap = self.opts.max_idle_conns
        return bool(cap) and sum(1 for x in self.conns if not x.waiters and not x.joining) > cap

    def retire(self, c: Conn) -> None:
        c.retired = True
        if not c.waiters:
            c.close()

    def forget(self, c: Conn) -> None:
        with contextlib.suppress(ValueError):
            self.conns.remove(c)

    def sweep(self, now: float) -> None:
        """Close connections idle past ``expire`` or older than ``max_age`` (run now and then)."""
        opts = self.opts
        for c in list(self.conns):
            if c.waiters or not c.ready.done():
                continue
            if now - c.last_used > opts.expire or (opts.max_age and now - c.created > opts.max_age):
                c.close()

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        conns = list(self.conns)
        for c in conns:
            c.close()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        gone = [c.gone for c in conns if c.transport is not None]
        if gone:
            await asyncio.wait(gone, timeout=1.0)  # the transports have let go of their sockets


class Upstream:
    """One TO of a forward line: its address, pools, health state and metrics."""

    def __init__(
        self,
        host: str,
        port: int,
        opts: Options,
        *,
        tls: ssl.SSLContext | None = None,
        server_name: str = "",
        max_fails: int = 2,
    ) -> None:
        self.addr = (host, port)
        self.to = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.opts = opts
        self.ssl = tls
        self.server_name = server_name or host
        self.health = HealthState(max_fails)
        self.checker: HealthChecker | None = None
        #: set by ``close``: no new connections from then on
        self.closed = False
        self._pools: dict[str, Pool] = {}
        self._durations = Children(metrics.REQUEST_DURATION)
        self._rcodes: dict[int, Any] = {}

    def __repr__(self) -> str:
        return f"Upstream({'tls://' if self.ssl else ''}{self.to})"

    def pool(self, proto: str) -> Pool:
        if self.ssl is not None:
            proto = TLS
        p = self._pools.get(proto)
        if p is None:
            p = self._pools[proto] = Pool(self, proto)
        return p

    async def exchange(self, wire: bytes, q: Question, proto: str, deadline: float) -> bytes:
        """Send ``wire`` (a query; its ID is replaced) and return the matching reply's bytes.

        NetworkError when no reply came within the read timeout (or before ``deadline``, the query's
        overall deadline in the loop's clock), or the connection failed.
        """
        pool = self.pool(proto)
        start = time.monotonic()
        c: Conn | None = None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(min(deadline, loop.time() + self.opts.read_timeout)):
                while True:
                    c, reused = await pool.acquire()
                    qid = c.new_id()
                    fut: asyncio.Future[bytes] = loop.create_future()
                    c.waiters[qid] = _Waiter(fut, q, reused)
                    c.sent += 1
                    if c.sent >= MAX_QUERIES and c.proto != UDP:
                        c.retired = True  # closes once its queries are answered
                    try:
                        c.send(qid, wire)
                        data = await fut
                    except CachedClosed:
                        continue  # the upstream closed a pooled connection: try a fresh one
                    finally:
                        pool.release(c, qid)
                    break
        except TimeoutError:
            if c is not None and c.proto != UDP:
                pool.retire(c)  # a stream that lost a reply is not trusted with more queries
            raise NetworkError(f"{self.to}: read timeout") from None
        except OSError as e:
            raise NetworkError(f"{self.to}: {e}") from None
        self.observe(data[3] & 0xF, time.monotonic() - start)
        return data

    def observe(self, rcode: int, seconds: float) -> None:
        """Count one exchange that got a reply with ``rcode`` after ``seconds``."""
        child = self._rcodes.get(rcode)
        if child is None:
            child = self._rcodes[rcode] = self._durations[(metrics.PROXY_NAME, self.to, rcode_label(rcode))]
        child.observe(seconds)

    async def probe(self, wire: bytes, q: Question, proto: str) -> bool:
        """One health check on a connection of its own: True on any reply."""
        loop = asyncio.get_running_loop()
        tmp = Pool(self, TLS if self.ssl is not None else proto)
        try:
            c = tmp.open()
            async with asyncio.timeout(min(PROBE_TIMEOUT, self.opts.read_timeout)):
                await asyncio.shield(c.ready)
                qid = c.new_id()
                fut: asyncio.Future[bytes] = loop.create_future()
                c.waiters[qid] = _Waiter(fut, q, False)
                c.send(qid, wire)
                await fut
            return True
        except (NetworkError, OSError, TimeoutError):
            return False
        finally:
            await tmp.close()

    def sweep(self, now: float) -> None:
        for p in self._pools.values():
            p.sweep(now)

    async def close(self) -> None:
        self.closed = True
        if self.checker is not None:
            await self.checker.stop()
        for p in list(self._pools.values()):
            await p.close()
