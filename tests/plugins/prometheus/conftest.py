"""A fixture for scraping a running kdns's /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest


@pytest.fixture
async def scrape() -> AsyncIterator[Callable[[int], Awaitable[str]]]:
    """``await scrape(port)``: the text of http://127.0.0.1:port/metrics (asserting a 200 in text format 0.0.4)."""
    async with aiohttp.ClientSession() as s:

        async def get(port: int) -> str:
            async with s.get(f"http://127.0.0.1:{port}/metrics") as r:
                assert r.status == 200
                assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                return await r.text()

        yield get
