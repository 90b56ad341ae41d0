"""List+watch of the Kubernetes API through kubernetes-asyncio, feeding a Store.

One ``Watcher`` task per kind: a paginated list (``limit``/``continue``) replaces the kind in the
store, then a watch from the list's resourceVersion applies each event. The resourceVersion is
carried across reconnects (bookmarks move it too); 410 Gone means relist; any other failure
reconnects after an exponential backoff with jitter. The generated API functions are called with
``_preload_content=False`` and the JSON is read here: kubernetes-asyncio's model classes cost too
much memory and CPU at tens of thousands of objects (and k8sclient imports only the client parts used).
Once every kind was listed, the memory the list pages took is given back to the system.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from kdns.log import plugin_logger
from kdns.plugins.kubernetes import k8sclient, metrics, objects
from kdns.plugins.kubernetes.k8sclient import client as k8s
from kdns.plugins.kubernetes.k8sclient import config as k8s_config
from kdns.plugins.kubernetes.options import KubeOptions
from kdns.plugins.kubernetes.store import Object, Store, key_of

log = plugin_logger("kubernetes")

Sleep = Callable[[float], Awaitable[None]]
PAGE = 500
#: field selector of the Pod watch: pods in a terminal or unknown phase have no DNS records
POD_FIELDS = "status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown"
#: a watch asks the server to end it after 5 to 10 minutes (as client-go), then resumes
WATCH_SECONDS = (300, 600)


class ApiError(Exception):
    """A failed request or an ERROR watch event."""

    def __init__(self, msg: str, status: int = 0) -> None:
        super().__init__(msg)
        self.status = status


class Gone(ApiError):
    """410 Gone: the resourceVersion (or continue token) is too old; list again."""


class Backoff:
    """Exponential delays with jitter: ``base`` doubling to ``cap``, each scaled by a random 0.5..1."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rand: Callable[[], float] = random.random) -> None:
        self.base = base
        self.cap = cap
        self.rand = rand
        self.failures = 0

    def next(self) -> float:
        delay = min(self.cap, self.base * 2**self.failures)
        self.failures = min(self.failures + 1, 32)
        return delay * (0.5 + self.rand() / 2)

    def reset(self) -> None:
        self.failures = 0


class TokenBucket:
    """Client-side rate limit: ``qps`` tokens a second, up to ``burst`` saved."""

    def __init__(self, qps: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.qps = qps
        self.burst = max(1, burst)
        self.clock = clock
        self.tokens = float(self.burst)
        self.at = clock()

    async def take(self, sleep: Sleep = asyncio.sleep) -> None:
        while True:
            now = self.clock()
            self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.qps)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await sleep((1 - self.tokens) / self.qps)


async def client_configuration(opts: KubeOptions) -> k8s.Configuration:
    """The API address and credentials: kubeconfig, else ``endpoint`` (with ``tls``), else in-cluster."""
    cfg = k8s.Configuration()
    if opts.kubeconfig:
        await k8s_config.load_kube_config(
            config_file=opts.kubeconfig, context=opts.context or None, client_configuration=cfg, persist_config=False
        )
    elif opts.endpoint:
        cfg.host = opts.endpoint.rstrip("/")
        if opts.tls_cert:
            cfg.cert_file, cfg.key_file = opts.tls_cert, opts.tls_key
        if opts.tls_ca:
            cfg.ssl_ca_cert = opts.tls_ca
    else:
        k8s_config.load_incluster_config(client_configuration=cfg)
    return cfg


@dataclass(slots=True)
class Kind:
    """One watched resource: its store kind, its generated list function and its converter."""

    name: str
    #: verb of the metrics (the resource's path tail)
    resource: str
    call: Callable[..., Awaitable[Any]]
    convert: Callable[[dict[str, Any]], Object | None]
    label_selector: str = ""
    field_selector: str = ""


def kinds(api: k8s.ApiClient, opts: KubeOptions) -> list[Kind]:
    """The resources ``opts`` asks to watch."""
    core = k8s.CoreV1Api(api)
    out = [
        Kind("Service", "services", core.list_service_for_all_namespaces, objects.service, opts.labels),
        Kind("Namespace", "namespaces", core.list_namespace, objects.namespace, opts.namespace_labels),
    ]
    if not opts.noendpoints:
        discovery = k8s.DiscoveryV1Api(api)
        call = discovery.list_endpoint_slice_for_all_namespaces
        out.append(Kind("EndpointSlice", "endpointslices", call, objects.endpoint_slice, opts.labels))
    if opts.pods == "verified":
        out.append(Kind("Pod", "pods", core.list_pod_for_all_namespaces, objects.pod, opts.labels, POD_FIELDS))
    return out


