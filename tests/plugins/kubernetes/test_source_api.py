"""The API source through a real HTTP list/watch server (kdns.testing.kubeapi) and a kubeconfig:
sync, events, resumed watches, 410 relists, outages, bookmarks, selectors, auth, metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio.config import ConfigException

from kdns.plugins.kubernetes import api
from kdns.plugins.kubernetes.objects import TRIGGER_TIME
from kdns.plugins.kubernetes.options import KubeOptions
from kdns.plugins.kubernetes.source import ApiSource, make_source
from kdns.plugins.kubernetes.store import Store
from kdns.testing import kubeobjects as ko
from kdns.testing import sample
from kdns.testing.kubeapi import KubeAPI
from kdns.testing.wait import until

ZONES = ("cluster.local.",)


@pytest.fixture
async def kube() -> AsyncIterator[KubeAPI]:
    async with KubeAPI() as k:
        await k.add(ko.namespace("default"))
        await k.add(ko.namespace("prod", {"team": "a"}))
        yield k


@pytest.fixture
def logs() -> Iterator[list[tuple[int, str]]]:
    """(level, message) of the kubernetes plugin's log lines."""
    lines: list[tuple[int, str]] = []

    class H(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append((record.levelno, record.getMessage()))

    log = logging.getLogger("kdns.plugin.kubernetes")
    h = H(logging.INFO)
    old = log.level
    log.setLevel(logging.INFO)
    log.addHandler(h)
    yield lines
    log.removeHandler(h)
    log.setLevel(old)


def options(kube: KubeAPI, tmp_path: Path, token: str | None = None, **kw: Any) -> KubeOptions:
    path = kube.write_kubeconfig(tmp_path / "kubeconfig", token)
    return KubeOptions(zones=ZONES, kubeconfig=str(path), **kw)


@asynccontextmanager
async def running(opts: KubeOptions, store: Store | None = None, **kw: Any) -> AsyncIterator[ApiSource]:
    src = ApiSource(opts, store or Store(), backoff=lambda: api.Backoff(0.01, 0.05), **kw)
    await src.start()
    try:
        yield src
    finally:
        await src.stop()


async def test_initial_sync_paginated(kube: KubeAPI, tmp_path: Path) -> None:
    """The first sync lists every kind (1001 Services in 3 pages of 500), filters pods by phase, and then
    makes synced() true; pods are only watched with `pods verified`."""
    for i in range(1001):
        await kube.add(ko.service(f"s{i}", "default", f"10.96.{i // 250}.{i % 250 + 1}"))
    await kube.add(ko.endpoint_slice("s1-a", "default", "s1", ["10.244.0.1"]))
    await kube.add(ko.pod("run", "default", "10.244.0.1"))
    await kube.add(ko.pod("done", "default", "10.244.0.2", phase="Succeeded"))
    store = Store()
    async with running(options(kube, tmp_path, pods="verified"), store) as src:
        assert await src.wait_synced(5)
        assert store.counts() == {"Service": 1001, "EndpointSlice": 1, "Namespace": 2, "Pod": 1}
        assert kube.lists["services"] == 3
        assert store.pods_by_ip("10.244.0.2") == []
        assert store.synced_kinds == {"Service", "EndpointSlice", "Namespace", "Pod"}
    async with running(options(kube, tmp_path, noendpoints=True)) as src:
        assert await src.wait_synced(5)
        assert {w.kind.name for w in src.watchers} == {"Service", "Namespace"}
    assert kube.lists["pods"] == 1
    assert kube.lists["endpointslices"] == 1


async def test_changes_visible_within_one_second(kube: KubeAPI, tmp_path: Path) -> None:
    """Adds, modifications and deletes of every kind reach the store through the watch within 1 s; a pod
    that finishes (leaves the field selector) disappears."""
    store = Store()
    async with running(options(kube, tmp_path, pods="verified"), store) as src:
        assert await src.wait_synced(5)
        await kube.add(ko.service("web", "prod", "10.96.0.20"))
        await until(lambda: store.service("prod", "web") is not None, 1.0)
        await kube.update(ko.service("web", "prod", ["10.96.0.21", "fd00::21"]))
        await until(lambda: bool(store.services_by_ip("fd00::21")), 1.0)
        assert store.services_by_ip("10.96.0.20") == []
        await kube.add(ko.endpoint_slice("web-a", "prod", "web", [ko.endpoint("10.244.1.1", hostname="w0")]))
        await until(lambda: len(store.slices("prod", "web")) == 1, 1.0)
        await kube.add(ko.pod("p", "prod", "10.244.1.1"))
        await until(lambda: bool(store.pods_by_ip("10.244.1.1")), 1.0)
        await kube.update(ko.pod("p", "prod", "10.244.1.1", phase="Succeeded"))
        await until(lambda: not store.pods_by_ip("10.244.1.1"), 1.0)
        await kube.delete("services", "prod", "web")
        await kube.delete("endpointslices", "prod", "web-a")
        await kube.delete("namespaces", "", "prod")
        await until(lambda: store.counts() == {"Service": 0, "EndpointSlice": 0, "Namespace": 1, "Pod": 0}, 1.0)
        assert kube.lists["services"] == 1


@pytest.mark.parametrize("reset", [False, True], ids=["clean-end", "tcp-reset"])
async def test_dropped_watch_resumes_without_relist(kube: KubeAPI, tmp_path: Path, reset: bool, logs: Any) -> None:
    """A watch that ends (cleanly or by a TCP reset) is opened again from the last resourceVersion: an object
    added meanwhile arrives, no list is made, and no outage is reported."""
    store = Store()
    async with running(options(kube, tmp_path), store) as src:
        assert await src.wait_synced(5)
        for kind in ("services", "endpointslices", "namespaces"):
            await kube.watching(kind)
        lists = dict(kube.lists)
        watches = kube.watches["services"]
        assert await kube.drop_watches(reset=reset) == 3
        await kube.add(ko.service("late", "default", "10.96.0.77"))
        await until(lambda: store.service("default", "late") is not None, 1.0)
        assert kube.watches["services"] == watches + 1
        assert dict(kube.lists) == lists
        assert not src.outage
        assert not [m for lvl, m in logs if lvl >= logging.ERROR]


async def test_compaction_gone_relists(kube: KubeAPI, tmp_path: Path) -> None:
    """After compaction a resumed watch gets ERROR 410: the kind is listed again and the store matches it."""
    store = Store()
    async with running(options(kube, tmp_path), store) as src:
        assert await src.wait_synced(5)
        await kube.watching("services")
        w = src.watcher("Service")
        await kube.add(ko.service("a", "default", "10.96.0.1"))
        await until(lambda: store.service("default", "a") is not None, 1.0)
        await kube.compact()
        await kube.drop_watches()
        await kube.add(ko.service("b", "default", "10.96.0.2"))
        await until(lambda: w.lists == 2 and store.service("default", "b") is not None, 1.0)
        assert kube.lists["services"] == 2
        assert store.service("default", "a") is not None


@pytest.mark.parametrize("mode", ["refuse", "503"])
async def test_outage_after_sync(kube: KubeAPI, tmp_path: Path, mode: str, logs: Any) -> None:
    """An API outage after sync keeps the store whole, logs one error, shows api_up 0; while out, changes
    (and a compaction) happen; after recovery the store converges within 1 s (relist after 410), api_up is 1,
    and one line says the connection is back."""
    await kube.add(ko.service("keep", "default", "10.96.0.1"))
    await kube.add(ko.service("gone", "default", "10.96.0.2"))
    store = Store()
    async with running(options(kube, tmp_path), store) as src:
        assert await src.wait_synced(5)
        assert sample("coredns_kubernetes_api_up") == 1
        counts = store.counts()
        await kube.outage(mode)
        await until(lambda: src.outage and all(w.backoff.failures >= 3 for w in src.watchers), 2.0)
        assert store.counts() == counts
        assert src.synced()
        assert sample("coredns_kubernetes_api_up") == 0
        errors = [m for lvl, m in logs if lvl >= logging.ERROR]
        assert len(errors) == 1
        assert "lost connection to the API" in errors[0]

        await kube.delete("services", "default", "gone")
        await kube.add(ko.service("new", "default", "10.96.0.3"))
        await kube.compact()
        await kube.recover()
        await until(
            lambda: store.service("default", "new") is not None and store.service("default", "gone") is None, 1.0
        )
        await until(lambda: not src.outage, 1.0)
        assert store.service("default", "keep") is not None
        assert sample("coredns_kubernetes_api_up") == 1
        assert sample("coredns_kubernetes_last_event_age_seconds") < 5
        assert len([m for lvl, m in logs if lvl >= logging.ERROR]) == 1
        assert [m for lvl, m in logs if "connection to the API is back" in m] == ["connection to the API is back"]


async def test_outage_during_sync(kube: KubeAPI, tmp_path: Path, logs: Any) -> None:
    """With the API down from the start the source is not synced and reports the outage; once the API is
    back it syncs by itself."""
    await kube.add(ko.service("web", "default", "10.96.0.1"))
    await kube.outage("refuse")
    store = Store()
    async with running(options(kube, tmp_path), store) as src:
        await until(lambda: src.outage, 2.0)
        assert not await src.wait_synced(0.05)
        assert sample("coredns_kubernetes_api_up") == 0
        assert next(m for lvl, m in logs if lvl >= logging.ERROR).startswith("cannot reach the API")
        await kube.recover()
        assert await src.wait_synced(2)
        assert store.service("default", "web") is not None
        await until(lambda: not src.outage, 1.0)


async def test_bookmarks_advance_resource_version(kube: KubeAPI, tmp_path: Path) -> None:
    """A BOOKMARK moves a watcher's resourceVersion (past changes of other kinds); a later dropped watch
    resumes from there without a list."""
    store = Store()
    async with running(options(kube, tmp_path), store) as src:
        assert await src.wait_synced(5)
        await kube.watching("services")
        w = src.watcher("Service")
        before = w.resource_version
        for i in range(3):
            await kube.add(ko.namespace(f"n{i}"))
        await kube.bookmark()
        await until(lambda: w.resource_version == str(kube.resource_version), 1.0)
        assert int(w.resource_version) > int(before)
        await kube.drop_watches()
        await kube.add(ko.service("x", "default", "10.96.0.5"))
        await until(lambda: store.service("default", "x") is not None, 1.0)
        assert w.lists == 1


async def test_bearer_token_is_sent(kube: KubeAPI, tmp_path: Path) -> None:
    """The kubeconfig's token authenticates the requests: with a wrong one every request is 401 and the
    source never syncs; with the right one it syncs."""
    before = sample("coredns_kubernetes_rest_client_requests_total", code="401", method="GET", host=kube.url[7:])
    async with running(options(kube, tmp_path, token="wrong")) as src:
        await until(lambda: src.outage, 2.0)
        assert not src.synced()
    after = sample("coredns_kubernetes_rest_client_requests_total", code="401", method="GET", host=kube.url[7:])
    assert after > before
    async with running(options(kube, tmp_path)) as src:
        assert await src.wait_synced(5)


async def test_label_selectors(kube: KubeAPI, tmp_path: Path) -> None:
    """`labels` filters Services and EndpointSlices, `namespace_labels` Namespaces; an object whose labels
    stop matching leaves the store."""
    await kube.add(ko.service("in", "prod", "10.96.0.1", labels={"dns": "yes"}))
    await kube.add(ko.service("out", "prod", "10.96.0.2"))
    await kube.add(ko.endpoint_slice("in-a", "prod", "in", ["10.244.0.1"], labels={"dns": "yes"}))
    await kube.add(ko.endpoint_slice("out-a", "prod", "out", ["10.244.0.2"]))
    store = Store()
    async with running(options(kube, tmp_path, labels="dns=yes", namespace_labels="team=a"), store) as src:
        assert await src.wait_synced(5)
        assert [s.name for s in store.services()] == ["in"]
        assert store.endpoints_by_ip("10.244.0.2") == []
        assert store.namespace("prod") is not None
        assert store.namespace("default") is None
        await kube.update(ko.service("in", "prod", "10.96.0.1", labels={"dns": "no"}))
        await until(lambda: store.service("prod", "in") is None, 1.0)


async def test_namespaces_option_stores_only_those(kube: KubeAPI, tmp_path: Path) -> None:
    """With `namespaces prod` objects of other namespaces are not stored (Namespaces all are)."""
    await kube.add(ko.service("a", "prod", "10.96.0.1"))
    await kube.add(ko.service("b", "default", "10.96.0.2"))
    store = Store()
    async with running(options(kube, tmp_path, namespaces=frozenset({"prod"})), store) as src:
        assert await src.wait_synced(5)
        await kube.add(ko.service("c", "default", "10.96.0.3"))
        await kube.add(ko.service("d", "prod", "10.96.0.4"))
        await until(lambda: store.service("prod", "d") is not None, 1.0)
        assert sorted(s.name for s in store.services()) == ["a", "d"]
        assert store.namespace("default") is not None


async def test_programming_latency_metric(kube: KubeAPI, tmp_path: Path) -> None:
    """A slice event with the trigger-time annotation whose Service exists observes now - trigger time under
    service_kind cluster_ip or headless_with_selector; one without the annotation or Service observes nothing."""
    await kube.add(ko.service("web", "default", "10.96.0.1"))
    await kube.add(ko.service("db", "default", "None"))
    name = "coredns_kubernetes_dns_programming_duration_seconds"
    c0 = sample(name + "_count", service_kind="cluster_ip")
    h0 = sample(name + "_count", service_kind="headless_with_selector")
    s0 = sample(name + "_sum", service_kind="cluster_ip")
    trigger = 1714557605.0  # 2024-05-01T10:00:05Z
    store = Store()
    async with running(options(kube, tmp_path), store, clock=lambda: trigger + 0.25) as src:
        assert await src.wait_synced(5)
        for svc, n in (("web", "web-a"), ("db", "db-a"), ("orphan", "o-a")):
            es = ko.endpoint_slice(n, "default", svc, ["10.244.0.9"])
            es["metadata"]["annotations"] = {TRIGGER_TIME: "2024-05-01T10:00:05Z"}
            await kube.add(es)
        await kube.add(ko.endpoint_slice("plain", "default", "web", ["10.244.0.8"]))
        await until(lambda: len(store.slices("default", "web")) == 2 and bool(store.slices("default", "orphan")), 1.0)
    assert sample(name + "_count", service_kind="cluster_ip") == c0 + 1
    assert sample(name + "_count", service_kind="headless_with_selector") == h0 + 1
    assert sample(name + "_sum", service_kind="cluster_ip") == pytest.approx(s0 + 0.25)
    assert sample(name + "_bucket", service_kind="cluster_ip", le="0.256") >= 1


async def test_stop_closes_watches(kube: KubeAPI, tmp_path: Path) -> None:
    """stop() ends every watch (the server sees them close) and keeps the store."""
    store = Store()
    async with running(options(kube, tmp_path), store) as src:
        assert await src.wait_synced(5)
        await kube.watching("namespaces")
        tasks = list(src.tasks)
        assert len(tasks) == 3
    assert all(t.done() for t in tasks)
    await until(lambda: kube.open_watches() == 0, 2.0)
    assert store.namespace("prod") is not None


async def test_max_inflight_and_qps_still_sync(kube: KubeAPI, tmp_path: Path) -> None:
    """With one request in flight at a time and a small QPS the source still syncs (watches do not hold the
    in-flight slot)."""
    for i in range(3):
        await kube.add(ko.service(f"s{i}", "default", f"10.96.0.{i + 1}"))
    opts = options(kube, tmp_path, api_max_inflight=1, api_qps=200.0, api_burst=2, pods="verified")
    async with running(opts) as src:
        assert await src.wait_synced(5)


def test_backoff_doubles_to_cap_with_jitter() -> None:
    """Delays double from base to the cap, each scaled into [0.5, 1) of that; reset starts over."""
    b = api.Backoff(0.5, 4.0, rand=lambda: 1.0)
    assert [b.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    b.reset()
    b.rand = lambda: 0.0
    assert [b.next() for _ in range(2)] == [0.25, 0.5]


async def test_token_bucket() -> None:
    """A bucket gives `burst` tokens at once, then one per 1/qps seconds."""
    now = [0.0]
    slept: list[float] = []

    async def sleep(d: float) -> None:
        slept.append(d)
        now[0] += d

    tb = api.TokenBucket(10.0, 2, clock=lambda: now[0])
    for _ in range(3):
        await tb.take(sleep)
    assert slept == [pytest.approx(0.1)]


async def test_client_configuration_endpoint_and_tls() -> None:
    """`endpoint` with `tls CERT KEY CACERT` sets the host and the client certificate and CA."""
    opts = KubeOptions(
        zones=ZONES, endpoint="https://10.0.0.1:6443/", tls_cert="/c.pem", tls_key="/k.pem", tls_ca="/ca.pem"
    )
    cfg = await api.client_configuration(opts)
    assert (cfg.host, cfg.cert_file, cfg.key_file, cfg.ssl_ca_cert) == (
        "https://10.0.0.1:6443",
        "/c.pem",
        "/k.pem",
        "/ca.pem",
    )


async def test_in_cluster_needs_a_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without kubeconfig or endpoint the in-cluster service account is used: outside a pod make_source
    says so, and start() fails too."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ValueError, match="not in a cluster"):
        make_source(KubeOptions(zones=ZONES), Store())
    src = ApiSource(KubeOptions(zones=ZONES), Store())
    with pytest.raises(ConfigException):
        await src.start()
    await src.stop()


def test_make_source_checks_files(tmp_path: Path) -> None:
    """A missing kubeconfig or a manifest that does not load is a ValueError naming the file."""
    with pytest.raises(ValueError, match="kubeconfig"):
        make_source(KubeOptions(zones=ZONES, kubeconfig=str(tmp_path / "kc")), Store())
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Service\nmetadata: {}\n")
    with pytest.raises(ValueError, match=r"without metadata\.name"):
        make_source(KubeOptions(zones=ZONES, objects=(str(bad),)), Store())
    assert isinstance(make_source(KubeOptions(zones=ZONES, endpoint="http://127.0.0.1:1"), Store()), ApiSource)


async def test_kubeconfig_context(kube: KubeAPI, tmp_path: Path) -> None:
    """`kubeconfig FILE CONTEXT` picks that context; an unknown context fails at start."""
    opts = options(kube, tmp_path)
    async with running(replace(opts, context="kdns-test")) as src:
        assert await src.wait_synced(5)
    with pytest.raises(ConfigException):
        async with running(replace(opts, context="nope")):
            pass


async def test_unconvertible_object_is_skipped(kube: KubeAPI, tmp_path: Path) -> None:
    """An object the converter cannot read (a port that is not a number) is skipped, in a list and in a
    watch event, without stopping the sync or the watch."""
    bad = ko.service("bad", "default", "10.96.0.9")
    bad["spec"]["ports"] = [{"name": "x", "port": "eighty"}]
    await kube.add(bad)
    store = Store()
    async with running(options(kube, tmp_path), store) as src:
        assert await src.wait_synced(5)
        assert store.service("default", "bad") is None
        bad2 = {**bad, "metadata": {"name": "bad2", "namespace": "default"}}
        await kube.add(bad2)
        await kube.add(ko.service("good", "default", "10.96.0.10"))
        await until(lambda: store.service("default", "good") is not None, 1.0)
        assert store.service("default", "bad2") is None
        assert not src.outage
