"""run_instance: a whole kdns started from a Corefile string on real sockets."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator

import dns.asyncquery
import dns.message

from kdns.config.parser import parse_file
from kdns.core.runner import Runner


class RunningInstance:
    def __init__(self, runner: Runner, path: str) -> None:
        self.runner = runner
        #: the Corefile on disk (rewrite it and call ``reload`` to test reloads)
        self.path = path

    @property
    def port(self) -> int:
        """The DNS port of the first listener."""
        return next(iter(self.runner.listeners.values())).bound_port

    def http_port(self, addr: str) -> int:
        """The bound port of an HTTP address as written in the Corefile (e.g. '127.0.0.1:0')."""
        return self.runner.http.port(addr)

    async def query(
        self,
        name: str,
        qtype: str = "A",
        *,
        proto: str = "udp",
        host: str = "127.0.0.1",
        timeout: float = 2.0,
        **kw: object,
    ) -> dns.message.Message:
        return await query(host, self.port, name, qtype, proto=proto, timeout=timeout, **kw)

    async def reload(self) -> bool:
        return await self.runner.reload()


async def query(
    host: str,
    port: int,
    name: str | dns.message.Message,
    qtype: str = "A",
    *,
    proto: str = "udp",
    timeout: float = 2.0,
    **kw: object,
) -> dns.message.Message:
    """Send one query with dnspython over ``proto`` and return the reply."""
    q = name if isinstance(name, dns.message.Message) else dns.message.make_query(name, qtype, **kw)  # type: ignore[arg-type]
    if proto == "tcp":
        return await dns.asyncquery.tcp(q, host, port=port, timeout=timeout)
    return await dns.asyncquery.udp(q, host, port=port, timeout=timeout, ignore_unexpected=True)


@contextlib.asynccontextmanager
async def run_instance(
    corefile: str, *, files: dict[str, str] | None = None, port: int = 0
) -> AsyncIterator[RunningInstance]:
    """Start kdns on ``corefile`` (keys without a port listen on ``port``, default a free one).

    ``files`` are written next to the Corefile first (name -> text), for imports and hosts files.
    """
    with tempfile.TemporaryDirectory(prefix="kdns-test-") as tmp:
        path = os.path.join(tmp, "Corefile")
        with open(path, "w") as f:
            f.write(corefile)
        for name, text in (files or {}).items():
            full = os.path.join(tmp, name)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)
        runner = Runner(lambda: parse_file(path), default_port=port)
        await runner.start()
        try:
            yield RunningInstance(runner, path)
        finally:
            await runner.stop()
