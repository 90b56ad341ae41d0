"""Metrics of the health self-probe (no server label: overload is a property of the process)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from kdns.metrics import NAMESPACE, REGISTRY, SLIM_TIME_BUCKETS

SUBSYSTEM = "health"

REQUEST_DURATION = Histogram(
    "request_duration_seconds",
    "Histogram of the time (in seconds) each request took.",
    namespace=NAMESPACE,
    subsystem=SUBSYSTEM,
    buckets=SLIM_TIME_BUCKETS,
    registry=REGISTRY,
)
REQUEST_FAILURES = Counter(
    "request_failures",
    "The number of times the health check failed.",
    namespace=NAMESPACE,
    subsystem=SUBSYSTEM,
    registry=REGISTRY,
)
