"""Parsing the errors directive."""

from __future__ import annotations

import logging
import re

import pytest

from kdns.errors import ConfigError
from kdns.plugins.errors.plugin import Pattern
from kdns.plugins.errors.setup import Options, parse
from kdns.testing import controller


def pat(period: float, regex: str, level: int = logging.ERROR, show_first: bool = False) -> Pattern:
    return Pattern(period=period, regex=re.compile(regex), level=level, show_first=show_first)


GOOD = [
    ("errors", Options()),
    ("errors stdout", Options()),
    ("errors {\n stacktrace\n}", Options(stacktrace=True)),
    ("errors {\n panicRecoveryStacktrace\n}", Options(stacktrace=True)),
    ("errors {\n consolidate 1m ^exact$\n}", Options((pat(60, "^exact$"),))),
    ("errors {\n consolidate 1m error\n}", Options((pat(60, "error"),))),
    ('errors {\n consolidate 1m "format error"\n}', Options((pat(60, "format error"),))),
    (
        "errors {\n consolidate 1m error1\n consolidate 5s error2\n}",
        Options((pat(60, "error1"), pat(5, "error2"))),
    ),
    (
        'errors {\n consolidate 5m ".* i/o timeout$" warning\n}',
        Options((pat(300, ".* i/o timeout$", logging.WARNING),)),
    ),
    ("errors {\n consolidate 30s .* warn\n}", Options((pat(30, ".*", logging.WARNING),))),
    ("errors {\n consolidate 30s .* info\n}", Options((pat(30, ".*", logging.INFO),))),
    ("errors {\n consolidate 30s .* debug\n}", Options((pat(30, ".*", logging.DEBUG),))),
    ("errors {\n consolidate 30s .* error\n}", Options((pat(30, ".*"),))),
    ("errors {\n consolidate 30s .* show_first\n}", Options((pat(30, ".*", show_first=True),))),
    (
        "errors {\n consolidate 1.5s .* warning show_first\n}",
        Options((pat(1.5, ".*", logging.WARNING, True),)),
    ),
]


@pytest.mark.parametrize(("text", "want"), GOOD, ids=[t for t, _ in GOOD])
def test_parse(text: str, want: Options) -> None:
    """Consolidate patterns keep their order, period, level (default error) and show_first."""
    assert parse(controller(text)) == want


BAD = [
    ("errors errors.txt", "invalid log file: errors.txt"),
    ("errors visible", "invalid log file: visible"),
    ("errors a b", "wrong argument count"),
    ("errors {\n log visible\n}", "unknown property 'log'"),
    ("errors\nerrors", "can only be used once per Server Block"),
    ("errors {\n consolidate\n}", "wrong argument count"),
    ("errors {\n consolidate 1m\n}", "wrong argument count"),
    ("errors {\n consolidate 1m .* error show_first extra\n}", "wrong argument count"),
    ("errors {\n consolidate 1m .* extra\n}", "unknown log level argument in consolidate: extra"),
    ("errors {\n consolidate 1m .* show_first warning\n}", "unknown option in consolidate: warning"),
    ("errors {\n consolidate abc .*\n}", "invalid duration"),
    ("errors {\n consolidate 1 .*\n}", "invalid duration"),
    ("errors {\n consolidate 1m ())\n}", "invalid regexp"),
    ("errors {\n consolidate 1m " + "a" * 10001 + "\n}", "regexp too long"),
    ("errors {\n stacktrace on\n}", "wrong argument count"),
]


@pytest.mark.parametrize(("text", "match"), BAD, ids=[t[:60] for t, _ in BAD])
def test_parse_errors(text: str, match: str) -> None:
    """Wrong arguments, options, durations, regexps and levels are located config errors."""
    with pytest.raises(ConfigError, match=re.escape(match)) as e:
        parse(controller(text))
    assert "plugin/errors: " in str(e.value)
