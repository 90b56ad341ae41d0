"""KubeAPI, the fake Kubernetes API server, driven by kubernetes_asyncio through a kubeconfig."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException

from kdns.testing import kubeobjects as ko
from kdns.testing import until
from kdns.testing.kubeapi import KubeAPI


@pytest.fixture
async def api() -> AsyncIterator[KubeAPI]:
    async with KubeAPI() as server:
        yield server


async def _client(api: KubeAPI, tmp_path: Path, token: str | None = None) -> client.ApiClient:
    path = api.write_kubeconfig(tmp_path / "kubeconfig", token=token)
    conf = client.Configuration()
    await config.load_kube_config(config_file=str(path), client_configuration=conf)
    return client.ApiClient(configuration=conf)


@pytest.fixture
async def kc(api: KubeAPI, tmp_path: Path) -> AsyncIterator[client.ApiClient]:
    c = await _client(api, tmp_path)
    async with c:
        yield c


async def _events(resp: Any, n: int) -> list[dict[str, Any]]:
    """The next n watch events of a raw (``_preload_content=False``) watch response."""
    out = []
    for _ in range(n):
        line = await asyncio.wait_for(resp.content.readline(), 5)
        assert line, "watch stream ended early"
        out.append(json.loads(line))
    return out


async def test_list_paginates_with_limit_and_continue(api: KubeAPI, kc: client.ApiClient) -> None:
    """limit/continue pages through every service exactly once, in namespace/name order, at one resourceVersion."""
    for i in range(5):
        await api.add(ko.service(f"svc{i}", "ns1" if i % 2 else "ns0", f"10.96.0.{i + 1}"))
    v1 = client.CoreV1Api(kc)
    first = await v1.list_service_for_all_namespaces(limit=2)
    assert [s.metadata.name for s in first.items] == ["svc0", "svc2"]
    assert first.metadata._continue
    assert first.metadata.remaining_item_count == 3
    await api.add(ko.service("late", "ns0"))  # not in the snapshot the token pages through
    names = [s.metadata.name for s in first.items]
    token = first.metadata._continue
    while token:
        page = await v1.list_service_for_all_namespaces(limit=2, _continue=token)
        assert page.metadata.resource_version == first.metadata.resource_version
        names += [s.metadata.name for s in page.items]
        token = page.metadata._continue
    assert names == ["svc0", "svc2", "svc4", "svc1", "svc3"]
    whole = await v1.list_service_for_all_namespaces()
    assert len(whole.items) == 6
    assert whole.metadata._continue is None
    assert int(whole.metadata.resource_version) == api.resource_version


async def test_list_items_carry_resource_versions(api: KubeAPI, kc: client.ApiClient) -> None:
    """Each write takes the next global resourceVersion, across kinds, stored on the object."""
    a = await api.add(ko.namespace("ns0"))
    b = await api.add(ko.endpoint_slice("web-abc", "ns0", "web", ["10.244.0.1", "10.244.0.2"]))
    c = await api.add(ko.pod("p", "ns0"))
    rvs = [int(o["metadata"]["resourceVersion"]) for o in (a, b, c)]
    assert rvs == sorted(rvs)
    assert len(set(rvs)) == 3
    slices = await client.DiscoveryV1Api(kc).list_endpoint_slice_for_all_namespaces()
    assert slices.items[0].metadata.resource_version == str(rvs[1])
    assert slices.items[0].metadata.labels == {"kubernetes.io/service-name": "web"}
    assert [e.addresses for e in slices.items[0].endpoints] == [["10.244.0.1"], ["10.244.0.2"]]
    nss = await client.CoreV1Api(kc).list_namespace()
    assert [n.metadata.name for n in nss.items] == ["ns0"]


async def test_label_and_field_selectors(api: KubeAPI, kc: client.ApiClient) -> None:
    """labelSelector (=, !=, exists, !exists, in, notin) and fieldSelector (status.phase!=) filter lists."""
    await api.add(ko.pod("a", labels={"app": "web", "tier": "front"}))
    await api.add(ko.pod("b", labels={"app": "db"}, phase="Succeeded"))
    await api.add(ko.pod("c", phase="Failed"))
    await api.add(ko.pod("d", "other", labels={"app": "web"}, phase="Pending"))
    v1 = client.CoreV1Api(kc)

    async def names(**kw: Any) -> list[str]:
        return [p.metadata.name for p in (await v1.list_pod_for_all_namespaces(**kw)).items]

    assert await names(label_selector="app=web") == ["a", "d"]
    assert await names(label_selector="app!=web") == ["b", "c"]
    assert await names(label_selector="app=web,tier") == ["a"]
    assert await names(label_selector="!app") == ["c"]
    assert await names(label_selector="app in (db, web),!tier") == ["b", "d"]
    assert await names(label_selector="app notin (web)") == ["b", "c"]
    assert await names(field_selector="status.phase!=Succeeded,status.phase!=Failed") == ["a", "d"]
    assert await names(field_selector="metadata.namespace=other") == ["d"]
    namespaced = await v1.list_namespaced_pod("other")
    assert [p.metadata.name for p in namespaced.items] == ["d"]
    with pytest.raises(ApiException) as err:
        await names(label_selector="app=(x")
    assert err.value.status == 400


async def test_watch_from_resource_version_replays_then_streams_live(api: KubeAPI, kc: client.ApiClient) -> None:
    """A watch from the list's resourceVersion gets the later events in order: replayed, then live."""
    await api.add(ko.service("a"))
    v1 = client.CoreV1Api(kc)
    listed = await v1.list_service_for_all_namespaces()
    await api.add(ko.service("b"))
    await api.update(ko.service("a", cluster_ip="10.96.0.99"))
    w = watch.Watch()
    stream = w.stream(v1.list_service_for_all_namespaces, resource_version=listed.metadata.resource_version)
    got = [(await stream.__anext__()) for _ in range(2)]
    assert [(e["type"], e["object"].metadata.name) for e in got] == [("ADDED", "b"), ("MODIFIED", "a")]
    assert got[1]["object"].spec.cluster_ip == "10.96.0.99"
    await api.watching("services")
    gone = await api.delete("services", "default", "b")
    ev = await stream.__anext__()
    assert (ev["type"], ev["object"].metadata.name) == ("DELETED", "b")
    assert ev["object"].metadata.resource_version == gone["metadata"]["resourceVersion"]
    assert w.resource_version == gone["metadata"]["resourceVersion"]
    await w.close()


