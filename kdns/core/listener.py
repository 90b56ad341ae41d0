"""Sockets for one (host, port): a UDP endpoint and a TCP server sharing one ListenerState.

Listeners outlive a reload: the new instance swaps in its Server, so no query is lost.
"""

from __future__ import annotations

import asyncio
import errno
import socket

from kdns.core.server import Server
from kdns.core.state import Limits, ListenerState
from kdns.core.transport_tcp import TCPProtocol
from kdns.core.transport_udp import UDPProtocol
from kdns.log import logger

log = logger("server")


class Listener:
    """A UDP socket and a TCP server on (host, port); ``limits`` sets timeouts and caps."""

    def __init__(self, host: str, port: int, limits: Limits | None = None) -> None:
        self.host = host
        self.port = port
        self.state = ListenerState(limits=limits)
        self.udp: asyncio.DatagramTransport | None = None
        self.tcp: asyncio.Server | None = None

    @property
    def bound_port(self) -> int:
        if self.udp is not None:
            return int(self.udp.get_extra_info("sockname")[1])
        return self.port

    async def start(self, server: Server | None) -> None:
        self.state.server = server
        loop = asyncio.get_running_loop()
        for attempt in range(20):
            udp_sock = _socket(self.host, self.port, socket.SOCK_DGRAM)
            port = udp_sock.getsockname()[1]
            try:
                tcp_sock = _socket(self.host, port, socket.SOCK_STREAM)
            except OSError as e:
                udp_sock.close()
                if self.port == 0 and e.errno == errno.EADDRINUSE and attempt < 19:
                    continue  # the random UDP port is taken for TCP: pick another
                raise
            break
        transport, _ = await loop.create_datagram_endpoint(lambda: UDPProtocol(self.state), sock=udp_sock)
        self.udp = transport
        tcp_sock.listen(1024)
        self.tcp = await loop.create_server(lambda: TCPProtocol(self.state), sock=tcp_sock)

    def stop_accepting(self) -> None:
        """No new TCP connections or queries; open connections close once answered."""
        self.state.accepting = False
        if self.tcp is not None:
            self.tcp.close()
        for conn in list(self.state.connections):
            conn.close()

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking queries, answer what is in flight (up to ``grace`` seconds), then close."""
        self.stop_accepting()
        await self.state.drain(self.state.limits.grace if grace is None else grace)
        if self.udp is not None:
            self.udp.close()
        for conn in list(self.state.connections):
            if conn.transport is not None:
                conn.transport.close()  # flushes answers already written
        if self.tcp is not None:
            await self.tcp.wait_closed()


def _socket(host: str, port: int, kind: int) -> socket.socket:
    """A bound socket with SO_REUSEPORT; host '' binds every address (IPv6 dual-stack when possible)."""
    if host == "":
        if socket.has_ipv6:
            try:
                return _bind(socket.AF_INET6, "::", port, kind, v6only=False)
            except OSError as e:
                if e.errno not in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                    raise
        return _bind(socket.AF_INET, "0.0.0.0", port, kind)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return _bind(family, host, port, kind)


def _bind(family: int, host: str, port: int, kind: int, v6only: bool = True) -> socket.socket:
    s = socket.socket(family, kind)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
        s.setblocking(False)
        s.bind((host, port))
    except BaseException:
        s.close()
        raise
    return s
