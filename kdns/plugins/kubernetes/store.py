"""What kdns knows of the cluster: slim objects with the indexes answers need. Pure, no I/O.

The watch controller feeds it (``upsert``, ``delete``, ``replace`` after a list); the handler reads
it. ``generation`` moves on every change that can alter an answer, so answers can be memoised per
name and dropped when it moves; ``modified`` (Unix seconds of that change) is the SOA serial.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeAlias

from kdns.plugins.kubernetes.objects import Endpoint, EndpointSlice, Namespace, Pod, Service

Object: TypeAlias = Service | EndpointSlice | Namespace | Pod
KINDS = ("Service", "EndpointSlice", "Namespace", "Pod")


def kind_of(obj: Object) -> str:
    return type(obj).__name__


def key_of(obj: Object) -> tuple[str, str]:
    """The store key of ``obj``: (namespace, name), with '' as the namespace of a Namespace."""
    return _key(obj)


def _key(obj: Object) -> tuple[str, str]:
    return ("", obj.name) if isinstance(obj, Namespace) else (obj.namespace, obj.name)


def _visible(obj: Object) -> object:
    """The part of ``obj`` answers depend on (resourceVersion and labels excluded)."""
    if isinstance(obj, Service):
        return (obj.type, obj.cluster_ips, obj.headless, obj.external_name, obj.ports, obj.external_ips,
                obj.publish_not_ready)  # fmt: skip
    if isinstance(obj, EndpointSlice):
        return (obj.service, obj.address_type, obj.ports, obj.endpoints)
    if isinstance(obj, Pod):
        return obj.ips
    return obj.name


class Store:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.objects: dict[str, dict[tuple[str, str], Object]] = {k: {} for k in KINDS}
        #: (namespace, service name) -> its EndpointSlices by slice name
        self._slices: dict[tuple[str, str], dict[str, EndpointSlice]] = defaultdict(dict)
        self._svc_ip: dict[str, list[Service]] = defaultdict(list)
        self._ep_ip: dict[str, list[tuple[EndpointSlice, Endpoint]]] = defaultdict(list)
        self._pod_ip: dict[str, list[Pod]] = defaultdict(list)
        #: bumped on every change that can alter an answer
        self.generation = 0
        #: Unix seconds of the last such change (the SOA serial)
        self.modified = int(clock())
        #: kinds whose first list has been applied
        self.synced_kinds: set[str] = set()

    # -- writes ------------------------------------------------------------------------

    def upsert(self, obj: Object) -> bool:
        """Add or replace ``obj``; True when answers may change."""
        table = self.objects[kind_of(obj)]
        key = _key(obj)
        old = table.get(key)
        if old is not None and old.resource_version and old.resource_version == obj.resource_version:
            return False
        if old is not None:
            self._unindex(old)
        table[key] = obj
        self._index(obj)
        changed = old is None or _visible(old) != _visible(obj)
        if changed:
            self._touch()
        return changed

    def delete(self, obj: Object) -> bool:
        """Drop the object with ``obj``'s kind and key; True when there was one."""
        return self.remove(kind_of(obj), _key(obj))

    def remove(self, kind: str, key: tuple[str, str]) -> bool:
        """Drop the ``kind`` object at ``key`` (namespace, name; '' namespace for Namespaces)."""
        old = self.objects[kind].pop(key, None)
        if old is None:
            return False
        self._unindex(old)
        self._touch()
        return True

    def replace(self, kind: str, objs: Iterable[Object]) -> None:
        """Make ``kind`` hold exactly ``objs`` (a full list, e.g. after a relist); marks it synced."""
        fresh = {_key(o): o for o in objs}
        table = self.objects[kind]
        for key in [k for k in table if k not in fresh]:
            self.delete(table[key])
        for o in fresh.values():
            self.upsert(o)
        if kind not in self.synced_kinds:
            self.synced_kinds.add(kind)
            # answers held while unsynced (SERVFAIL for name errors) are stale now
            self.generation += 1

    def _touch(self) -> None:
        self.generation += 1
        self.modified = int(self.clock())

    def _index(self, obj: Object) -> None:
        if isinstance(obj, Service):
            for ip in obj.cluster_ips:
                self._svc_ip[ip].append(obj)
        elif isinstance(obj, EndpointSlice):
            if obj.service:
                self._slices[(obj.namespace, obj.service)][obj.name] = obj
            for ep in obj.endpoints:
                for ip in ep.addresses:
                    self._ep_ip[ip].append((obj, ep))
        elif isinstance(obj, Pod):
            for ip in obj.ips:
                self._pod_ip[ip].append(obj)

    def _unindex(self, obj: Object) -> None:
        if isinstance(obj, Service):
            for ip in obj.cluster_ips:
                _remove(self._svc_ip, ip, obj)
        elif isinstance(obj, EndpointSlice):
            if obj.service:
                group = self._slices.get((obj.namespace, obj.service))
                if group is not None:
                    group.pop(obj.name, None)
                    if not group:
                        del self._slices[(obj.namespace, obj.service)]
            for ep in obj.endpoints:
                for ip in ep.addresses:
                    _remove(self._ep_ip, ip, obj)
        elif isinstance(obj, Pod):
            for ip in obj.ips:
                _remove(self._pod_ip, ip, obj)

    # -- reads -------------------------------------------------------------------------

    def namespace(self, name: str) -> Namespace | None:
        ns = self.objects["Namespace"].get(("", name))
        return ns if isinstance(ns, Namespace) else None

    def service(self, namespace: str, name: str) -> Service | None:
        svc = self.objects["Service"].get((namespace, name))
        return svc if isinstance(svc, Service) else None

    def services(self) -> Iterator[Service]:
        for s in self.objects["Service"].values():
            if isinstance(s, Service):
                yield s

    def slices(self, namespace: str, service: str) -> list[EndpointSlice]:
        """The EndpointSlices of a Service, in a stable order (by slice name)."""
        group = self._slices.get((namespace, service))
        return [group[k] for k in sorted(group)] if group else []

    def services_by_ip(self, ip: str) -> list[Service]:
        return list(self._svc_ip.get(ip, ()))

    def endpoints_by_ip(self, ip: str) -> list[tuple[EndpointSlice, Endpoint]]:
        return list(self._ep_ip.get(ip, ()))

    def pods_by_ip(self, ip: str) -> list[Pod]:
        return list(self._pod_ip.get(ip, ()))

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.objects.items()}


def _remove(index: dict[str, list[Any]], key: str, obj: object) -> None:
    """Drop the entries of ``obj`` (by identity; pairs by their first item) from ``index[key]``."""
    items = index.get(key)
    if not items:
        return
    items[:] = [x for x in items if (x[0] if isinstance(x, tuple) else x) is not obj]
    if not items:
        del index[key]