async def test_watch_without_version_starts_with_current_objects(api: KubeAPI, kc: client.ApiClient) -> None:
    """A watch with no resourceVersion first sends ADDED for each current (matching) object."""
    await api.add(ko.pod("a", labels={"app": "web"}))
    await api.add(ko.pod("b"))
    resp = await client.CoreV1Api(kc).list_pod_for_all_namespaces(
        watch=True, label_selector="app=web", _preload_content=False
    )
    [ev] = await _events(resp, 1)
    assert (ev["type"], ev["object"]["metadata"]["name"], ev["object"]["kind"]) == ("ADDED", "a", "Pod")
    resp.release()


async def test_watch_selector_transitions_are_added_and_deleted(api: KubeAPI, kc: client.ApiClient) -> None:
    """An update moving an object out of / into a watch's selector arrives as DELETED (the last matching state,
    at the update's resourceVersion) / ADDED."""
    await api.add(ko.pod("a", labels={"app": "web"}))
    v1 = client.CoreV1Api(kc)
    resp = await v1.list_pod_for_all_namespaces(
        watch=True,
        field_selector="status.phase!=Succeeded",
        resource_version=str(api.resource_version),
        _preload_content=False,
    )
    await api.watching("pods")
    await api.update(ko.pod("a", labels={"app": "web"}, phase="Succeeded"))
    await api.update(ko.pod("a", labels={"app": "web"}, phase="Running"))
    evs = await _events(resp, 2)
    assert [(e["type"], e["object"]["status"]["phase"]) for e in evs] == [("DELETED", "Running"), ("ADDED", "Running")]
    assert int(evs[0]["object"]["metadata"]["resourceVersion"]) < int(evs[1]["object"]["metadata"]["resourceVersion"])
    resp.release()


