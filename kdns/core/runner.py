"""The process: listeners and HTTP sites that outlive reloads, and the instance serving now."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable

from kdns.config.parser import Corefile
from kdns.core.instance import Instance
from kdns.core.listener import Listener
from kdns.core.state import Limits
from kdns.errors import ConfigError
from kdns.log import logger
from kdns.pkg.httpserver import HttpServers

log = logger("runner")


def server_label(host: str, port: int) -> str:
    if ":" in host:
        host = f"[{host}]"
    return f"dns://{host}:{port}"


class Runner:
    """Starts an instance, reloads it (keeping the old one when the new fails) and stops it."""

    def __init__(self, load: Callable[[], Corefile], *, default_port: int = 53, limits: Limits | None = None) -> None:
        self.load = load
        self.default_port = default_port
        #: transport timeouts and caps of every listener
        self.limits = limits or Limits()
        self.listeners: dict[tuple[str, int], Listener] = {}
        self.http = HttpServers()
        self.instance: Instance | None = None
        self.stopped = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        #: reload failures since start (the reload plugin exports this)
        self.reload_failures = 0
        self.on_reload: list[Callable[[Instance], None]] = []

    def build(self) -> Instance:
        inst = Instance(self.load(), default_port=self.default_port)
        inst.runner = self
        inst.setup()
        return inst

    async def start(self, inst: Instance | None = None) -> Instance:
        """Start serving ``inst`` (built now when not given)."""
        inst = inst or self.build()
        await self._activate(inst)
        return inst

    async def _activate(self, inst: Instance) -> None:
        """Run startup hooks, then bind or swap listeners and HTTP sites for ``inst``."""
        try:
            await inst.startup()
        except BaseException:
            await inst.shutdown()  # hooks of plugins that did start
            raise
        groups = inst.listen_groups()
        created: list[Listener] = []
        try:
            for key in groups:
                if key not in self.listeners:
                    lst = Listener(*key, limits=self.limits)
                    await lst.start(None)
                    created.append(lst)
            await self.http.apply(inst.http_routes)
        except OSError:
            for lst in created:
                await lst.stop(0)
            await inst.shutdown()
            raise
        for lst in created:
            self.listeners[(lst.host, lst.port)] = lst
        for key, zones in groups.items():
            lst = self.listeners[key]
            server = inst.make_server(server_label(lst.host, lst.bound_port), zones)
            inst.servers[key] = server
            lst.state.server = server
        for key in [k for k in self.listeners if k not in groups]:
            await self.listeners.pop(key).stop()
        self.instance = inst
        for lst in created:
            log.info("listening on %s (udp, tcp)", server_label(lst.host, lst.bound_port))
        await inst.listening()

    def port(self, host: str = "", port: int = 0) -> int:
        """The bound port of the listener (host, port): how tests find a ``:0`` listener."""
        return self.listeners[(host, port)].bound_port

    async def reload(self) -> bool:
        """Load the Corefile again and swap it in; on any failure keep serving the old one."""
        async with self._reload_lock:
            old = self.instance
            try:
                inst = self.build()
                await self._activate(inst)
            except (ConfigError, OSError) as e:
                self.reload_failures += 1
                log.error("reload failed, keeping the running config: %s", e)
                return False
            except Exception:
                self.reload_failures += 1
                log.exception("reload failed, keeping the running config")
                return False
            log.info("reloaded")
            if old is not None:
                await old.drain(self.limits.grace)
                await old.shutdown()
            for fn in self.on_reload:
                fn(inst)
            return True

    async def stop(self) -> None:
        """Graceful stop: ready goes 503, lameduck, drain queries, shutdown hooks, close."""
        inst = self.instance
        if inst is not None:
            inst.stopping = True
            await inst.lameduck()
        await asyncio.gather(*(lst.stop() for lst in self.listeners.values()))
        self.listeners.clear()
        if inst is not None:
            await inst.shutdown()
        await self.http.close()
        self.stopped.set()


def file_digest(paths: list[str]) -> str:
    """SHA-512 over the contents of ``paths`` (the Corefile and its imports), as reload compares."""
    h = hashlib.sha512()
    for p in paths:
        try:
            with open(p, "rb") as f:
                h.update(f.read())
        except OSError:
            h.update(os.fsencode(p))
    return h.hexdigest()
