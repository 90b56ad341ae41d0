"""Core metrics with CoreDNS's names, labels and buckets, in kdns's own registry."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from typing import Any

import dns.rcode
import dns.rdatatype
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector

from kdns import CORE_VERSION, __version__

NAMESPACE = "coredns"
#: 16 exponential buckets from 0.25 ms doubling to 8.192 s (CoreDNS's TimeBuckets)
TIME_BUCKETS = tuple(0.00025 * 2**i for i in range(16))
SIZE_BUCKETS = (0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16000, 32000, 48000, 64000)
#: zone label of queries rejected before any plugin chain
DROPPED = "dropped"

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

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
REQUESTS = Counter(
    "requests",
    "Counter of DNS requests made per zone, protocol and family.",
    ["server", "zone", "view", "proto", "family", "type"],
    namespace=NAMESPACE,
    subsystem="dns",
    registry=REGISTRY,
)
REQUEST_DURATION = Histogram(
    "request_duration_seconds",
    "Histogram of the time (in seconds) each request took per zone.",
    ["server", "zone", "view"],
    namespace=NAMESPACE,
    subsystem="dns",
    buckets=TIME_BUCKETS,
    registry=REGISTRY,
)
REQUEST_SIZE = Histogram(
    "request_size_bytes",
    "Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.",
    ["server", "zone", "view", "proto"],
    namespace=NAMESPACE,
    subsystem="dns",
    buckets=SIZE_BUCKETS,
    registry=REGISTRY,
)
RESPONSE_SIZE = Histogram(
    "response_size_bytes",
    "Size of the returned response in bytes.",
    ["server", "zone", "view", "proto"],
    namespace=NAMESPACE,
    subsystem="dns",
    buckets=SIZE_BUCKETS,
    registry=REGISTRY,
)
RESPONSES = Counter(
    "responses",
    "Counter of response status codes.",
    ["server", "zone", "view", "rcode", "plugin"],
    namespace=NAMESPACE,
    subsystem="dns",
    registry=REGISTRY,
)
DO_REQUESTS = Counter(
    "do_requests",
    "Counter of DNS requests with DO bit set per zone.",
    ["server", "zone", "view"],
    namespace=NAMESPACE,
    subsystem="dns",
    registry=REGISTRY,
)

_TYPES = frozenset(
    dns.rdatatype.from_text(t)
    for t in [
        "A",
        "AAAA",
        "CNAME",
        "DNSKEY",
        "DS",
        "MX",
        "NSEC3",
        "NSEC",
        "NS",
        "PTR",
        "RRSIG",
        "SOA",
        "SRV",
        "TXT",
        "HTTPS",
        "SVCB",
        "IXFR",
        "AXFR",
        "ANY",
    ]
)


def type_label(qtype: int) -> str:
    """The ``type`` label: the type's name for the common ones, else 'other'."""
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(qtype)) if qtype in _TYPES else "other"


def rcode_label(rcode: int) -> str:
    try:
        return dns.rcode.to_text(dns.rcode.Rcode.make(rcode))
    except ValueError:
        return str(rcode)


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


_requests = Children(REQUESTS)
_duration = Children(REQUEST_DURATION)
_req_size = Children(REQUEST_SIZE)
_resp_size = Children(RESPONSE_SIZE)
_responses = Children(RESPONSES)
_do = Children(DO_REQUESTS)


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
    """Record one answered query in the core DNS metrics (what CoreDNS's vars.Report does)."""
    _requests[(server, zone, view, proto, family, type_label(qtype))].inc()
    if do:
        _do[(server, zone, view)].inc()
    _duration[(server, zone, view)].observe(clock() - start)
    _req_size[(server, zone, view, proto)].observe(req_size)
    _resp_size[(server, zone, view, proto)].observe(resp_size)
    _responses[(server, zone, view, rcode_label(rcode), plugin)].inc()
