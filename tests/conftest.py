"""Shared fixtures: kdns logs captured by pytest, a FakeUpstream per test."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

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
