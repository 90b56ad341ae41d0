"""A small demo cluster (API JSON objects) covering every DNS rule, and a Store or manifest made of it.

Used by the kubernetes answer tables and integration tests; its shape is described next to each object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import yaml

from kdns.plugins.kubernetes import objects
from kdns.plugins.kubernetes.store import KINDS, Object, Store
from kdns.testing import kubeobjects as k

ep = k.endpoint

CLUSTER: list[dict[str, Any]] = [
    k.namespace("default"),
    k.namespace("kube-system"),
    k.namespace("prod"),
    k.namespace("quiet"),  # a namespace without services
    k.service("kubernetes", "default", "10.96.0.1", [("https", 443)]),
    # the cluster DNS service; its endpoints are the DNS server's own IPs in the NS tests
    k.service("kube-dns", "kube-system", "10.96.0.10", [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")]),
    k.endpoint_slice(
        "kube-dns-1", "kube-system", "kube-dns", ["10.244.0.2", "10.244.0.3"], [("dns", 53, "UDP"), ("dns-tcp", 53)]
    ),
    # dual-stack ClusterIP service: a named and an unnamed port
    k.service("web", "prod", ["10.96.1.10", "fd00:10:96::a"], [("http", 80), ("", 8080)]),
    k.endpoint_slice(
        "web-v4",
        "prod",
        "web",
        [ep("10.244.1.10", pod="web-1"), ep("10.244.1.11", ready=False), ep("10.244.1.12", ready=None)],
        [("http", 8000), ("", 8080)],
    ),
    k.endpoint_slice("web-v6", "prod", "web", [ep("fd00:10:244:1::10", pod="web-1")], [("http", 8000), ("", 8080)]),
    # headless, dual-stack: db-0 in both families, db-1, one without hostname, one not ready; the slice
    # port (15432, the target port) differs from the Service port (5432)
    k.service("db", "prod", "None", [("pg", 5432)]),
    k.endpoint_slice(
        "db-a",
        "prod",
        "db",
        [
            ep("10.244.2.10", hostname="db-0"),
            ep("10.244.2.11", hostname="db-1"),
            ep("10.244.2.12"),
            ep("10.244.2.13", hostname="db-2", ready=False),
        ],
        [("pg", 15432)],
    ),
    # the same address again in a second slice (during an update): answers collapse it
    k.endpoint_slice("db-b", "prod", "db", [ep("10.244.2.10", hostname="db-0")], [("pg", 15432)]),
    k.endpoint_slice("db-v6", "prod", "db", [ep("fd00:10:244:2::10", hostname="db-0")], [("pg", 15432)]),
    # headless without ready endpoints
    k.service("gone", "prod", "None", [("http", 80)]),
    k.endpoint_slice("gone-1", "prod", "gone", [ep("10.244.3.1", ready=False)]),
    # headless that publishes not-ready addresses (hand-written slice: ready false)
    k.service("pnr", "prod", "None", [("http", 80)], publish_not_ready=True),
    k.endpoint_slice("pnr-1", "prod", "pnr", [ep("10.244.4.1", ready=False)]),
    # ClusterIP without any endpoints, and without ports
    k.service("idle", "prod", "10.96.1.20", [("http", 80)]),
    k.service("bare", "prod", "10.96.1.21", []),
    k.service("bare-hl", "prod", "None", []),
    k.endpoint_slice("bare-hl-1", "prod", "bare-hl", ["10.244.3.5"], []),
    k.service("v6only", "prod", "fd00:10:96::b", [("http", 80)]),
    # ExternalName: outside the cluster, inside it, an IP literal, a loop, a missing in-zone target
    k.service("ext", "prod", external_name="example.net"),
    k.service("ext-in", "prod", external_name="web.prod.svc.cluster.local"),
    k.service("ext-v4", "prod", external_name="kubernetes.default.svc.cluster.local."),
    k.service("ext-ip", "prod", external_name="192.0.2.1"),
    k.service("ext-loop", "prod", external_name="ext-loop.prod.svc.cluster.local"),
    k.service("ext-miss", "prod", external_name="missing.prod.svc.cluster.local"),
    k.pod("web-1", "prod", ["10.244.1.10", "fd00:10:244:1::10"]),
    k.pod("client", "default", "10.244.5.5"),
]

#: a Service in a namespace without a Namespace object (the Store tests only: manifests add namespaces)
GHOST: list[dict[str, Any]] = [k.service("svc", "ghost", "10.96.9.9", [("http", 80)])]

_CONVERT: dict[str, Callable[[dict[str, Any]], Object | None]] = {
    "Service": objects.service,
    "EndpointSlice": objects.endpoint_slice,
    "Namespace": objects.namespace,
    "Pod": objects.pod,
}


#: a pod's view: the client pod at 127.0.0.1 (where a test's queries come from) in namespace prod, and
#: a service ``web`` in prod and in staging (for autopath and search-path tests)
POD_VIEW: list[dict[str, Any]] = [
    k.service("web", "prod", "10.96.10.20", [("http", 80)]),
    k.service("web", "staging", "10.96.20.20", [("http", 80)]),
    k.pod("client", "prod", "127.0.0.1"),
]


def convert(docs: Iterable[dict[str, Any]]) -> dict[str, list[Object]]:
    out: dict[str, list[Object]] = {kind: [] for kind in KINDS}
    for d in docs:
        obj = _CONVERT[d["kind"]](d)
        if obj is not None:
            out[d["kind"]].append(obj)
    return out


def make_store(docs: Iterable[dict[str, Any]] = (*CLUSTER, *GHOST), clock: float = 1700000000.0) -> Store:
    """A synced Store holding ``docs``, its clock fixed (the SOA serial is ``clock``)."""
    store = Store(clock=lambda: clock)
    for kind, objs in convert(docs).items():
        store.replace(kind, objs)
    return store


def manifest(docs: Iterable[dict[str, Any]] = CLUSTER) -> str:
    """``docs`` as a multi-document YAML manifest (for ``objects FILE``)."""
    return yaml.safe_dump_all(list(docs), sort_keys=False)
