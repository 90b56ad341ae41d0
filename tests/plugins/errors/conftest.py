"""Error-log lines as kdns prints them, from pytest's caplog."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from kdns import log


@pytest.fixture
def error_lines(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """A function returning the *errors* plugin's lines so far (DEBUG included), formatted as on stderr."""
    caplog.set_level(logging.DEBUG, logger="kdns.plugin.errors")
    fmt = log._Formatter()

    def lines() -> list[str]:
        return [fmt.format(r) for r in caplog.records if r.name == "kdns.plugin.errors"]

    return lines
