"""autopath metrics, CoreDNS's names and labels."""

from __future__ import annotations

from prometheus_client import Counter

from kdns.metrics import NAMESPACE, REGISTRY, Children

SUCCESS = Counter(
    "success",
    "Counter of requests that did autopath.",
    ["server"],
    namespace=NAMESPACE,
    subsystem="autopath",
    registry=REGISTRY,
)

success = Children(SUCCESS)
