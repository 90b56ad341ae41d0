"""Builders of Kubernetes API JSON objects (Service, EndpointSlice, Namespace, Pod) for ``KubeAPI`` tests.

Each returns a complete dict as the API server would send it in a watch event (with ``kind`` and
``apiVersion``), valid for kubernetes_asyncio's models. Ports are ``(name, port)`` or
``(name, port, protocol)`` tuples.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

SERVICE_NAME_LABEL = "kubernetes.io/service-name"

PortSpec = tuple[str, int] | tuple[str, int, str]


def _meta(name: str, namespace: str | None, labels: dict[str, str] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    return meta


def _ports(ports: Iterable[PortSpec], key: str) -> list[dict[str, Any]]:
    out = []
    for p in ports:
        proto = p[2] if len(p) == 3 else "TCP"
        item: dict[str, Any] = {key: p[1], "protocol": proto}
        if p[0]:
            item["name"] = p[0]
        out.append(item)
    return out


def service(
    name: str,
    namespace: str = "default",
    cluster_ip: str | Sequence[str] = "10.96.0.10",
    ports: Iterable[PortSpec] = (("http", 80),),
    *,
    type: str = "ClusterIP",
    external_name: str = "",
    external_ips: Sequence[str] = (),
    labels: dict[str, str] | None = None,
    publish_not_ready: bool = False,
) -> dict[str, Any]:
    """A Service; ``cluster_ip="None"`` makes it headless, ``external_name=`` makes it an ExternalName service."""
    ips = [cluster_ip] if isinstance(cluster_ip, str) else list(cluster_ip)
    spec: dict[str, Any] = {"type": "ExternalName" if external_name else type, "ports": _ports(ports, "port")}
    if external_name:
        spec["externalName"] = external_name
    else:
        spec["clusterIP"] = ips[0] if ips else "None"
        spec["clusterIPs"] = ips or ["None"]
    if external_ips:
        spec["externalIPs"] = list(external_ips)
    if publish_not_ready:
        spec["publishNotReadyAddresses"] = True
    return {"kind": "Service", "apiVersion": "v1", "metadata": _meta(name, namespace, labels), "spec": spec}


def endpoint(
    address: str | Sequence[str],
    *,
    ready: bool | None = True,
    hostname: str = "",
    node_name: str = "",
    pod: str = "",
) -> dict[str, Any]:
    """One EndpointSlice endpoint; ``ready=None`` leaves the condition out (counts as ready)."""
    ep: dict[str, Any] = {"addresses": [address] if isinstance(address, str) else list(address)}
    ep["conditions"] = {} if ready is None else {"ready": ready}
    if hostname:
        ep["hostname"] = hostname
    if node_name:
        ep["nodeName"] = node_name
    if pod:
        ep["targetRef"] = {"kind": "Pod", "name": pod, "namespace": ""}
    return ep


def endpoint_slice(
    name: str,
    namespace: str = "default",
    service: str = "",
    endpoints: Iterable[dict[str, Any] | str] = (),
    ports: Iterable[PortSpec] = (("http", 80),),
    *,
    address_type: str = "",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An EndpointSlice of ``service`` (label kubernetes.io/service-name); endpoints as ``endpoint()`` dicts
    or plain addresses (ready). The address type follows the first address unless given."""
    eps = [endpoint(e) if isinstance(e, str) else dict(e) for e in endpoints]
    if eps:
        for e in eps:
            ref = e.get("targetRef")
            if ref is not None and not ref.get("namespace"):
                e["targetRef"] = {**ref, "namespace": namespace}
    if not address_type:
        first = eps[0]["addresses"][0] if eps and eps[0]["addresses"] else "0.0.0.0"
        try:
            address_type = "IPv6" if ipaddress.ip_address(first).version == 6 else "IPv4"
        except ValueError:
            address_type = "FQDN"
    all_labels = dict(labels or {})
    if service:
        all_labels[SERVICE_NAME_LABEL] = service
    return {
        "kind": "EndpointSlice",
        "apiVersion": "discovery.k8s.io/v1",
        "metadata": _meta(name, namespace, all_labels),
        "addressType": address_type,
        "endpoints": eps,
        "ports": _ports(ports, "port"),
    }


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A Namespace (phase Active)."""
    return {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": _meta(name, None, labels),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def pod(
    name: str,
    namespace: str = "default",
    ip: str | Sequence[str] = "10.244.0.5",
    *,
    phase: str = "Running",
    labels: dict[str, str] | None = None,
    node_name: str = "node-1",
) -> dict[str, Any]:
    """A Pod with one container; ``ip=""`` leaves it without an address (pending)."""
    ips = ([ip] if ip else []) if isinstance(ip, str) else list(ip)
    status: dict[str, Any] = {"phase": phase}
    if ips:
        status["podIP"] = ips[0]
        status["podIPs"] = [{"ip": i} for i in ips]
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": _meta(name, namespace, labels),
        "spec": {"nodeName": node_name, "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.9"}]},
        "status": status,
    }
