"""``objects FILE...``: objects read from YAML/JSON manifests, lists flattened, reloaded when a file changes."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdns.plugins.kubernetes import manifests
from kdns.plugins.kubernetes.manifests import ManifestError, ManifestSource
from kdns.plugins.kubernetes.options import KubeOptions
from kdns.plugins.kubernetes.source import make_source
from kdns.plugins.kubernetes.store import Store
from kdns.testing import kubeobjects as ko
from kdns.testing.wait import StepSleep

MULTI = """\
apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels: {team: a}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: prod}
spec:
  clusterIP: 10.96.0.20
  ports: [{name: http, port: 80, protocol: TCP}]
---
# no namespace: default
apiVersion: v1
kind: Service
metadata: {name: kubernetes}
spec: {clusterIP: 10.96.0.1, ports: [{name: https, port: 443}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: prod
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints:
- addresses: [10.244.0.5]
  hostname: web-0
ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: staging}
status: {phase: Running, podIP: 10.244.0.5}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ignored, namespace: prod}
---
"""

# what `kubectl get svc,ns -A -o yaml` prints
KUBECTL_LIST = """\
apiVersion: v1
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: dns
    namespace: kube-system
    resourceVersion: "250"
  spec:
    clusterIP: 10.96.0.10
    clusterIPs: [10.96.0.10]
    ports:
    - {name: dns, port: 53, protocol: UDP, targetPort: 53}
    type: ClusterIP
- apiVersion: v1
  kind: Namespace
  metadata: {name: kube-system, resourceVersion: "12"}
kind: List
metadata:
  resourceVersion: ""
