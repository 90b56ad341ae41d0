"""Shared fixtures: kdns logs captured by pytest, a FakeUpstream per test, plain HTTP GETs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from kdns.testing import FakeUpstream


@pytest.fixture(autouse=True)
def _kdns_logs_propagate() -> None:
    """Let pytest's caplog see kdns's log lines."""
    logging.getLogger("kdns").propagate = True
    logging.getLogger("kdns").setLevel(logging.INFO)


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as up:
        yield up


@pytest.fixture
async def http_get() -> AsyncIterator[Callable[[int, str], Awaitable[tuple[int, str]]]]:
    """``await http_get(port, path)``: (status, body) of http://127.0.0.1:port/path."""
    async with aiohttp.ClientSession() as s:

        async def get(port: int, path: str) -> tuple[int, str]:
            async with s.get(f"http://127.0.0.1:{port}{path}") as r:
                return r.status, await r.text()

        yield get
