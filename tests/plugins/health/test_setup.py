"""Parsing ``health [ADDRESS] { lameduck DURATION }``."""

from __future__ import annotations

import pytest

from kdns.errors import ConfigError
from kdns.plugins.health.setup import HealthOptions, parse
from kdns.testing import controller


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("health", HealthOptions(":8080", 0.0)),
        ("health localhost:1234", HealthOptions("localhost:1234", 0.0)),
        ("health localhost:1234 {\n lameduck 4s\n}", HealthOptions("localhost:1234", 4.0)),
        ("health {\n lameduck 500ms\n}", HealthOptions(":8080", 0.5)),
        ("health :8091 {\n lameduck 1m30s\n}", HealthOptions(":8091", 90.0)),
        ("health {\n lameduck 0\n}", HealthOptions(":8080", 0.0)),
    ],
)
def test_parse(text: str, want: HealthOptions) -> None:
    """The address defaults to :8080 and lameduck to none; durations are Go-style."""
    assert parse(controller(text)) == want


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("health bla", "missing port"),
        ("health bla:a", "invalid address or port"),
        ("health bla bla", "wrong argument count"),
        ("health localhost:1234 {\n lameduck a\n}", "unable to parse lameduck duration value"),
        ("health localhost:1234 {\n lameduck 4\n}", "unable to parse lameduck duration value"),
        ("health {\n lameduck -1s\n}", "must not be negative"),
        ("health {\n lameduck\n}", "wrong argument count"),
        ("health {\n lameduck 1s 2s\n}", "wrong argument count"),
        ("health localhost:1234 {\n lamedudk 4\n}", "unknown property 'lamedudk'"),
        ("health\nhealth :8081", "only be used once"),
    ],
)
def test_parse_errors(text: str, match: str) -> None:
    """Bad addresses, durations and options are located errors."""
    with pytest.raises(ConfigError, match=match) as e:
        parse(controller(text))
    assert "plugin/health:" in str(e.value)