async def test_bookmarks_on_demand_and_periodic(tmp_path: Path) -> None:
    """With allowWatchBookmarks, the periodic timer and bookmark() send BOOKMARKs with the current version;
    a watch without it gets none."""
    async with KubeAPI(bookmark_interval=0.02) as api, await _client(api, tmp_path) as kc:
        v1 = client.CoreV1Api(kc)
        await api.add(ko.namespace("ns0"))
        plain = await v1.list_namespace(watch=True, resource_version="1", _preload_content=False)
        marked = await v1.list_namespace(
            watch=True, resource_version="1", allow_watch_bookmarks=True, _preload_content=False
        )
        [added, mark] = await _events(marked, 2)
        assert (added["type"], mark["type"]) == ("ADDED", "BOOKMARK")
        assert mark["object"]["metadata"]["resourceVersion"] == str(api.resource_version)
        assert mark["object"]["kind"] == "Namespace"
        await api.add(ko.namespace("ns1"))
        evs = await _events(plain, 2)
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [("ADDED", "ns0"), ("ADDED", "ns1")]
        plain.release()
        marked.release()
    async with KubeAPI() as api, await _client(api, tmp_path) as kc:
        w = watch.Watch()
        stream = w.stream(client.CoreV1Api(kc).list_namespace, allow_watch_bookmarks=True, timeout_seconds=5)
        task = asyncio.ensure_future(stream.__anext__())
        await api.watching("namespaces")
        await api.bookmark()
        ev = await asyncio.wait_for(task, 5)
        assert ev["type"] == "BOOKMARK"
        assert w.resource_version == str(api.resource_version)
        await w.close()


async def test_compaction_expires_watch_and_continue(api: KubeAPI, kc: client.ApiClient) -> None:
    """After compact(), a watch from an older resourceVersion gets an ERROR 410 Expired event and a
    continue token from before answers HTTP 410; a fresh list and watch work."""
    for i in range(3):
        await api.add(ko.service(f"s{i}"))
    v1 = client.CoreV1Api(kc)
    page = await v1.list_service_for_all_namespaces(limit=1)
    old = page.metadata.resource_version
    await api.compact()
    resp = await v1.list_service_for_all_namespaces(watch=True, resource_version=old, _preload_content=False)
    [ev] = await _events(resp, 1)
    assert ev["type"] == "ERROR"
    assert (ev["object"]["code"], ev["object"]["reason"], ev["object"]["kind"]) == (410, "Expired", "Status")
    assert await resp.content.readline() == b""
    assert api.open_watches() == 0
    resp.release()
    w = watch.Watch()
    with pytest.raises(ApiException) as err:
        async for _ in w.stream(v1.list_service_for_all_namespaces, resource_version=old, timeout_seconds=5):
            pass
    assert err.value.status == 410
    await w.close()
    with pytest.raises(ApiException) as err:
        await v1.list_service_for_all_namespaces(limit=1, _continue=page.metadata._continue)
    assert err.value.status == 410
    assert json.loads(err.value.body)["reason"] == "Expired"
    fresh = await v1.list_service_for_all_namespaces()
    resp = await v1.list_service_for_all_namespaces(
        watch=True, resource_version=fresh.metadata.resource_version, _preload_content=False
    )
    await api.watching("services")
    await api.delete("services", "default", "s1")
    [ev] = await _events(resp, 1)
    assert (ev["type"], ev["object"]["metadata"]["name"]) == ("DELETED", "s1")
    resp.release()


async def test_drop_watches_ends_streams(api: KubeAPI, kc: client.ApiClient) -> None:
    """drop_watches() ends open streams cleanly; with reset=True the connection is reset instead."""
    v1 = client.CoreV1Api(kc)
    resp = await v1.list_service_for_all_namespaces(watch=True, _preload_content=False)
    await api.watching("services")
    assert await api.drop_watches() == 1
    assert await asyncio.wait_for(resp.content.readline(), 5) == b""
    assert api.open_watches("services") == 0
    resp.release()
    resp = await v1.list_service_for_all_namespaces(watch=True, _preload_content=False)
    await api.watching("services")
    assert api.watches["services"] == 2
    await api.drop_watches(reset=True)
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(resp.content.read(), 5)
    resp.release()


