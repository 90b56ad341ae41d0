"""Converters from API JSON (as the API server sends it) to the slim records DNS answers use."""

from __future__ import annotations

from typing import Any

import pytest

from kdns.plugins.kubernetes import objects
from kdns.plugins.kubernetes.objects import Endpoint, Port

DUAL_STACK_SERVICE: dict[str, Any] = {
    "kind": "Service",
    "apiVersion": "v1",
    "metadata": {
        "name": "web",
        "namespace": "prod",
        "uid": "7d8d3b1e-2f4a-4c39-9a31-0b9c3f1e0f11",
        "resourceVersion": "123456",
        "creationTimestamp": "2024-05-01T10:00:00Z",
        "labels": {"app": "web"},
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
    },
    "spec": {
        "ports": [
            {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080},
            {"name": "dns", "protocol": "UDP", "port": 53, "targetPort": "dns"},
        ],
        "selector": {"app": "web"},
        "clusterIP": "10.96.12.34",
        "clusterIPs": ["10.96.12.34", "FD00:0:0::1234"],
        "type": "ClusterIP",
        "sessionAffinity": "None",
        "ipFamilies": ["IPv4", "IPv6"],
        "ipFamilyPolicy": "PreferDualStack",
        "internalTrafficPolicy": "Cluster",
    },
    "status": {"loadBalancer": {}},
}

SLICE: dict[str, Any] = {
    "kind": "EndpointSlice",
    "apiVersion": "discovery.k8s.io/v1",
    "metadata": {
        "name": "web-x7k2p",
        "generateName": "web-",
        "namespace": "prod",
        "resourceVersion": "2001",
        "labels": {
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
            "kubernetes.io/service-name": "web",
        },
        "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "2024-05-01T10:00:05Z"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": "x"}],
    },
    "addressType": "IPv4",
    "endpoints": [
        {
            "addresses": ["10.244.1.5"],
            "conditions": {"ready": True, "serving": True, "terminating": False},
            "hostname": "web-0",
            "nodeName": "node-a",
            "targetRef": {"kind": "Pod", "namespace": "prod", "name": "web-0", "uid": "p1"},
            "zone": "z1",
        },
        {
            "addresses": ["10.244.2.6"],
            "conditions": {"ready": False, "serving": False, "terminating": True},
            "nodeName": "node-b",
            "targetRef": {"kind": "Pod", "namespace": "prod", "name": "p" * 64, "uid": "p2"},
        },
        {"addresses": ["10.244.3.7"], "conditions": {}},
        {"addresses": ["10.244.4.8"], "conditions": {"ready": None}, "targetRef": {"kind": "Node", "name": "n"}},
    ],
    "ports": [{"name": "http", "protocol": "TCP", "port": 8080}, {"name": None, "port": None}],
}


def test_dual_stack_service() -> None:
    """clusterIPs gives one address per family (canonical text); ports keep name, number and protocol."""
    s = objects.service(DUAL_STACK_SERVICE)
    assert (s.name, s.namespace, s.type, s.resource_version) == ("web", "prod", "ClusterIP", "123456")
    assert s.cluster_ips == ("10.96.12.34", "fd00::1234")
    assert not s.headless
    assert s.ports == (Port("http", 80, "TCP"), Port("dns", 53, "UDP"))
    assert s.labels == (("app", "web"),)
    assert s.key == ("prod", "web")


def test_cluster_ip_without_cluster_ips() -> None:
    """An old object with only spec.clusterIP still gets its address."""
    d = {"metadata": {"name": "a", "namespace": "default"}, "spec": {"clusterIP": "10.0.0.1", "ports": [{"port": 1}]}}
    s = objects.service(d)
    assert s.cluster_ips == ("10.0.0.1",)
    assert s.ports == (Port("", 1, "TCP"),)


def test_headless_service() -> None:
    """clusterIP None makes a headless Service with no addresses; publishNotReadyAddresses is kept."""
    d = {
        "metadata": {"name": "db", "namespace": "prod"},
        "spec": {"clusterIP": "None", "clusterIPs": ["None"], "publishNotReadyAddresses": True, "ports": []},
    }
    s = objects.service(d)
    assert s.headless
    assert s.cluster_ips == ()
    assert s.publish_not_ready


def test_external_name_service() -> None:
    """An ExternalName Service keeps its target, has no addresses and is not headless."""
    d = {
        "metadata": {"name": "ext", "namespace": "prod"},
        "spec": {"type": "ExternalName", "externalName": "db.example.com", "ports": [{"name": "pg", "port": 5432}]},
    }
    s = objects.service(d)
    assert (s.type, s.external_name, s.cluster_ips, s.headless) == ("ExternalName", "db.example.com", (), False)


