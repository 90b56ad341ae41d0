"""run_instance: a whole kdns started from a Corefile string on real sockets.

- ``run_instance(corefile)``: async context manager in the test's own event loop.
- ``run_in_thread(corefile)``: the same in a background thread with its own loop, for synchronous
  tests (Hypothesis, blocking sockets, subprocess clients).
- ``test_plugin(name, factory)``: register a throwaway directive for one test, removed afterwards.
- ``chain_plugin(name, make)``: the same for a directive (once per block) that adds the plugin ``make`` builds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import dns.asyncquery
import dns.message

from kdns.config import registry
from kdns.config.controller import Controller
from kdns.config.parser import parse_file
from kdns.core.runner import Runner
from kdns.core.state import Limits
from kdns.plugin import Handler

T = TypeVar("T")


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

    def write(self, corefile: str) -> None:
        """Replace the Corefile on disk (then ``reload``)."""
        with open(self.path, "w") as f:
            f.write(corefile)

    async def query(
        self,
        name: str | dns.message.Message,
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


@contextlib.contextmanager
def _corefile_dir(corefile: str, files: dict[str, str] | None) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="kdns-test-") as tmp:
        path = os.path.join(tmp, "Corefile")
        with open(path, "w") as f:
            f.write(corefile)
        for name, text in (files or {}).items():
            full = os.path.join(tmp, name)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)
        yield path


@contextlib.asynccontextmanager
async def run_instance(
    corefile: str,
    *,
    files: dict[str, str] | None = None,
    port: int = 0,
    limits: Limits | None = None,
    make_runner: Callable[..., Runner] = Runner,
) -> AsyncIterator[RunningInstance]:
    """Start kdns on ``corefile`` (keys without a port listen on ``port``, default a free one).

    ``files`` are written next to the Corefile first (name -> text), for imports and hosts files.
    ``limits`` sets the listeners' timeouts and caps (e.g. a short idle timeout). ``make_runner``
    builds the Runner (called as ``Runner`` is), for a test subclass.
    """
    with _corefile_dir(corefile, files) as path:
        runner = make_runner(lambda: parse_file(path), default_port=port, limits=limits)
        await runner.start()
        try:
            yield RunningInstance(runner, path)
        finally:
            await runner.stop()


class ThreadedInstance(RunningInstance):
    """A RunningInstance whose event loop runs in another thread; ``call`` runs a coroutine there."""

    def __init__(self, runner: Runner, path: str, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
        super().__init__(runner, path)
        self.loop = loop
        self.stop_event = stop

    def call(self, fn: Callable[[], Coroutine[Any, Any, T]], timeout: float = 10.0) -> T:
        """Run ``fn()`` in the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(fn(), self.loop).result(timeout)


@contextlib.contextmanager
def run_in_thread(
    corefile: str, *, files: dict[str, str] | None = None, port: int = 0, limits: Limits | None = None
) -> Iterator[ThreadedInstance]:
    """``run_instance`` in a background thread, for synchronous test code."""
    started: concurrent.futures.Future[ThreadedInstance] = concurrent.futures.Future()

    async def main(path: str) -> None:
        runner = Runner(lambda: parse_file(path), default_port=port, limits=limits)
        stop = asyncio.Event()
        try:
            await runner.start()
        except BaseException as e:
            started.set_exception(e)
            return
        inst = ThreadedInstance(runner, path, asyncio.get_running_loop(), stop)
        started.set_result(inst)
        await stop.wait()
        await runner.stop()

    with _corefile_dir(corefile, files) as path:
        thread = threading.Thread(target=asyncio.run, args=(main(path),), name="kdns-test", daemon=True)
        thread.start()
        inst = started.result(10)
        try:
            yield inst
        finally:
            inst.loop.call_soon_threadsafe(inst.stop_event.set)
            thread.join(10)


@contextlib.contextmanager
def test_plugin(name: str, setup: Callable[[Controller], None], *, before: str = "whoami") -> Iterator[None]:
    """Register directive ``name`` with ``setup`` for the duration of one test.

    ``setup`` is an ordinary setup function (``c.add_plugin(...)``). The directive is placed just
    before ``before`` in the chain order and removed on exit, so it does not leak into other tests.
    """

    def wrapped(c: Controller) -> None:
        setup(c)

    wrapped.__module__ = "kdns.testing.plugins"  # outside kdns.plugins: a third-party directive
    registry.load()
    registry.directive(name, before=before)(wrapped)
    try:
        yield
    finally:
        registry.unregister(name)


test_plugin.__test__ = False  # type: ignore[attr-defined]  # a helper, not a pytest test


@contextlib.contextmanager
def chain_plugin(name: str, make: Callable[[Handler | None], Handler], *, before: str = "whoami") -> Iterator[None]:
    """``test_plugin`` for directive ``name`` (once per block) that adds ``make(next)`` to the chain."""

    def setup(c: Controller) -> None:
        c.once()
        c.add_plugin(make)

    with test_plugin(name, setup, before=before):
        yield
