"""forward's part of the cache-miss path: a query sent upstream and its reply handed on, no task.

``Forward.wire_forward`` takes a miss the server's wire path could not answer from the cache when
it can send it at once: on a connection already open to a healthy upstream. A ``Flight`` then
waits on that connection like any query (same IDs, same reply checks) and carries every
identical query that arrives meanwhile. Its reply goes to each query's ``path.miss_reply``;
anything else (timeout, network error, a reply the full path must judge) goes to
``path.miss_failed``, which answers the query through the full path (with the reply, if any).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, final

from kdns.plugins.forward.proxy import UDP, Conn, NetworkError, Pool, Question, Upstream

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery
    from kdns.plugins.forward.plugin import Forward

#: flight key: lower-case name, type, class, RD+CD bits, upstream transport, OPT minus its UDP size
FlightKey = tuple[bytes, int, int, int, str, bytes]


@final
class Flight:
    """One upstream exchange of the wire path and the client queries waiting on it."""

    __slots__ = (
        "conn",
        "done",
        "fwd",
        "key",
        "pool",
        "proto",
        "q",
        "qid",
        "queries",
        "reused",
        "start",
        "up",
    )

    def __init__(
        self, fwd: Forward, key: FlightKey, up: Upstream, pool: Pool, conn: Conn, q: Question, first: WireQuery
    ) -> None:
        self.fwd = fwd
        self.key = key
        self.up = up
        self.pool = pool
        self.conn = conn
        self.proto = pool.proto
        self.q = q
        self.reused = True
        self.qid = 0
        self.queries = [first]
        self.start = time.monotonic()
        self.done = False

    # -- the Waiter protocol of proxy.Conn ---------------------------------------------

    def finished(self) -> bool:
        return self.done

    def resolve(self, data: bytes) -> None:
        now = time.monotonic()
        self._end(now)
        self.up.observe(data[3] & 0xF, now - self.start)
        self.fwd.wire_reply(self, data)

    def fail(self, exc: NetworkError) -> None:
        self._end()
        self._give_up()

    def expire(self) -> None:
        """The read timeout passed without a reply (``Forward`` checks its flights, oldest first)."""
        if self.done:
            return
        self._end()
        if self.proto != UDP:
            self.pool.retire(self.conn)  # a stream that lost a reply is not trusted with more queries
        self._give_up()

    def _end(self, now: float | None = None) -> None:
        self.done = True
        self.pool.release(self.conn, self.qid, now)
        fwd = self.fwd
        if fwd.wire_flights.get(self.key) is self:
            del fwd.wire_flights[self.key]
        if fwd.opts.max_concurrent:
            fwd.concurrent -= len(self.queries)

    def _give_up(self) -> None:
        """No usable reply: start the upstream's health probes; the full path answers every query."""
        checker = self.up.checker
        if checker is not None:
            checker.trigger()
        for q in self.queries:
            q.path.miss_failed(q, None)


__all__ = ["Flight", "FlightKey"]
