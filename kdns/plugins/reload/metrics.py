"""reload metrics, with CoreDNS's names."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from kdns.metrics import NAMESPACE, REGISTRY

FAILED = Counter(
    "failed",
    "Counter of the number of failed reload attempts.",
    namespace=NAMESPACE,
    subsystem="reload",
    registry=REGISTRY,
)
VERSION_INFO = Gauge(
    "version_info",
    "A metric with a constant '1' value labeled by hash, and value which type of hash generated.",
    ["hash", "value"],
    namespace=NAMESPACE,
    subsystem="reload",
    registry=REGISTRY,
)


def set_version(digest: str) -> None:
    """Export ``digest`` as the one running version."""
    VERSION_INFO.clear()
    VERSION_INFO.labels("sha512", digest).set(1)
