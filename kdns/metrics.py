"""Core metrics with CoreDNS's names, labels and buckets, in kdns's own registry.

Every kdns metric registers in ``REGISTRY`` (the *prometheus* plugin serves it on ``/metrics``).
Plugins declare theirs in their own ``metrics.py`` with ``namespace=NAMESPACE, subsystem=<plugin>``.
On the query path use ``Children`` (label children resolved once), never ``.labels()`` per query.
"""

from __future__ import annotations

import bisect
import platform
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import dns.rcode
import dns.rdatatype
from prometheus_client import CollectorRegistry, Counter, Gauge, Metric, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.utils import floatToGoString

from kdns import CORE_VERSION, __version__

if TYPE_CHECKING:
    from kdns.request import Request

# CoreDNS (Go client) exports no ``*_created`` series; neither do we.
disable_created_metrics()

NAMESPACE = "coredns"
#: 16 exponential buckets from 0.25 ms doubling to 8.192 s (CoreDNS's TimeBuckets)
TIME_BUCKETS = tuple(0.00025 * 2**i for i in range(16))
#: 5 buckets from 0.25 ms to 2.5 s (CoreDNS's SlimTimeBuckets)
SLIM_TIME_BUCKETS = (0.00025, 0.0025, 0.025, 0.25, 2.5)
SIZE_BUCKETS = (0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16000, 32000, 48000, 64000)
#: zone label of queries rejected before any plugin chain
DROPPED = "dropped"

REGISTRY = CollectorRegistry(auto_describe=True)
# The Python counterparts of the Go client's process and runtime collectors.
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