async def test_watch_stream_reconnects_after_drop(api: KubeAPI, kc: client.ApiClient) -> None:
    """A Watch().stream without timeout reconnects from its last resourceVersion after the stream is dropped,
    missing no event."""
    w = watch.Watch()
    stream = w.stream(client.CoreV1Api(kc).list_service_for_all_namespaces)
    task = asyncio.ensure_future(stream.__anext__())
    await api.watching("services")
    await api.add(ko.service("a"))
    assert (await asyncio.wait_for(task, 5))["object"].metadata.name == "a"
    await api.drop_watches()
    await api.add(ko.service("b"))
    ev = await asyncio.wait_for(stream.__anext__(), 5)
    assert (ev["type"], ev["object"].metadata.name) == ("ADDED", "b")
    assert api.watches["services"] == 2
    await w.close()


async def test_outage_refuses_then_recover_serves(api: KubeAPI, kc: client.ApiClient) -> None:
    """outage() refuses connections and resets open watches; recover() serves again on the same URL."""
    await api.add(ko.namespace("ns0"))
    v1 = client.CoreV1Api(kc)
    resp = await v1.list_namespace(watch=True, resource_version=str(api.resource_version), _preload_content=False)
    await api.watching("namespaces")
    url = api.url
    await api.outage()
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(resp.content.read(), 5)
    resp.release()
    with pytest.raises(aiohttp.ClientConnectionError):
        await v1.list_namespace()
    with pytest.raises(aiohttp.ClientConnectionError):
        await v1.list_namespace()
    await api.recover()
    assert api.url == url
    got = await v1.list_namespace()
    assert [n.metadata.name for n in got.items] == ["ns0"]


async def test_outage_503(api: KubeAPI, kc: client.ApiClient) -> None:
    """outage('503') answers 503 ServiceUnavailable until recover()."""
    v1 = client.CoreV1Api(kc)
    await api.outage("503")
    with pytest.raises(ApiException) as err:
        await v1.list_namespace()
    assert err.value.status == 503
    await api.recover()
    assert (await v1.list_namespace()).items == []
    assert api.requests["/api/v1/namespaces"] == 2


async def test_requests_need_the_bearer_token(api: KubeAPI, tmp_path: Path) -> None:
    """Without the right bearer token every request is 401 Unauthorized."""
    async with await _client(api, tmp_path, token="wrong") as kc:
        with pytest.raises(ApiException) as err:
            await client.CoreV1Api(kc).list_namespace()
    assert err.value.status == 401
    assert json.loads(err.value.body)["reason"] == "Unauthorized"
    async with aiohttp.ClientSession() as s, s.get(f"{api.url}/api/v1/services?watch=true") as r:
        assert r.status == 401
    assert api.open_watches() == 0


async def test_watch_timeout_seconds_ends_stream(api: KubeAPI, kc: client.ApiClient) -> None:
    """timeoutSeconds ends the watch stream; Watch().stream with a timeout then stops iterating."""
    w = watch.Watch()
    got = [e async for e in w.stream(client.CoreV1Api(kc).list_pod_for_all_namespaces, timeout_seconds=0.2)]
    assert got == []
    assert api.open_watches() == 0
    await w.close()


async def test_get_single_object_and_404(api: KubeAPI, kc: client.ApiClient) -> None:
    """GET of one object returns it (with kind); a missing one is 404 NotFound."""
    await api.add(ko.service("web", "ns0", external_name="example.org"))
    v1 = client.CoreV1Api(kc)
    svc = await v1.read_namespaced_service("web", "ns0")
    assert (svc.spec.type, svc.spec.external_name) == ("ExternalName", "example.org")
    with pytest.raises(ApiException) as err:
        await v1.read_namespaced_service("nope", "ns0")
    assert err.value.status == 404


async def test_client_closing_a_watch_closes_it_on_the_server(api: KubeAPI, kc: client.ApiClient) -> None:
    """When the client goes away, the server forgets the watch (open_watches drops back to 0)."""
    resp = await client.DiscoveryV1Api(kc).list_endpoint_slice_for_all_namespaces(watch=True, _preload_content=False)
    await api.watching("endpointslices")
    assert api.open_watches("EndpointSlice") == 1
    resp.close()
    await until(lambda: api.open_watches() == 0)
