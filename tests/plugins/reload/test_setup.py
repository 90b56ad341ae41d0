"""Parsing ``reload [INTERVAL] [JITTER]``."""

from __future__ import annotations

import pytest

from kdns.errors import ConfigError
from kdns.plugins.reload.setup import ReloadOptions, parse, setup
from kdns.testing import controller


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("reload", ReloadOptions(30.0, 15.0)),
        ("reload 10s", ReloadOptions(10.0, 5.0)),  # default jitter capped to half the interval
        ("reload 1m", ReloadOptions(60.0, 15.0)),
        ("reload 10s 2s", ReloadOptions(10.0, 2.0)),
        ("reload 2s 1s", ReloadOptions(2.0, 1.0)),
        ("reload 3s 2s", ReloadOptions(3.0, 1.5)),
        ("reload 5s 0s", ReloadOptions(5.0, 0.0)),
    ],
)
def test_parse(text: str, want: ReloadOptions) -> None:
    """Defaults 30s/15s; jitter is at most half the interval; 0s jitter disables it."""
    assert parse(controller(text)) == want


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("reload\nreload", "only be used once"),
        ("reload 1s", "interval value must be greater or equal to 2s"),
        ("reload 10s 500ms", "jitter value must be greater or equal to 1s"),
        ("reload 10", "invalid interval duration '10'"),
        ("reload 10s x", "invalid jitter duration 'x'"),
        ("reload 10s 1s 1s", "wrong argument count"),
        ("reload {\n x\n}", "wrong argument count"),
    ],
)
def test_parse_errors(text: str, match: str) -> None:
    """Too short, malformed or too many durations are located errors."""
    with pytest.raises(ConfigError, match=match) as e:
        parse(controller(text))
    assert "plugin/reload:" in str(e.value)


def test_minimum_is_module_level(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may lower the minimum interval through the module, never through the Corefile."""
    monkeypatch.setattr("kdns.plugins.reload.setup.MIN_INTERVAL", 0.01)
    assert parse(controller("reload 50ms 0s")) == ReloadOptions(0.05, 0.0)


def test_setup_checking_adds_nothing() -> None:
    """Under a test controller (checking) setup validates and starts nothing; reload has no handler."""
    c = controller("reload 5s")
    setup(c)
    assert c.config.factories == []
