"""A fixture for plain HTTP GETs against a running kdns."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest


@pytest.fixture
async def http_get() -> AsyncIterator[Callable[[int, str], Awaitable[tuple[int, str]]]]:
    """``await http_get(port, path)``: (status, body) of http://127.0.0.1:port/path."""
    async with aiohttp.ClientSession() as s:

        async def get(port: int, path: str) -> tuple[int, str]:
            async with s.get(f"http://127.0.0.1:{port}{path}") as r:
                return r.status, await r.text()

        yield get
