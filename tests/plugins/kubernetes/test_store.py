"""The Store: indexes, replace, deletes, and generation/modified moving only on DNS-visible changes."""

from __future__ import annotations

from dataclasses import replace

from kdns.plugins.kubernetes.objects import Endpoint, EndpointSlice, Namespace, Pod, Port, Service
from kdns.plugins.kubernetes.store import Store, key_of


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def svc(name: str = "web", ns: str = "default", ips: tuple[str, ...] = ("10.96.0.10",), rv: str = "1") -> Service:
    return Service(
        name=name,
        namespace=ns,
        type="ClusterIP",
        cluster_ips=ips,
        headless=not ips,
        external_name="",
        ports=(Port("http", 80, "TCP"),),
        external_ips=(),
        publish_not_ready=False,
        resource_version=rv,
    )


def ep(ip: str, hostname: str = "", ready: bool = True) -> Endpoint:
    return Endpoint(addresses=(ip,), hostname=hostname, node_name="n1", pod_name="", ready=ready)


def es(name: str, service: str = "web", ips: tuple[str, ...] = ("10.244.0.1",), rv: str = "1") -> EndpointSlice:
    return EndpointSlice(
        name=name,
        namespace="default",
        service=service,
        address_type="IPv4",
        ports=(Port("http", 8080, "TCP"),),
        endpoints=tuple(ep(i) for i in ips),
        resource_version=rv,
    )


def test_service_indexed_by_name_and_cluster_ips() -> None:
    """A Service is found by (namespace, name) and by each of its ClusterIPs (dual-stack)."""
    st = Store()
    s = svc(ips=("10.96.0.10", "fd00::10"))
    assert st.upsert(s)
    assert st.service("default", "web") is s
    assert st.services_by_ip("10.96.0.10") == [s]
    assert st.services_by_ip("fd00::10") == [s]
    assert st.services_by_ip("10.96.0.11") == []
    assert list(st.services()) == [s]


def test_changed_cluster_ip_moves_the_ip_index() -> None:
    """A Service whose ClusterIP changes is no longer found by the old IP."""
    st = Store()
    st.upsert(svc(ips=("10.96.0.10",), rv="1"))
    st.upsert(svc(ips=("10.96.0.20",), rv="2"))
    assert st.services_by_ip("10.96.0.10") == []
    assert [s.name for s in st.services_by_ip("10.96.0.20")] == ["web"]


def test_slices_grouped_by_service_in_name_order() -> None:
    """EndpointSlices are grouped under their Service, sorted by slice name; endpoints indexed by IP."""
    st = Store()
    b = es("web-b", ips=("10.244.0.2",))
    a = es("web-a", ips=("10.244.0.1",))
    other = es("db-a", service="db", ips=("10.244.9.9",))
    for o in (b, a, other):
        st.upsert(o)
    assert st.slices("default", "web") == [a, b]
    assert st.slices("default", "db") == [other]
    assert st.slices("default", "none") == []
    assert st.endpoints_by_ip("10.244.0.2") == [(b, b.endpoints[0])]


def test_slice_update_reindexes_endpoints_and_service() -> None:
    """A slice update drops the old endpoint IPs; a slice moved to another Service leaves the old group."""
    st = Store()
    st.upsert(es("web-a", ips=("10.244.0.1",), rv="1"))
    st.upsert(es("web-a", ips=("10.244.0.7",), rv="2"))
    assert st.endpoints_by_ip("10.244.0.1") == []
    assert len(st.endpoints_by_ip("10.244.0.7")) == 1
    st.upsert(es("web-a", service="api", ips=("10.244.0.7",), rv="3"))
    assert st.slices("default", "web") == []
    assert [s.name for s in st.slices("default", "api")] == ["web-a"]