def test_load_balancer_external_ips() -> None:
    """spec.externalIPs then the load balancer's ingress IPs and hostnames are the external IPs."""
    d = {
        "metadata": {"name": "lb", "namespace": "prod"},
        "spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.9", "externalIPs": ["192.0.2.1"]},
        "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.7"}, {"hostname": "lb.example.net"}]}},
    }
    assert objects.service(d).external_ips == ("192.0.2.1", "198.51.100.7", "lb.example.net")


def test_endpoint_slice() -> None:
    """Service from the service-name label, ready nil counts as ready, targetRef Pod names under 64 characters,
    ports with null name/number become ''/-1, trigger time parsed to Unix seconds."""
    e = objects.endpoint_slice(SLICE)
    assert (e.name, e.namespace, e.service, e.address_type) == ("web-x7k2p", "prod", "web", "IPv4")
    assert e.ports == (Port("http", 8080, "TCP"), Port("", -1, "TCP"))
    assert e.endpoints == (
        Endpoint(("10.244.1.5",), "web-0", "node-a", "web-0", True),
        Endpoint(("10.244.2.6",), "", "node-b", "", False),
        Endpoint(("10.244.3.7",), "", "", "", True),
        Endpoint(("10.244.4.8",), "", "", "", True),
    )
    assert e.trigger_time == 1714557605.0
    assert e.resource_version == "2001"


def test_endpoint_slice_ipv6_and_no_service() -> None:
    """IPv6 addresses are canonical; a slice without the service-name label belongs to no Service."""
    d = {
        "metadata": {"name": "s", "namespace": "x"},
        "addressType": "IPv6",
        "endpoints": [{"addresses": ["FD00::0:5"]}],
    }
    e = objects.endpoint_slice(d)
    assert (e.service, e.address_type, e.endpoints[0].addresses, e.ports) == ("", "IPv6", ("fd00::5",), ())
    assert e.trigger_time is None


def test_endpoint_slice_bad_trigger_time() -> None:
    """An unparsable trigger-time annotation is no trigger time."""
    d = {"metadata": {"name": "s", "namespace": "x", "annotations": {objects.TRIGGER_TIME: "yesterday"}}}
    assert objects.endpoint_slice(d).trigger_time is None


def test_namespace() -> None:
    """A Namespace keeps its name, labels and resourceVersion (numbers from YAML become strings)."""
    n = objects.namespace({"metadata": {"name": "prod", "labels": {"team": "a", "n": 1}, "resourceVersion": 7}})
    assert n == objects.Namespace("prod", (("n", "1"), ("team", "a")), "7")


POD: dict[str, Any] = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {"name": "web-0", "namespace": "prod", "resourceVersion": "99", "labels": {"app": "web"}},
    "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "nginx"}]},
    "status": {"phase": "Running", "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}, {"ip": "fd00::1:5"}]},
}


def test_pod_dual_stack() -> None:
    """podIPs gives every address; the record keeps name, namespace, labels."""
    p = objects.pod(POD)
    assert p is not None
    assert (p.name, p.namespace, p.ips, p.labels, p.resource_version) == (
        "web-0",
        "prod",
        ("10.244.1.5", "fd00::1:5"),
        (("app", "web"),),
        "99",
    )


def test_pod_ip_only_and_pending() -> None:
    """status.podIP alone is used; a pending pod without an IP has none."""
    p = objects.pod({**POD, "status": {"phase": "Running", "podIP": "10.0.0.3"}})
    assert p is not None
    assert p.ips == ("10.0.0.3",)
    pending = objects.pod({**POD, "status": {"phase": "Pending"}})
    assert pending is not None
    assert pending.ips == ()


@pytest.mark.parametrize("phase", ["Succeeded", "Failed", "Unknown"])
def test_terminal_pods_ignored(phase: str) -> None:
    """Pods in a terminal or unknown phase have no DNS records: None."""
    assert objects.pod({**POD, "status": {**POD["status"], "phase": phase}}) is None


def test_deleting_pod_ignored() -> None:
    """A pod with a deletionTimestamp is dropped."""
    meta = {**POD["metadata"], "deletionTimestamp": "2024-05-01T10:00:00Z"}
    assert objects.pod({**POD, "metadata": meta}) is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("FD00:0:0::A", "fd00::a"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::ffff:1.2.3.4", "::ffff:102:304"),
        ("010.0.0.1", None),
        ("10.0.0", None),
        ("web", None),
    ],
)
def test_addresses_canonical(text: str, want: str | None) -> None:
    """Endpoint addresses are stored in Python's canonical text (as answers format query IPs); junk is dropped."""
    d = {"metadata": {"name": "s", "namespace": "x"}, "endpoints": [{"addresses": [text]}]}
    got = objects.endpoint_slice(d).endpoints[0].addresses
    assert got == ((want,) if want else ())