BUILD_INFO = Gauge(
    "build_info",
    "A metric with a constant '1' value labeled by version, revision, and goversion from which CoreDNS was built.",
    ["version", "revision", "goversion"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
BUILD_INFO.labels(CORE_VERSION, f"kdns-{__version__}", f"python{platform.python_version()}").set(1)
PANICS = Counter("panics", "A metrics that counts the number of panics.", namespace=NAMESPACE, registry=REGISTRY)
PLUGIN_ENABLED = Gauge(
    "plugin_enabled",
    "A metric that indicates whether a plugin is enabled on per server and zone basis.",
    ["server", "zone", "view", "name"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)


class _Count:
    """One counter series. Only the event loop's thread writes it: no lock."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class _Buckets:
    """One histogram series: per-bucket counts (not cumulative; the last is +Inf) and the sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        self.sum += amount
        self.counts[bisect.bisect_left(self.bounds, amount)] += 1


class LoopMetric:
    """A labelled counter or histogram for the query path, cheaper than prometheus_client's.

    prometheus_client takes a lock per update and checks per observation; kdns updates its core
    metrics from the event loop's thread only, so a series is a few plain attributes. A scrape
    (possibly in another thread) reads a snapshot of each series.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: list[str],
        *,
        subsystem: str = "",
        buckets: tuple[float, ...] | None = None,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.name = "_".join(p for p in (NAMESPACE, subsystem, name) if p)
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.buckets = tuple(float(b) for b in buckets) if buckets is not None else None
        self._les = [floatToGoString(b) for b in self.buckets or ()] + ["+Inf"]
        self._series: dict[tuple[str, ...], Any] = {}
        registry.register(self)

    def labels(self, *values: str) -> Any:
        """The series of these label values (created at first use). Cache it: see ``Children``."""
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name}: expected labels {self.labelnames}, got {values}")
        s = self._series.get(values)
        if s is None:
            s = self._series[values] = _Count() if self.buckets is None else _Buckets(self.buckets)
        return s

    def clear(self) -> None:
        """Drop every series (children already handed out stop being exported)."""
        self._series.clear()

    def describe(self) -> list[Metric]:
        if self.buckets is None:
            return [CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)]
        return [HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> list[Metric]:
        series = list(self._series.items())  # a snapshot: the loop may add series meanwhile
        if self.buckets is None:
            counter = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
            for labels, c in series:
                counter.add_metric(labels, c.value)
            return [counter]
        hist = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, h in series:
            counts, total = list(h.counts), h.sum
            acc = 0
            cumulative = []
            for le, n in zip(self._les, counts, strict=True):
                acc += n
                cumulative.append((le, float(acc)))
            hist.add_metric(labels, cumulative, total)
        return [hist]


REQUESTS = LoopMetric(
    "requests",
    "Counter of DNS requests made per zone, protocol and family.",
    ["server", "zone", "view", "proto", "family", "type"],
    subsystem="dns",
)
REQUEST_DURATION = LoopMetric(
    "request_duration_seconds",
    "Histogram of the time (in seconds) each request took per zone.",
    ["server", "zone", "view"],
    subsystem="dns",
    buckets=TIME_BUCKETS,
)
REQUEST_SIZE = LoopMetric(
    "request_size_bytes",
    "Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.",
    ["server", "zone", "view", "proto"],
    subsystem="dns",
    buckets=SIZE_BUCKETS,
)
RESPONSE_SIZE = LoopMetric(
    "response_size_bytes",
    "Size of the returned response in bytes.",
    ["server", "zone", "view", "proto"],
    subsystem="dns",
    buckets=SIZE_BUCKETS,
)
RESPONSES = LoopMetric(
    "responses",
    "Counter of response status codes.",
    ["server", "zone", "view", "rcode", "plugin"],
    subsystem="dns",
)
DO_REQUESTS = LoopMetric(
    "do_requests",
    "Counter of DNS requests with DO bit set per zone.",
    ["server", "zone", "view"],
    subsystem="dns",
)

_TYPE_NAMES = ("A", "AAAA", "CNAME", "DNSKEY", "DS", "MX", "NSEC3", "NSEC", "NS", "PTR", "RRSIG", "SOA", "SRV", "TXT",
               "HTTPS", "SVCB", "IXFR", "AXFR", "ANY")  # fmt: skip
#: qtype -> ``type`` label for the types CoreDNS counts by name (the rest are "other")
_TYPE_LABELS: dict[int, str] = {int(dns.rdatatype.from_text(t)): t for t in _TYPE_NAMES}
#: rcode -> ``rcode`` label, precomputed for every named rcode
_RCODE_LABELS: dict[int, str] = {int(r): dns.rcode.to_text(r) for r in dns.rcode.Rcode}


def type_label(qtype: int) -> str:
    """The ``type`` label: the type's name for the common ones, else 'other'."""
    return _TYPE_LABELS.get(qtype, "other")


def rcode_label(rcode: int) -> str:
    """The ``rcode`` label: the rcode's name (``NOERROR``, ``NXDOMAIN``...), the number when unnamed."""
    label = _RCODE_LABELS.get(rcode)
    return label if label is not None else str(rcode)


class Children:
    """Label children resolved once and kept: ``children(m)[labels]`` without ``.labels()`` per query."""

    __slots__ = ("_cache", "_metric")

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._cache: dict[tuple[str, ...], Any] = {}

    def __getitem__(self, labels: tuple[str, ...]) -> Any:
        c = self._cache.get(labels)
        if c is None:
            c = self._cache[labels] = self._metric.labels(*labels)
        return c


class _Series:
    """The request-side children of one (server, zone, view, proto, family, type): one lookup per query."""

    __slots__ = ("do", "duration", "key", "req_size", "requests", "resp_size")

    def __init__(self, server: str, zone: str, view: str, proto: str, family: str, qtype: str) -> None:
        self.key = (server, zone, view)
        self.requests = REQUESTS.labels(server, zone, view, proto, family, qtype)
        #: made at the first DO query, so blocks without any export no DO series (as CoreDNS)
        self.do: Any = None
        self.duration = REQUEST_DURATION.labels(server, zone, view)
        self.req_size = REQUEST_SIZE.labels(server, zone, view, proto)
        self.resp_size = RESPONSE_SIZE.labels(server, zone, view, proto)


_series: dict[tuple[str, str, str, str, str, str], _Series] = {}
_responses = Children(RESPONSES)


def report(
    server: str,
    zone: str,
    view: str,
    proto: str,
    family: str,
    qtype: int,
    do: bool,
    req_size: int,
    rcode: int,
    plugin: str,
    resp_size: int,
    start: float,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Record one answered query in the core DNS metrics (what CoreDNS's vars.Report does).

    ``family`` is the label ('1' IPv4, '2' IPv6), ``plugin`` the plugin that wrote the reply ('' when
    the server did), ``start`` the ``clock()`` reading when the query arrived.
    """
    key = (server, zone, view, proto, family, _TYPE_LABELS.get(qtype, "other"))
    s = _series.get(key)
    if s is None:
        s = _series[key] = _Series(*key)
    s.requests.inc()
    if do:
        if s.do is None:
            s.do = DO_REQUESTS.labels(*s.key)
        s.do.inc()
    s.duration.observe(clock() - start)
    s.req_size.observe(req_size)
    s.resp_size.observe(resp_size)
    _responses[(server, zone, view, rcode_label(rcode), plugin)].inc()


def report_request(req: Request, zone: str, rcode: int, plugin: str, resp_size: int, start: float) -> None:
    """``report`` for the query ``req`` (its server, view, transport, family, type, DO bit and size) in ``zone``."""
    report(
        req.server,
        zone,
        req.view,
        req.proto,
        req.family_label,
        req.qtype,
        req.do,
        req.wire_len,
        rcode,
        plugin,
        resp_size,
        start,
    )
