"""The kubernetes plugin's metrics: CoreDNS's programming latency and REST client series, and kdns's API health.

``coredns_kubernetes_api_up`` and ``coredns_kubernetes_last_event_age_seconds`` are kdns additions
(CoreDNS has no such series); they read the live sources when scraped.
"""

from __future__ import annotations

import time
import weakref
from typing import Protocol

from prometheus_client import Counter, Gauge, Histogram

from kdns.metrics import NAMESPACE, REGISTRY

SUBSYSTEM = "kubernetes"
#: 20 exponential buckets from 1 ms doubling (to ~524 s), as CoreDNS
PROGRAMMING_BUCKETS = tuple(0.001 * 2**i for i in range(20))

DNS_PROGRAMMING_DURATION = Histogram(
    "dns_programming_duration_seconds",
    "Histogram of the time (in seconds) it took to program a dns instance.",
    ["service_kind"],
    namespace=NAMESPACE,
    subsystem=SUBSYSTEM,
    buckets=PROGRAMMING_BUCKETS,
    registry=REGISTRY,
)
REQUESTS = Counter(
    "rest_client_requests",
    "Number of HTTP requests, partitioned by status code, method, and host.",
    ["code", "method", "host"],
    namespace=NAMESPACE,
    subsystem=SUBSYSTEM,
    registry=REGISTRY,
)
REQUEST_DURATION = Histogram(
    "rest_client_request_duration_seconds",
    "Request latency in seconds. Broken down by verb and host.",
    ["verb", "host"],
    namespace=NAMESPACE,
    subsystem=SUBSYSTEM,
    registry=REGISTRY,
)
RATE_LIMITER_DURATION = Histogram(
    "rest_client_rate_limiter_duration_seconds",
    "Client side rate limiter latency in seconds. Broken down by verb and host.",
    ["verb", "host"],
    namespace=NAMESPACE,
    subsystem=SUBSYSTEM,
    registry=REGISTRY,
)


class Health(Protocol):
    """What a source shows of its API connection."""

    @property
    def outage(self) -> bool: ...

    @property
    def last_event(self) -> float:
        """Unix seconds of the last list, event or bookmark received (0 before any)."""
        ...


#: every running source; the health gauges read them when scraped
SOURCES: weakref.WeakSet[Health] = weakref.WeakSet()


def _up() -> float:
    return 0.0 if any(s.outage for s in list(SOURCES)) else 1.0


def _age() -> float:
    last = max((s.last_event for s in list(SOURCES)), default=0.0)
    return max(0.0, time.time() - last) if last else 0.0


API_UP = Gauge(
    "api_up",
    "1 while every watch of the Kubernetes API is connected (or no API is used), 0 during an outage.",
    namespace=NAMESPACE,
    subsystem=SUBSYSTEM,
    registry=REGISTRY,
)
API_UP.set_function(_up)
LAST_EVENT_AGE = Gauge(
    "last_event_age_seconds",
    "Seconds since the last list, watch event or bookmark received from the Kubernetes API (0 before any).",
    namespace=NAMESPACE,
    subsystem=SUBSYSTEM,
    registry=REGISTRY,
)
LAST_EVENT_AGE.set_function(_age)
