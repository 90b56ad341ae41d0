"""cache metrics, with CoreDNS's names and labels; the query path uses ``Counters`` (children resolved once)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, final

from prometheus_client import Gauge

from kdns.metrics import NAMESPACE, REGISTRY, LoopMetric

SUBSYSTEM = "cache"

ENTRIES = Gauge(
    "entries",
    "The number of elements in the cache.",
    ["server", "type", "zones", "view"],
    namespace=NAMESPACE,
    subsystem=SUBSYSTEM,
    registry=REGISTRY,
)
REQUESTS = LoopMetric("requests", "The count of cache requests.", ["server", "zones", "view"], subsystem=SUBSYSTEM)
HITS = LoopMetric("hits", "The count of cache hits.", ["server", "type", "zones", "view"], subsystem=SUBSYSTEM)
MISSES = LoopMetric(
    "misses",
    "The count of cache misses. Deprecated, derive misses from cache hits/requests counters.",
    ["server", "zones", "view"],
    subsystem=SUBSYSTEM,
)
PREFETCH = LoopMetric(
    "prefetch",
    "The number of times the cache has prefetched a cached item.",
    ["server", "zones", "view"],
    subsystem=SUBSYSTEM,
)
DROPS = LoopMetric(
    "drops",
    "The number responses that are not cached, because the reply is malformed.",
    ["server", "zones", "view"],
    subsystem=SUBSYSTEM,
)
SERVED_STALE = LoopMetric(
    "served_stale",
    "The number of requests served from stale cache entries.",
    ["server", "zones", "view"],
    subsystem=SUBSYSTEM,
)
EVICTIONS = LoopMetric(
    "evictions", "The count of cache evictions.", ["server", "type", "zones", "view"], subsystem=SUBSYSTEM
)


@final
class _Lazy:
    """One series, created at its first event (so it is not exported before it has a value)."""

    __slots__ = ("labels", "metric", "series")

    def __init__(self, metric: Any, *labels: str) -> None:
        self.metric = metric
        self.labels = labels
        self.series: Any = None

    def inc(self) -> None:
        s = self.series
        if s is None:
            s = self.series = self.metric.labels(*self.labels)
        s.inc()

    def set(self, value: float) -> None:
        s = self.series
        if s is None:
            s = self.series = self.metric.labels(*self.labels)
        s.set(value)

    def track(self, fn: Callable[[], float]) -> None:
        """Make the series a gauge read from ``fn`` at every scrape (nothing to set per event)."""
        s = self.series
        if s is None:
            s = self.series = self.metric.labels(*self.labels)
        s.set_function(fn)


@final
class Counters:
    """The series of one (server, zones, view), resolved once."""

    __slots__ = (
        "_hit_series",
        "drops",
        "entries",
        "evictions",
        "hits",
        "misses",
        "prefetch",
        "requests",
        "served_stale",
    )

    def __init__(self, server: str, zones: str, view: str) -> None:
        self.requests = _Lazy(REQUESTS, server, zones, view)
        self.misses = _Lazy(MISSES, server, zones, view)
        self.prefetch = _Lazy(PREFETCH, server, zones, view)
        self.drops = _Lazy(DROPS, server, zones, view)
        self.served_stale = _Lazy(SERVED_STALE, server, zones, view)
        self.hits = {t: _Lazy(HITS, server, t, zones, view) for t in ("success", "denial")}
        self.evictions = {t: _Lazy(EVICTIONS, server, t, zones, view) for t in ("success", "denial")}
        self.entries = {t: _Lazy(ENTRIES, server, t, zones, view) for t in ("success", "denial")}
        #: (requests, hits) series per type, once the first hit of that type made them
        self._hit_series: dict[str, tuple[Any, Any]] = {}

    def hit(self, kind: str) -> None:
        """Count a lookup that found an entry of ``kind`` (requests_total and hits_total)."""
        pair = self._hit_series.get(kind)
        if pair is None:
            self.requests.inc()
            self.hits[kind].inc()
            self._hit_series[kind] = (self.requests.series, self.hits[kind].series)
            return
        pair[0].inc()
        pair[1].inc()
