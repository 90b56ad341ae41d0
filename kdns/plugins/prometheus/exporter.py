"""``/metrics``: the registry in Prometheus text format, and ``coredns_plugin_enabled`` for the blocks."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from kdns import metrics
from kdns.config.controller import BlockConfig
from kdns.core.runner import server_label

if TYPE_CHECKING:
    from kdns.core.instance import Instance


class Exporter:
    """One per instance: the HTTP addresses serving ``/metrics`` and the blocks that enable prometheus."""

    def __init__(self, instance: Instance | None = None) -> None:
        self.instance = instance
        self.addrs: set[str] = set()
        self.blocks: list[BlockConfig] = []
        self._enabled_set = False

    async def serve(self, request: web.Request) -> web.Response:
        """GET /metrics: everything in ``kdns.metrics.REGISTRY`` (text format 0.0.4, as CoreDNS serves)."""
        self.set_plugin_enabled()
        # Rendering walks every series: do it off the event loop so DNS is not held up.
        body = await asyncio.to_thread(generate_latest, metrics.REGISTRY)
        resp = web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})
        resp.enable_compression()
        return resp

    def plugin_enabled(self) -> set[tuple[str, str, str, str]]:
        """(server, zone, view, name) for every plugin of every block with prometheus, on every address."""
        servers = self.instance.servers if self.instance is not None else {}
        out: set[tuple[str, str, str, str]] = set()
        for cfg in self.blocks:
            names = {h.name for h in cfg.handlers.values()}
            view = str(getattr(cfg, "view", "") or "")
            for host in cfg.listen_hosts:
                for a in cfg.addresses:
                    srv = servers.get((host, a.port))
                    label = srv.label if srv is not None else server_label(host, a.port)
                    out.update((label, a.zone, view, n) for n in names)
        return out

    def set_plugin_enabled(self) -> None:
        """Replace ``coredns_plugin_enabled`` with this instance's plugins, once it serves (after a reload too)."""
        if self._enabled_set or self.instance is None or not self.instance.servers:
            return
        metrics.PLUGIN_ENABLED.clear()
        for labels in sorted(self.plugin_enabled()):
            metrics.PLUGIN_ENABLED.labels(*labels).set(1)
        self._enabled_set = True