class Requests:
    """Every API request goes through here: rate limit, in-flight limit, metrics, status check."""

    def __init__(self, host: str, qps: float = 0.0, burst: int = 0, max_inflight: int = 0) -> None:
        self.host = urlsplit(host).netloc or host
        self.bucket = TokenBucket(qps, burst or 1) if qps > 0 else None
        self.inflight = asyncio.Semaphore(max_inflight) if max_inflight > 0 else None

    async def open(self, kind: Kind, timeout: aiohttp.ClientTimeout, **params: Any) -> aiohttp.ClientResponse:
        """Send the list or watch request; the response once its status is 200 (the caller releases it)."""
        verb = "WATCH" if params.get("watch") else "LIST"
        if self.bucket is not None:
            t0 = time.monotonic()
            await self.bucket.take()
            metrics.RATE_LIMITER_DURATION.labels(verb, self.host).observe(time.monotonic() - t0)
        if self.inflight is not None:
            async with self.inflight:
                return await self._send(kind, verb, timeout, params)
        return await self._send(kind, verb, timeout, params)

    async def _send(self, kind: Kind, verb: str, timeout: aiohttp.ClientTimeout, params: Any) -> aiohttp.ClientResponse:
        t0 = time.monotonic()
        try:
            resp: aiohttp.ClientResponse = await kind.call(
                _preload_content=False, _request_timeout=timeout, **{k: v for k, v in params.items() if v}
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            metrics.REQUESTS.labels("<error>", "GET", self.host).inc()
            raise ApiError(f"{kind.resource}: {e or type(e).__name__}") from e
        metrics.REQUEST_DURATION.labels(verb, self.host).observe(time.monotonic() - t0)
        metrics.REQUESTS.labels(str(resp.status), "GET", self.host).inc()
        if resp.status == 200:
            return resp
        try:
            body = (await resp.read()).decode(errors="replace")[:300]
        except aiohttp.ClientError:
            body = ""
        finally:
            resp.release()
        cls = Gone if resp.status == 410 else ApiError
        raise cls(f"{kind.resource}: HTTP {resp.status}: {body.strip()}", resp.status)


class Watcher:
    """List then watch one kind into the store, forever: reconnect, resume, relist."""

    def __init__(
        self,
        kind: Kind,
        store: Store,
        requests: Requests,
        events: Events,
        *,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        keep: Callable[[Object], bool] | None = None,
    ) -> None:
        self.kind = kind
        self.store = store
        self.requests = requests
        self.events = events
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        #: objects of other namespaces than ``namespaces`` are not stored
        self.keep = keep
        events.kinds.add(kind.name)
        #: where the next watch starts
        self.resource_version = ""
        #: list before the next watch (at start and after 410 Gone)
        self.need_list = True
        #: a full list was stored once
        self.listed = False
        #: requests made, for tests and logs
        self.lists = 0
        self.watches = 0

    async def run(self) -> None:
        while True:
            try:
                if self.need_list:
                    self.resource_version = await self.list()
                    self.need_list = False
                if not await self.watch():
                    # the stream ended at once without an event: do not hammer the server
                    await self.sleep(self.backoff.next())
            except Gone as e:
                log.info("%s; listing again", e)
                if self.need_list:  # the list itself (a continue token) expired
                    await self.sleep(self.backoff.next())
                self.need_list = True
            except (TimeoutError, ApiError, aiohttp.ClientError, OSError, ValueError) as e:
                self.events.failed(self.kind.name, e)
                await self.sleep(self.backoff.next())
            except Exception as e:  # a bug must not end the watch for good
                log.exception("%s: unexpected error", self.kind.resource)
                self.events.failed(self.kind.name, e)
                await self.sleep(self.backoff.next())

    async def list(self) -> str:
        """Read every page, then replace the kind in the store: the resourceVersion of the list."""
        self.lists += 1
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
        found: list[Object] = []
        cont = ""
        while True:
            resp = await self.requests.open(
                self.kind,
                timeout,
                label_selector=self.kind.label_selector,
                field_selector=self.kind.field_selector,
                limit=PAGE,
                _continue=cont,
            )
            try:
                page = json.loads(await resp.read())
            finally:
                resp.release()
            self.events.ok(self.kind.name)
            for item in page.get("items") or ():
                obj = self.convert(item)
                if obj is not None and (self.keep is None or self.keep(obj)):
                    found.append(obj)
            meta = page.get("metadata") or {}
            cont = meta.get("continue") or ""
            if not cont:
                break
        self.store.replace(self.kind.name, found)
        self.listed = True
        self.events.listed(self.kind.name)
        self.backoff.reset()
        return str(meta.get("resourceVersion") or "")

    async def watch(self) -> bool:
        """Apply watch events until the stream ends; ``resource_version`` follows them.

        A stream that breaks after it started ends the watch like a normal end (the next one resumes
        from the last resourceVersion); False when it ended within a second without any event.
        """
        self.watches += 1
        seconds = random.randint(*WATCH_SECONDS)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=seconds + 30)
        resp = await self.requests.open(
            self.kind,
            timeout,
            label_selector=self.kind.label_selector,
            field_selector=self.kind.field_selector,
            resource_version=self.resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=seconds,
            watch=True,
        )
        self.events.ok(self.kind.name)
        t0 = time.monotonic()
        n = 0
        try:
            while line := await resp.content.readline():
                if line.strip():
                    n += 1
                    self.apply(json.loads(line))
        except (TimeoutError, aiohttp.ClientError) as e:
            log.debug("%s watch broke: %s", self.kind.resource, e or type(e).__name__)
        finally:
            resp.release()
        if n or time.monotonic() - t0 >= 1:
            self.backoff.reset()
            return True
        return False

    def convert(self, raw: dict[str, Any]) -> Object | None:
        """The slim record of ``raw``; None (logged) for one that does not convert."""
        try:
            return self.kind.convert(raw)
        except (ValueError, TypeError, AttributeError, KeyError) as e:
            log.warning("%s: skipping %s: %s", self.kind.resource, _raw_key(self.kind.name, raw), e)
            return None

    def apply(self, event: dict[str, Any]) -> None:
        """One watch event into the store."""
        etype = event.get("type")
        raw = event.get("object") or {}
        if etype == "ERROR":
            code = int(raw.get("code") or 0)
            msg = f"{self.kind.resource}: watch error {code}: {raw.get('message', '')}"
            raise Gone(msg, code) if code == 410 or raw.get("reason") in ("Expired", "Gone") else ApiError(msg, code)
        rv = str((raw.get("metadata") or {}).get("resourceVersion") or "")
        self.events.event()
        if etype == "BOOKMARK":
            if rv:
                self.resource_version = rv
            return
        obj = self.convert(raw)
        if etype == "DELETED" or obj is None or (self.keep is not None and not self.keep(obj)):
            key = _raw_key(self.kind.name, raw)
            self.store.remove(self.kind.name, key)
        elif etype in ("ADDED", "MODIFIED"):
            self.store.upsert(obj)
            if isinstance(obj, objects.EndpointSlice):
                self.events.slice_changed(obj)
        if rv:
            self.resource_version = rv


