"""Fixtures: plain HTTP GETs, and kdns started with a test plugin that implements ``ready()``."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import aiohttp
import pytest

from kdns.config.parser import parse_file
from kdns.core.instance import Instance
from kdns.core.runner import Runner
from kdns.plugin import Handler, next_or_failure
from kdns.request import Request
from kdns.testing import RunningInstance
from kdns.writer import ResponseWriter


@dataclass(slots=True)
class Flag:
    """A pass-through plugin whose readiness is a flag the test sets."""

    next: Handler | None = None
    name: str = "flag"
    is_ready: bool = False
    asked: int = 0

    def ready(self) -> bool:
        self.asked += 1
        return self.is_ready

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        return await next_or_failure(self.name, self.next, w, req)


class _Runner(Runner):
    """A Runner that puts the given plugins at the head of every block's chain."""

    def __init__(self, path: str, plugins: dict[str, Flag]) -> None:
        super().__init__(lambda: parse_file(path), default_port=0)
        self.plugins = plugins

    def build(self) -> Instance:
        inst = super().build()
        for cfg in inst.blocks:
            for p in self.plugins.values():
                p.next = cfg.chain
                cfg.chain = p
                cfg.handlers[p.name] = p
        return inst


RunWith = Callable[[str, list[Flag]], AbstractAsyncContextManager[RunningInstance]]


@pytest.fixture
def run_with() -> RunWith:
    """``async with run_with(corefile, [Flag(...)]) as inst``: run_instance, with test plugins in each chain."""

    @contextlib.asynccontextmanager
    async def run(corefile: str, plugins: list[Flag]) -> AsyncIterator[RunningInstance]:
        with tempfile.TemporaryDirectory(prefix="kdns-test-") as tmp:
            path = os.path.join(tmp, "Corefile")
            with open(path, "w") as f:
                f.write(corefile)
            runner = _Runner(path, {p.name: p for p in plugins})
            await runner.start()
            try:
                yield RunningInstance(runner, path)
            finally:
                await runner.stop()

    return run


@pytest.fixture
async def http_get() -> AsyncIterator[Callable[[int, str], Awaitable[tuple[int, str]]]]:
    """``await http_get(port, path)``: (status, body) of http://127.0.0.1:port/path."""
    async with aiohttp.ClientSession() as s:

        async def get(port: int, path: str) -> tuple[int, str]:
            async with s.get(f"http://127.0.0.1:{port}{path}") as r:
                return r.status, await r.text()

        yield get


@pytest.fixture
def make_flag() -> Callable[..., Flag]:
    """``make_flag(name, is_ready=False)``: a pass-through plugin whose ready() returns the flag."""

    def make(name: str, is_ready: bool = False) -> Flag:
        return Flag(name=name, is_ready=is_ready)

    return make
