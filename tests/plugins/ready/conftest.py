"""Fixtures: kdns started with a test plugin that implements ``ready()``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import pytest

from kdns.config.parser import Corefile
from kdns.core.instance import Instance
from kdns.core.runner import Runner
from kdns.plugin import Handler, next_or_failure
from kdns.request import Request
from kdns.testing import RunningInstance, run_instance
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

    def __init__(self, load: Callable[[], Corefile], *, plugins: dict[str, Flag], **kw: Any) -> None:
        super().__init__(load, **kw)
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

    def run(corefile: str, plugins: list[Flag]) -> AbstractAsyncContextManager[RunningInstance]:
        return run_instance(corefile, make_runner=functools.partial(_Runner, plugins={p.name: p for p in plugins}))

    return run


@pytest.fixture
def make_flag() -> Callable[..., Flag]:
    """``make_flag(name, is_ready=False)``: a pass-through plugin whose ready() returns the flag."""

    def make(name: str, is_ready: bool = False) -> Flag:
        return Flag(name=name, is_ready=is_ready)

    return make
