"""k8sclient: kubernetes-asyncio imported without its unused API and model modules; memory released after a sync."""

from __future__ import annotations

import gc
import json
import logging
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path
from typing import Any

import pytest

from kdns.plugins.kubernetes import api, k8sclient
from kdns.plugins.kubernetes.store import Store

#: a clean interpreter: sync kdns through kdns.testing.kubeapi, answer a query, report what was imported
SYNC_SCRIPT = """
import asyncio, json, sys
from pathlib import Path

from kdns.testing import run_instance
from kdns.testing import kubeobjects as ko
from kdns.testing.kubeapi import KubeAPI


async def main() -> None:
    async with KubeAPI() as kube:
        await kube.add(ko.namespace("prod"))
        await kube.add(ko.service("web", "prod", "10.96.1.10"))
        await kube.add(ko.service("db", "prod", "None"))
        await kube.add(ko.endpoint_slice("db-1", "prod", "db", ["10.244.0.7", "10.244.0.8"]))
        kc = kube.write_kubeconfig(Path(sys.argv[1]) / "kubeconfig")
        corefile = ".:0 {\\n kubernetes cluster.local {\\n  kubeconfig %s\\n }\\n}\\n" % kc
        async with run_instance(corefile) as inst:
            web = await inst.query("web.prod.svc.cluster.local.", "A")
            db = await inst.query("db.prod.svc.cluster.local.", "A")
    from kdns.plugins.kubernetes import k8sclient

    print(json.dumps({
        "light": k8sclient.LIGHT,
        "web": sorted(rd.to_text() for rrset in web.answer for rd in rrset),
        "db": sorted(rd.to_text() for rrset in db.answer for rd in rrset),
        "models": sorted(m for m in sys.modules if m.startswith("kubernetes_asyncio.client.models.")),
        "apis": sorted(m for m in sys.modules if m.startswith("kubernetes_asyncio.client.api.")),
    }))


asyncio.run(main())
"""


def run(script: str, *args: str) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter; the JSON it printed last."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_sync_imports_no_models(tmp_path: Path) -> None:
    """A kubeconfig sync through kdns.testing.kubeapi answers right with no model and only two API modules imported."""
    got = run(SYNC_SCRIPT, str(tmp_path))
    assert got["web"] == ["10.96.1.10"]
    assert got["db"] == ["10.244.0.7", "10.244.0.8"]
    assert got["light"] is True
    assert "kubernetes_asyncio.client.models.v1_pod" not in got["models"]
    assert got["models"] == []
    assert got["apis"] == [
        "kubernetes_asyncio.client.api.core_v1_api",
        "kubernetes_asyncio.client.api.discovery_v1_api",
    ]


def test_stand_ins_resolve_every_name_lazily() -> None:
    """Names of the real ``__init__`` files (classes, packages, submodules, versions) resolve through the stand-ins."""
    got = run("""
        import json, sys
        from kdns.plugins.kubernetes import k8sclient
        import kubernetes_asyncio
        from kubernetes_asyncio import client
        before = "kubernetes_asyncio.client.models.v1_pod" in sys.modules
        pod = client.V1Pod(metadata=client.V1ObjectMeta(name="p"))
        from kubernetes_asyncio.client.models import V1Pod
        import kubernetes_asyncio.watch
        print(json.dumps({
            "light": k8sclient.LIGHT,
            "before": before,
            "after": "kubernetes_asyncio.client.models.v1_pod" in sys.modules,
            "same": V1Pod is client.V1Pod is client.models.V1Pod,
            "name": pod.metadata.name,
            "apps": client.AppsV1Api.__module__,
            "watch": kubernetes_asyncio.watch.Watch.__name__,
            "version": kubernetes_asyncio.__version__ == client.__version__ != "",
            "dir": "V1Service" in dir(client.models) and "CoreV1Api" in dir(client),
            "missing": hasattr(client, "NoSuchThing"),
        }))
    """)
    assert got == {
        "light": True,
        "before": False,
        "after": True,
        "same": True,
        "name": "p",
        "apps": "kubernetes_asyncio.client.api.apps_v1_api",
        "watch": "Watch",
        "version": True,
        "dir": True,
        "missing": False,
    }


def test_already_imported_is_used_as_is() -> None:
    """When kubernetes_asyncio was imported before kdns, k8sclient uses that (full) package."""
    got = run("""
        import json, sys
        import kubernetes_asyncio
        from kdns.plugins.kubernetes import k8sclient
        print(json.dumps({"light": k8sclient.LIGHT, "same": k8sclient.client is kubernetes_asyncio.client,
                          "models": "kubernetes_asyncio.client.models.v1_pod" in sys.modules}))
    """)
    assert got == {"light": False, "same": True, "models": True}


def test_failure_falls_back_to_the_full_import() -> None:
    """If building the stand-ins fails half way, they are dropped and the package is imported in full."""
    got = run("""
        import importlib.util, json, sys
        real = importlib.util.find_spec
        def find_spec(name, *a):
            if name == "kubernetes_asyncio.client.models":
                raise ImportError("boom")
            return real(name, *a)
        importlib.util.find_spec = find_spec
        from kdns.plugins.kubernetes import k8sclient
        import kubernetes_asyncio
        print(json.dumps({"light": k8sclient.LIGHT, "getattr": "__getattr__" in vars(kubernetes_asyncio),
                          "models": "kubernetes_asyncio.client.models.v1_pod" in sys.modules,
                          "api": k8sclient.client.CoreV1Api.__name__}))
    """)
    assert got == {"light": False, "getattr": False, "models": True, "api": "CoreV1Api"}


def test_lazy_package_unknown_name() -> None:
    """A stand-in raises AttributeError for a name that is neither in its ``__init__`` nor a submodule."""
    mod = k8sclient.lazy_package("kubernetes_asyncio.client")
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = mod.NoSuchThing
    assert mod.ApiClient is sys.modules["kubernetes_asyncio.client.api_client"].ApiClient


def test_release_memory_collects_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    """release_memory runs a full collection (a garbage cycle goes) and logs at debug."""

    class Node:
        other: Any = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    ref = weakref.ref(a)
    del a, b
    gc.disable()
    try:
        with caplog.at_level(logging.DEBUG, logger="kdns.plugin.kubernetes"):
            k8sclient.release_memory()
    finally:
        gc.enable()
    assert ref() is None
    assert any("released memory" in r.getMessage() and r.levelno == logging.DEBUG for r in caplog.records)


def test_memory_released_once_after_every_kind_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Events release memory once, when the last watched kind finished its first list, before on_listed runs."""
    calls: list[str] = []
    monkeypatch.setattr(k8sclient, "release_memory", lambda: calls.append("release"))
    events = api.Events(Store())
    events.on_listed = lambda: calls.append("listed")
    events.kinds.update({"Service", "EndpointSlice"})
    events.listed("Service")
    assert calls == ["listed"]
    events.listed("EndpointSlice")
    assert calls == ["listed", "release", "listed"]
    events.listed("Service")  # a relist later
    assert calls == ["listed", "release", "listed", "listed"]
