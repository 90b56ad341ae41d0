"""Metrics of the local plugin."""

from __future__ import annotations

from prometheus_client import Counter

from kdns.metrics import NAMESPACE, REGISTRY

LOCALHOST_REQUESTS = Counter(
    "localhost_requests",
    "Counter of localhost.<domain> requests.",
    namespace=NAMESPACE,
    subsystem="local",
    registry=REGISTRY,
)
