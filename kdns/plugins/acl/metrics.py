"""acl metrics, CoreDNS's names and labels."""

from __future__ import annotations

from prometheus_client import Counter

from kdns.metrics import NAMESPACE, REGISTRY, Children

SUBSYSTEM = "acl"

BLOCKED = Counter(
    "blocked_requests",
    "Counter of DNS requests being blocked.",
    ["server", "zone", "view"],
    namespace=NAMESPACE,
    subsystem=SUBSYSTEM,
    registry=REGISTRY,
)
FILTERED = Counter(
    "filtered_requests",
    "Counter of DNS requests being filtered.",
    ["server", "zone", "view"],
    namespace=NAMESPACE,
    subsystem=SUBSYSTEM,
    registry=REGISTRY,
)
DROPPED = Counter(
    "dropped_requests",
    "Counter of DNS requests being dropped.",
    ["server", "zone", "view"],
    namespace=NAMESPACE,
    subsystem=SUBSYSTEM,
    registry=REGISTRY,
)
ALLOWED = Counter(
    "allowed_requests",
    "Counter of DNS requests being allowed.",
    ["server", "view"],
    namespace=NAMESPACE,
    subsystem=SUBSYSTEM,
    registry=REGISTRY,
)

blocked = Children(BLOCKED)
filtered = Children(FILTERED)
dropped = Children(DROPPED)
allowed = Children(ALLOWED)
