"""Where the store's objects come from: the Kubernetes API (list+watch) or manifest files.

``make_source(opts, store)`` picks one. A source's ``start()`` returns at once with its work running
in background tasks; ``synced()`` is true once every kind it feeds was listed (or read) once, and
stays true through later outages: the store then keeps its last state.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Protocol

from kdns.plugins.kubernetes import api, metrics
from kdns.plugins.kubernetes.k8sclient import SERVICE_TOKEN_FILENAME
from kdns.plugins.kubernetes.k8sclient import client as k8s
from kdns.plugins.kubernetes.manifests import ManifestError, ManifestSource, load
from kdns.plugins.kubernetes.options import KubeOptions
from kdns.plugins.kubernetes.store import Store
from kdns.plugins.kubernetes.synced import Synced


class Source(Protocol):
    async def start(self) -> None:
        """Start feeding the store in the background; returns at once."""

    async def stop(self) -> None:
        """Stop feeding (the store keeps what it has)."""

    def synced(self) -> bool:
        """True once every kind was listed once."""

    async def wait_synced(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``synced()``; its value then."""

    @property
    def outage(self) -> bool:
        """True while the source cannot reach what it reads (the API)."""


def make_source(opts: KubeOptions, store: Store) -> Source:
    """A manifest reader with ``objects FILE...``, else an API watcher.

    ValueError when what it needs is plainly missing: a manifest that does not load, an unreadable
    kubeconfig, or (neither kubeconfig nor endpoint) no in-cluster service account.
    """
    if opts.objects:
        try:
            load(opts.objects)
        except ManifestError as e:
            raise ValueError(str(e)) from e
        return ManifestSource(opts.objects, store)
    if opts.kubeconfig:
        try:
            with open(opts.kubeconfig, "rb"):
                pass
        except OSError as e:
            raise ValueError(f"kubeconfig: {e}") from e
    elif not opts.endpoint:
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
        if not host or not port or not os.path.exists(SERVICE_TOKEN_FILENAME):
            raise ValueError("not in a cluster (no KUBERNETES_SERVICE_HOST/PORT or service account token)")
    return ApiSource(opts, store)


class ApiSource(Synced):
    """Watches the API: one ``api.Watcher`` task per kind (see api.py)."""

    def __init__(
        self,
        opts: KubeOptions,
        store: Store,
        *,
        backoff: Callable[[], api.Backoff] = api.Backoff,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.opts = opts
        self.store = store
        self.backoff = backoff
        self.events = api.Events(store, clock)
        self.events.on_listed = self._listed
        self.watchers: list[api.Watcher] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.client: k8s.ApiClient | None = None
        super().__init__()

    @property
    def outage(self) -> bool:
        return bool(self.events.down)

    @property
    def last_event(self) -> float:
        return self.events.last_event

    async def start(self) -> None:
        """Load the client configuration (errors raise here), then start the watchers."""
        cfg = await api.client_configuration(self.opts)
        self.client = k8s.ApiClient(cfg)
        requests = api.Requests(cfg.host or "", self.opts.api_qps, self.opts.api_burst, self.opts.api_max_inflight)
        keep = api.namespace_filter(self.opts.namespaces)
        self.watchers = [
            api.Watcher(kind, self.store, requests, self.events, backoff=self.backoff(), keep=keep)
            for kind in api.kinds(self.client, self.opts)
        ]
        loop = asyncio.get_running_loop()
        self.tasks = [loop.create_task(w.run(), name=f"kubernetes-{w.kind.resource}") for w in self.watchers]
        metrics.SOURCES.add(self)

    async def stop(self) -> None:
        metrics.SOURCES.discard(self)
        for t in self.tasks:
            t.cancel()
        if self.tasks:
            await asyncio.wait(self.tasks)
        self.tasks = []
        if self.client is not None:
            await self.client.close()
            self.client = None

    def _listed(self) -> None:
        if self.watchers and all(w.listed for w in self.watchers):
            self._synced.set()

    def watcher(self, kind: str) -> api.Watcher:
        """The watcher of ``kind`` (for tests and diagnostics)."""
        return next(w for w in self.watchers if w.kind.name == kind)
