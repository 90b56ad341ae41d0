"""The readiness endpoint: asks the Ready plugins of the blocks that enable *ready*."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from kdns.config.controller import BlockConfig
from kdns.log import plugin_logger
from kdns.plugin import Ready

if TYPE_CHECKING:
    from kdns.core.instance import Instance

NAME = "ready"
PATH = "/ready"

log = plugin_logger(NAME)


class _Entry:
    __slots__ = ("continuously", "name", "plugin")

    def __init__(self, name: str, plugin: Ready, continuously: bool) -> None:
        self.name = name
        self.plugin = plugin
        #: False (until-ready): dropped from the checks once it has been ready
        self.continuously = continuously


class Readiness:
    """One per instance: the plugins to ask, shared by every ``/ready`` address of the instance."""

    def __init__(self, instance: Instance | None = None) -> None:
        self.instance = instance
        self.addrs: set[str] = set()
        self._entries: list[_Entry] = []

    def add(self, name: str, plugin: Ready, continuously: bool) -> None:
        self._entries.append(_Entry(name, plugin, continuously))

    @property
    def plugins(self) -> list[str]:
        """Names of the plugins still asked (an until-ready plugin leaves once it was ready)."""
        return [e.name for e in self._entries]

    def collect(self, cfg: BlockConfig, continuously: bool) -> None:
        """Add every plugin of ``cfg``'s chain that implements ``ready()``."""
        for h in cfg.handlers.values():
            if isinstance(h, Ready):
                self.add(h.name, h, continuously)

    def not_ready(self) -> list[str]:
        """Sorted names of the plugins not ready now; until-ready plugins that are ready are not asked again."""
        names: set[str] = set()
        keep: list[_Entry] = []
        for e in self._entries:
            try:
                ok = e.plugin.ready()
            except Exception:
                log.exception("plugin %s failed its readiness check", e.name)
                ok = False
            if not ok:
                names.add(e.name)
            if not ok or e.continuously:
                keep.append(e)
        self._entries = keep
        return sorted(names)

    async def handle(self, request: web.Request) -> web.Response:
        """GET /ready: 200 "OK", or 503 with the not-ready plugins (comma-separated), or 503 when stopping."""
        if self.instance is not None and self.instance.stopping:
            return web.Response(status=503, text="Shutting down")
        names = self.not_ready()
        if not names:
            return web.Response(text="OK")
        body = ",".join(names)
        log.info("Plugins not ready: %r", body)
        return web.Response(status=503, text=body)
