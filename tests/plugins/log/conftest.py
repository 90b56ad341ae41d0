"""Query-log lines as kdns prints them, from pytest's caplog."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kdns import log


@pytest.fixture
def log_lines(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """A function returning the *log* plugin's lines so far, formatted exactly as on stderr."""
    fmt = log._Formatter()

    def lines() -> list[str]:
        return [fmt.format(r) for r in caplog.records if r.name == "kdns.plugin.log"]

    return lines
