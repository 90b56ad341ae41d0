"""The agent's own metric, served on -metrics-listen-address (and by *prometheus*, same registry)."""

from __future__ import annotations

from prometheus_client import Counter

from kdns.metrics import NAMESPACE, REGISTRY

#: error types counted, as node-cache names them
ERROR_TYPES = ("iptables", "iptables_lock", "interface_add", "interface_check", "configmap")

SETUP_ERRORS = Counter(
    "setup_errors",
    "The number of errors during periodic network setup for node-cache",
    ["errortype"],
    namespace=NAMESPACE,
    subsystem="nodecache",
    registry=REGISTRY,
)


def count_error(errortype: str) -> None:
    SETUP_ERRORS.labels(errortype).inc()


def init() -> None:
    """Create every series at zero, so an alert on ``increase(...)`` sees the first error."""
    for t in ERROR_TYPES:
        SETUP_ERRORS.labels(t)
