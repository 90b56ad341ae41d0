"""hosts metrics, with CoreDNS's names."""

from __future__ import annotations

from prometheus_client import Gauge

from kdns.metrics import NAMESPACE, REGISTRY

ENTRIES = Gauge(
    "entries",
    "The combined number of entries in hosts and Corefile.",
    ["hostsfile"],
    namespace=NAMESPACE,
    subsystem="hosts",
    registry=REGISTRY,
)
RELOAD_TIMESTAMP = Gauge(
    "reload_timestamp_seconds",
    "The timestamp of the last reload of hosts file.",
    namespace=NAMESPACE,
    subsystem="hosts",
    registry=REGISTRY,
)
