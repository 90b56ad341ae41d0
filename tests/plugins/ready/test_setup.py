"""Parsing ``ready [ADDRESS] { monitor until-ready|continuously }``."""

from __future__ import annotations

import pytest

from kdns.errors import ConfigError
from kdns.plugins.ready.setup import ReadyOptions, parse
from kdns.testing import controller


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("ready", ReadyOptions(":8181", False)),
        ("ready localhost:1234", ReadyOptions("localhost:1234", False)),
        ("ready {\n monitor until-ready\n}", ReadyOptions(":8181", False)),
        ("ready {\n monitor continuously\n}", ReadyOptions(":8181", True)),
        ("ready localhost:1234 {\n monitor continuously\n}", ReadyOptions("localhost:1234", True)),
    ],
)
def test_parse(text: str, want: ReadyOptions) -> None:
    """The address defaults to :8181 and monitoring to until-ready."""
    assert parse(controller(text)) == want


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("ready localhost:1234 {\n monitor 404\n}", "monitor type '404' not supported"),
        ("ready {\n monitro continuously\n}", "unknown property 'monitro'"),
        ("ready {\n monitor\n}", "wrong argument count"),
        ("ready {\n monitor until-ready continuously\n}", "wrong argument count"),
        ("ready localhost:1234 b", "wrong argument count"),
        ("ready bla", "missing port"),
        ("ready bla bla", "wrong argument count"),
        ("ready\nready :8182", "only be used once"),
    ],
)
def test_parse_errors(text: str, match: str) -> None:
    """Bad addresses, monitor types and options are located errors."""
    with pytest.raises(ConfigError, match=match) as e:
        parse(controller(text))
    assert "plugin/ready:" in str(e.value)
