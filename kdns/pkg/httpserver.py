"""One aiohttp site per address, shared by health, ready and prometheus, kept across reloads.

An instance declares routes (address -> path -> handler); ``apply`` binds new addresses, swaps the
route tables of kept ones and closes the ones no longer used.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from kdns.log import logger

if TYPE_CHECKING:
    from kdns.config.controller import Controller
    from kdns.config.parser import Directive

HttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Routes = dict[str, dict[str, HttpHandler]]
log = logger("http")


def split_addr(addr: str, default_port: int) -> tuple[str, int]:
    """':8080' -> ('', 8080); 'localhost:9153' -> ('localhost', 9153); '[::1]:80' -> ('::1', 80)."""
    if addr.startswith("["):
        host, _, rest = addr[1:].partition("]")
        port = rest.lstrip(":")
    elif addr.count(":") > 1:
        host, port = addr, ""
    else:
        host, _, port = addr.partition(":")
    if port and not port.isdigit():
        raise ValueError(f"invalid port in address {addr!r}")
    return host, int(port) if port else default_port


def check_addr(addr: str) -> None:
    """ValueError unless ``addr`` is HOST:PORT (HOST may be empty or a bracketed IPv6), as Go's SplitHostPort."""
    if addr.startswith("["):
        host, sep, rest = addr[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError(f"address {addr}: missing port in address")
        port = rest[1:]
    elif ":" not in addr:
        raise ValueError(f"address {addr}: missing port in address")
    elif addr.count(":") > 1:
        raise ValueError(f"address {addr}: too many colons in address")
    else:
        host, _, port = addr.partition(":")
    if any(c in host for c in "/[]") or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"address {addr}: invalid address or port")


def http_addr(c: Controller, d: Directive, default: str) -> str:
    """The optional single ADDRESS argument of an HTTP plugin's line ``d`` (``default`` when absent), checked."""
    if len(d.args) > 1:
        raise c.arg_err(d)
    addr = d.args[0] if d.args else default
    try:
        check_addr(addr)
    except ValueError as e:
        raise c.err(str(e), at=d) from e
    return addr


def local_url(addr: str, port: int, path: str) -> str:
    """The URL a process uses to reach its own HTTP address ``addr`` bound on ``port``."""
    host, _ = split_addr(addr, port)
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{path}"


class _Site:
    def __init__(self, addr: str, routes: dict[str, HttpHandler]) -> None:
        self.addr = addr
        self.routes = routes
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="404 page not found\n")
        return await handler(request)

    async def start(self, default_port: int = 80) -> None:
        host, port = split_addr(self.addr, default_port)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self.runner.setup()
        sock = _listen(host, port)
        self.port = sock.getsockname()[1]
        await web.SockSite(self.runner, sock).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


def _listen(host: str, port: int) -> socket.socket:
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    if not host:  # every address: prefer a dual-stack IPv6 socket
        infos.sort(key=lambda i: i[0] != socket.AF_INET6)
    family, kind, proto, _, sockaddr = infos[0]
    s = socket.socket(family, kind, proto)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and not host:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(sockaddr)
        s.listen(128)
        s.setblocking(False)
    except BaseException:
        s.close()
        raise
    return s


class HttpServers:
    """The process's HTTP listeners, by address."""

    def __init__(self) -> None:
        self.sites: dict[str, _Site] = {}

    def port(self, addr: str) -> int:
        """The bound port of ``addr`` (useful when it was given as port 0)."""
        return self.sites[addr].port

    async def apply(self, routes: Routes) -> None:
        for addr, table in routes.items():
            site = self.sites.get(addr)
            if site is None:
                site = _Site(addr, table)
                await site.start()
                self.sites[addr] = site
            else:
                site.routes = table
        for addr in [a for a in self.sites if a not in routes]:
            await self.sites.pop(addr).stop()

    async def close(self) -> None:
        await self.apply({})
