"""Slim, frozen records cut from Kubernetes API objects (JSON dicts): only what DNS answers need."""

from __future__ import annotations

import ipaddress
import socket
import sys
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"


@dataclass(frozen=True, slots=True)
class Port:
    name: str
    port: int
    #: "TCP", "UDP" or "SCTP"
    protocol: str


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    namespace: str
    #: ClusterIP, NodePort, LoadBalancer or ExternalName
    type: str
    #: ClusterIPs, one per family; empty for headless and ExternalName services
    cluster_ips: tuple[str, ...]
    headless: bool
    external_name: str
    ports: tuple[Port, ...]
    external_ips: tuple[str, ...]
    publish_not_ready: bool
    labels: tuple[tuple[str, str], ...] = ()
    resource_version: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class Endpoint:
    addresses: tuple[str, ...]
    hostname: str
    node_name: str
    #: name of the Pod behind the endpoint (targetRef), '' when none or 64 characters or more
    pod_name: str
    #: conditions.ready, where a missing condition counts as ready
    ready: bool


@dataclass(frozen=True, slots=True)
class EndpointSlice:
    name: str
    namespace: str
    #: the Service this slice belongs to (label kubernetes.io/service-name); '' for none
    service: str
    #: IPv4, IPv6 or FQDN
    address_type: str
    ports: tuple[Port, ...]
    endpoints: tuple[Endpoint, ...]
    #: Unix time of the change that caused this slice's update (trigger-time annotation), if any
    trigger_time: float | None = None
    resource_version: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: tuple[tuple[str, str], ...] = ()
    resource_version: str = ""


@dataclass(frozen=True, slots=True)
class Pod:
    name: str
    namespace: str
    ips: tuple[str, ...]
    labels: tuple[tuple[str, str], ...] = ()
    resource_version: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


# -- conversion from API JSON ------------------------------------------------------------------


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = obj.get("metadata") or {}
    return meta


def _labels(meta: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (meta.get("labels") or {}).items()))


def _rv(meta: dict[str, Any]) -> str:
    return str(meta.get("resourceVersion") or "")


def _ip(text: str) -> str | None:
    """The canonical text of an IP address, or None for something that is not one."""
    if not isinstance(text, str):
        return None
    try:  # the C parser first: tens of thousands of addresses at a list
        if ":" not in text:
            return socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, text))
        out = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, text))
        if "." not in out:
            return out
    except OSError:
        pass
    try:  # what the C parser refuses or writes differently (IPv4-mapped) gets Python's judgement
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _port(name: str, number: int, protocol: str) -> Port:
    """One shared record per distinct port (most slices of a cluster repeat a few)."""
    return Port(sys.intern(name), number, sys.intern(protocol))


def _ports(items: list[dict[str, Any]] | None, key: str = "port") -> tuple[Port, ...]:
    out = []
    for p in items or []:
        number = p.get(key)
        out.append(
            _port(str(p.get("name") or ""), int(number) if number is not None else -1, p.get("protocol") or "TCP")
        )
    return tuple(out)


def service(obj: dict[str, Any]) -> Service:
    meta = _meta(obj)
    spec = obj.get("spec") or {}
    stype = spec.get("type") or "ClusterIP"
    ips_raw = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    headless = stype != "ExternalName" and (not ips_raw or ips_raw[0] == "None")
    ips = () if headless or stype == "ExternalName" else tuple(i for i in (_ip(x) for x in ips_raw) if i)
    ext = list(spec.get("externalIPs") or [])
    for ing in ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        if ing.get("ip"):
            ext.append(ing["ip"])
        elif ing.get("hostname"):
            ext.append(ing["hostname"])
    return Service(
        name=meta.get("name", ""),
        namespace=sys.intern(meta.get("namespace") or ""),
        type=sys.intern(stype),
        cluster_ips=ips,
        headless=headless,
        external_name=(spec.get("externalName") or "") if stype == "ExternalName" else "",
        ports=_ports(spec.get("ports")),
        external_ips=tuple(ext),
        publish_not_ready=bool(spec.get("publishNotReadyAddresses")),
        labels=_labels(meta),
        resource_version=_rv(meta),
    )


def endpoint_slice(obj: dict[str, Any]) -> EndpointSlice:
    meta = _meta(obj)
    eps = []
    for e in obj.get("endpoints") or []:
        ready = (e.get("conditions") or {}).get("ready")
        ref = e.get("targetRef") or {}
        pod = ref.get("name", "") if ref.get("kind", "Pod") == "Pod" else ""
        addrs = tuple(a for a in (_ip(x) for x in e.get("addresses") or []) if a)
        eps.append(
            Endpoint(
                addresses=addrs,
                hostname=e.get("hostname") or "",
                node_name=sys.intern(e.get("nodeName") or ""),
                pod_name=pod if len(pod) < 64 else "",
                ready=ready is None or bool(ready),
            )
        )
    trigger = (meta.get("annotations") or {}).get(TRIGGER_TIME)
    return EndpointSlice(
        name=meta.get("name", ""),
        namespace=sys.intern(meta.get("namespace") or ""),
        service=(meta.get("labels") or {}).get(SERVICE_NAME_LABEL, ""),
        address_type=sys.intern(obj.get("addressType") or "IPv4"),
        ports=_ports(obj.get("ports")),
        endpoints=tuple(eps),
        trigger_time=_rfc3339(trigger) if trigger else None,
        resource_version=_rv(meta),
    )


def namespace(obj: dict[str, Any]) -> Namespace:
    meta = _meta(obj)
    return Namespace(meta.get("name", ""), _labels(meta), _rv(meta))


def pod(obj: dict[str, Any]) -> Pod | None:
    """A Pod record, or None for pods DNS ignores (terminal phase, being deleted, no IP)."""
    meta = _meta(obj)
    status = obj.get("status") or {}
    if meta.get("deletionTimestamp") or status.get("phase") in ("Succeeded", "Failed", "Unknown"):
        return None
    ips_raw = [p.get("ip") for p in status.get("podIPs") or []] or ([status["podIP"]] if status.get("podIP") else [])
    ips = tuple(i for i in (_ip(x) for x in ips_raw if x) if i)
    return Pod(meta.get("name", ""), sys.intern(meta.get("namespace") or ""), ips, _labels(meta), _rv(meta))


def _rfc3339(text: str) -> float | None:
    """Unix seconds of an RFC 3339 time (``2024-01-02T03:04:05Z``), None when it does not parse."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
