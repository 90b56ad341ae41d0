"""Parsing the local directive."""

from __future__ import annotations

import pytest

from kdns.errors import ConfigError
from kdns.plugins.local.setup import Options, parse
from kdns.testing import controller


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("local", Options()),
        ("local {\n localhost_prefix on\n}", Options(localhost_prefix=True)),
        ("local {\n localhost_prefix off\n}", Options(localhost_prefix=False)),
    ],
)
def test_parse(text: str, want: Options) -> None:
    """localhost_prefix defaults to on."""
    assert parse(controller(text)) == want


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("local example.org", "wrong argument count"),
        ("local {\n localhost_prefix\n}", "wrong argument count"),
        ("local {\n localhost_prefix on off\n}", "wrong argument count"),
        ("local {\n localhost_prefix yes\n}", "localhost_prefix must be 'on' or 'off', not 'yes'"),
        ("local {\n fallthrough\n}", "unknown property 'fallthrough'"),
        ("local\nlocal", "once per Server Block"),
    ],
)
def test_parse_errors(text: str, match: str) -> None:
    """Arguments, unknown options and bad values are located config errors."""
    with pytest.raises(ConfigError, match=match) as e:
        parse(controller(text))
    assert "plugin/local: " in str(e.value)