def _raw_key(kind: str, raw: dict[str, Any]) -> tuple[str, str]:
    meta = raw.get("metadata") or {}
    return ("" if kind == "Namespace" else meta.get("namespace", ""), meta.get("name", ""))


class Events:
    """What watchers report to their source: connection state, sync, event times, latency."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        #: kinds whose last request failed
        self.down: set[str] = set()
        self.ever_up = False
        self.last_event = 0.0
        self.on_listed: Callable[[], None] = lambda: None
        #: kinds watched, and those listed once: memory is released once all were
        self.kinds: set[str] = set()
        self.listed_kinds: set[str] = set()
        self.released = False

    def failed(self, kind: str, err: BaseException) -> None:
        if not self.down:
            if self.ever_up:
                log.error("lost connection to the API (%s); answering from the last known state", err)
            else:
                log.error("cannot reach the API: %s", err)
        self.down.add(kind)

    def ok(self, kind: str) -> None:
        if kind in self.down:
            self.down.discard(kind)
            if not self.down:
                log.info("connection to the API is back")
        self.ever_up = True

    def event(self) -> None:
        self.last_event = self.clock()

    def listed(self, kind: str) -> None:
        self.last_event = self.clock()
        self.listed_kinds.add(kind)
        if not self.released and self.listed_kinds >= self.kinds:
            # the first sync parsed every list page: hand the freed memory back before reporting ready
            self.released = True
            k8sclient.release_memory()
        self.on_listed()

    def slice_changed(self, es: objects.EndpointSlice) -> None:
        """Observe the programming latency of a slice change that names its trigger time and one Service."""
        if es.trigger_time is None or not es.service:
            return
        svc = self.store.service(es.namespace, es.service)
        if svc is None:
            return
        kind = "headless_with_selector" if svc.headless else "cluster_ip"
        metrics.DNS_PROGRAMMING_DURATION.labels(kind).observe(max(0.0, self.clock() - es.trigger_time))


def namespace_filter(names: frozenset[str]) -> Callable[[Object], bool] | None:
    """Keep only objects of ``names`` (Namespaces themselves always); None when every namespace counts."""
    if not names:
        return None

    def keep(obj: Object) -> bool:
        return isinstance(obj, objects.Namespace) or key_of(obj)[0] in names

    return keep