"""


def test_multi_document_yaml(tmp_path: Path) -> None:
    """Every supported kind of a multi-document file is read; other kinds and empty documents are skipped;
    no namespace means default; namespaces used but not declared (default, staging) exist too."""
    f = tmp_path / "cluster.yaml"
    f.write_text(MULTI)
    got = manifests.load([str(f)])
    assert sorted((s.namespace, s.name) for s in got["Service"]) == [("default", "kubernetes"), ("prod", "web")]  # type: ignore[union-attr]
    assert [(e.name, e.service) for e in got["EndpointSlice"]] == [("web-1", "web")]  # type: ignore[union-attr]
    assert [(p.namespace, p.ips) for p in got["Pod"]] == [("staging", ("10.244.0.5",))]  # type: ignore[union-attr]
    assert sorted(n.name for n in got["Namespace"]) == ["default", "prod", "staging"]
    prod = next(n for n in got["Namespace"] if n.name == "prod")
    assert prod.labels == (("team", "a"),)  # type: ignore[union-attr]


def test_kubectl_list_output(tmp_path: Path) -> None:
    """A `kind: List` (kubectl get -o yaml) is flattened; declared namespaces are not added twice."""
    f = tmp_path / "list.yaml"
    f.write_text(KUBECTL_LIST)
    got = manifests.load([str(f)])
    assert [(s.namespace, s.name, s.cluster_ips) for s in got["Service"]] == [  # type: ignore[union-attr]
        ("kube-system", "dns", ("10.96.0.10",))
    ]
    assert [n.name for n in got["Namespace"]] == ["kube-system"]


def test_typed_list_json(tmp_path: Path) -> None:
    """A JSON ServiceList straight from the API (items without kind) takes the kind from the list."""
    items = [ko.service("a", "x", "10.0.0.1"), ko.service("b", "x", "10.0.0.2")]
    for i in items:
        del i["kind"], i["apiVersion"]
    f = tmp_path / "svc.json"
    f.write_text(json.dumps({"kind": "ServiceList", "apiVersion": "v1", "metadata": {}, "items": items}))
    got = manifests.load([str(f)])
    assert sorted(s.name for s in got["Service"]) == ["a", "b"]


def test_several_files(tmp_path: Path) -> None:
    """Objects of all files are merged."""
    a, b = tmp_path / "a.yaml", tmp_path / "b.json"
    a.write_text(MULTI)
    b.write_text(json.dumps(ko.service("extra", "prod", "10.96.0.99")))
    got = manifests.load([str(a), str(b)])
    assert len(got["Service"]) == 3


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("kind: Service\nmetadata: {name: [", "a.yaml"),
        ("- just\n- a list\n", "not an object"),
        ("kind: Service\nmetadata: {namespace: x}\n", "without metadata.name"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, match: str) -> None:
    """Broken YAML, a document that is not an object, or an object without a name: ManifestError."""
    f = tmp_path / "a.yaml"
    f.write_text(text)
    with pytest.raises(ManifestError, match=match):
        manifests.load([str(f)])


def test_missing_file(tmp_path: Path) -> None:
    """A file that cannot be read is a ManifestError naming it."""
    with pytest.raises(ManifestError, match=r"nope\.yaml"):
        manifests.load([str(tmp_path / "nope.yaml")])


@pytest.fixture
def errors() -> Iterator[list[str]]:
    """Error lines the kubernetes plugin logs."""
    lines: list[str] = []

    class H(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                lines.append(record.getMessage())

    log = logging.getLogger("kdns.plugin.kubernetes")
    h = H()
    log.addHandler(h)
    yield lines
    log.removeHandler(h)


def _bump(path: Path, text: str) -> None:
    """Rewrite ``path`` with a modification time surely different from before."""
    st = path.stat()
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


async def test_source_reloads_on_change(tmp_path: Path, errors: list[str]) -> None:
    """The source is synced after the first read; a changed file replaces the store's objects on the next
    poll (every 2 s), an unchanged one is not read again, and a broken edit keeps the last good state."""
    f = tmp_path / "cluster.yaml"
    f.write_text(MULTI)
    store = Store()
    sleep = StepSleep()
    src = make_source(KubeOptions(zones=("cluster.local.",), objects=(str(f),)), store)
    assert isinstance(src, ManifestSource)
    src = ManifestSource([str(f)], store, sleep=sleep)
    await src.start()
    try:
        assert src.synced()
        assert await src.wait_synced(0)
        assert not src.outage
        assert store.service("prod", "web") is not None
        assert await sleep.next_delay() == 2.0

        sleep.step()  # nothing changed
        await sleep.next_delay()
        assert src.loads == 1

        g = store.generation
        _bump(
            f,
            MULTI.replace("10.96.0.20", "10.96.0.21").replace(
                "name: web, namespace: prod", "name: web2, namespace: prod"
            ),
        )
        sleep.step()
        await sleep.next_delay()
        assert src.loads == 2
        assert store.service("prod", "web") is None
        assert store.service("prod", "web2").cluster_ips == ("10.96.0.21",)  # type: ignore[union-attr]
        assert store.generation > g

        _bump(f, "kind: Service\nmetadata: {name: [\n")
        sleep.step()
        await sleep.next_delay()
        assert src.loads == 2
        assert store.service("prod", "web2") is not None
        assert len(errors) == 1
        assert "cluster.yaml" in errors[0]
    finally:
        await src.stop()


async def test_source_unreadable_at_start(tmp_path: Path, errors: list[str]) -> None:
    """A file missing at start leaves the source unsynced (an error logged); once it appears, it syncs."""
    f = tmp_path / "late.yaml"
    sleep = StepSleep()
    store = Store()
    src = ManifestSource([str(f)], store, sleep=sleep)
    await src.start()
    try:
        assert not src.synced()
        assert not await src.wait_synced(0.01)
        assert errors
        assert "late.yaml" in errors[0]
        await sleep.next_delay()
        f.write_text(KUBECTL_LIST)
        sleep.step()
        await sleep.next_delay()
        assert src.synced()
        assert store.namespace("kube-system") is not None
    finally:
        await src.stop()