def test_pods_and_namespaces() -> None:
    """Pods are found by each IP; Namespaces by name; the same IP on two pods lists both."""
    st = Store()
    p1 = Pod("a", "default", ("10.244.0.5", "fd00::5"))
    p2 = Pod("b", "prod", ("10.244.0.5",))
    st.upsert(p1)
    st.upsert(p2)
    st.upsert(Namespace("prod"))
    assert st.pods_by_ip("10.244.0.5") == [p1, p2]
    assert st.pods_by_ip("fd00::5") == [p1]
    assert st.namespace("prod") == Namespace("prod")
    assert st.namespace("nope") is None
    assert st.counts() == {"Service": 0, "EndpointSlice": 0, "Namespace": 1, "Pod": 2}


def test_generation_and_modified_move_only_on_visible_change() -> None:
    """Same resourceVersion: ignored; new resourceVersion with the same DNS data (labels only): no bump;
    a changed port bumps generation and sets modified to the clock's second."""
    clock = Clock()
    st = Store(clock=clock)
    assert st.modified == 1000
    assert st.upsert(svc(rv="1"))
    g = st.generation
    clock.now = 2000.5
    assert not st.upsert(svc(rv="1"))
    assert not st.upsert(replace(svc(rv="2"), labels=(("app", "x"),)))
    assert (st.generation, st.modified) == (g, 1000)
    assert st.service("default", "web").labels == (("app", "x"),)  # type: ignore[union-attr]
    assert st.upsert(replace(svc(rv="3"), ports=(Port("http", 81, "TCP"),)))
    assert (st.generation, st.modified) == (g + 1, 2000)


def test_same_resource_version_keeps_old_object() -> None:
    """An update carrying the stored resourceVersion is ignored, even if its content differs."""
    st = Store()
    st.upsert(svc(ips=("10.96.0.10",), rv="5"))
    assert not st.upsert(svc(ips=("10.96.0.99",), rv="5"))
    assert st.service("default", "web").cluster_ips == ("10.96.0.10",)  # type: ignore[union-attr]


def test_endpoint_readiness_is_visible() -> None:
    """An endpoint turning not-ready is a DNS-visible change (generation moves)."""
    st = Store()
    st.upsert(es("web-a", rv="1"))
    g = st.generation
    flipped = replace(es("web-a", rv="2"), endpoints=(ep("10.244.0.1", ready=False),))
    assert st.upsert(flipped)
    assert st.generation == g + 1


def test_delete_unindexes_and_bumps() -> None:
    """Deleting removes the object from every index and bumps generation; deleting a missing one does nothing."""
    st = Store()
    s = svc()
    e = es("web-a")
    st.upsert(s)
    st.upsert(e)
    g = st.generation
    assert st.delete(e)
    assert st.slices("default", "web") == []
    assert st.endpoints_by_ip("10.244.0.1") == []
    assert st.remove("Service", key_of(s))
    assert st.services_by_ip("10.96.0.10") == []
    assert st.service("default", "web") is None
    assert st.generation == g + 2
    assert not st.delete(e)
    assert not st.remove("Pod", ("default", "x"))
    assert st.generation == g + 2


def test_replace_makes_kind_exact_and_marks_synced() -> None:
    """replace() deletes what the list lacks, adds what is new, keeps the rest; first replace marks synced
    (and moves generation); an identical replace changes nothing."""
    st = Store()
    assert "Service" not in st.synced_kinds
    st.replace("Service", [svc("a", ips=("10.96.0.1",)), svc("b", ips=("10.96.0.2",))])
    assert "Service" in st.synced_kinds
    g = st.generation
    st.replace("Service", [svc("a", ips=("10.96.0.1",)), svc("b", ips=("10.96.0.2",))])
    assert st.generation == g
    st.replace("Service", [svc("b", ips=("10.96.0.2",)), svc("c", ips=("10.96.0.3",))])
    assert sorted(s.name for s in st.services()) == ["b", "c"]
    assert st.services_by_ip("10.96.0.1") == []
    assert st.generation == g + 2


def test_empty_replace_marks_synced() -> None:
    """An empty list still syncs the kind (a cluster with no pods is synced) and moves generation once."""
    st = Store()
    g = st.generation
    st.replace("Pod", [])
    assert "Pod" in st.synced_kinds
    assert st.generation == g + 1
