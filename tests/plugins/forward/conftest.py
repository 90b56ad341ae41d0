"""Helpers for forward tests: reach the running Forward plugins, scripted UDP upstreams, a DoT server."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import struct
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import cast

import dns.message
import pytest

from kdns.plugins.forward.plugin import Forward
from kdns.testing import RunningInstance

_LEN = struct.Struct("!H")


def forwards(inst: RunningInstance, block: int = 0) -> list[Forward]:
    """The Forward plugins of a running instance's block, in chain order."""
    assert inst.runner.instance is not None
    return [h for h in inst.runner.instance.blocks[block].ordered if isinstance(h, Forward)]


Script = Callable[[dns.message.Message], list[bytes]]


class ScriptedUDP(asyncio.DatagramProtocol):
    """A UDP upstream that answers each query with several datagrams, in order (``script(query)``)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.transport: asyncio.DatagramTransport | None = None
        self.queries: list[dns.message.Message] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        q = dns.message.from_wire(data)
        self.queries.append(q)
        assert self.transport is not None
        for out in self.script(q):
            self.transport.sendto(out, addr)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Script], asyncio.Future[ScriptedUDP]]]:
    """``await scripted(script)``: a ScriptedUDP bound on 127.0.0.1, closed after the test."""
    made: list[ScriptedUDP] = []

    async def start(script: Script) -> ScriptedUDP:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_datagram_endpoint(lambda: ScriptedUDP(script), local_addr=("127.0.0.1", 0))
        made.append(proto)
        return proto

    yield start  # type: ignore[misc]
    for p in made:
        if p.transport is not None:
            p.transport.close()


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for dns.test and 127.0.0.1 and its key, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is not installed (needed to make a test certificate)")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=dns.test",
         "-addext", "subjectAltName=DNS:dns.test,IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class DoTServer:
    """A DNS-over-TLS upstream on 127.0.0.1: answers every A query with 192.0.2.53."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(cert, key)
        self.server: asyncio.Server | None = None
        self.queries: list[dns.message.Message] = []
        self.port = 0

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (n,) = _LEN.unpack(await reader.readexactly(2))
                q = dns.message.from_wire(await reader.readexactly(n))
                self.queries.append(q)
                r = dns.message.make_response(q)
                r.answer = [dns.rrset.from_text(q.question[0].name, 60, "IN", "A", "192.0.2.53")]
                out = r.to_wire()
                writer.write(_LEN.pack(len(out)) + out)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> DoTServer:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0, ssl=self.ctx)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
