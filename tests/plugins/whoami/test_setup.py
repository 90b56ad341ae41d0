"""Parsing the whoami directive."""

from __future__ import annotations

import pytest

from kdns.errors import ConfigError
from kdns.plugins.whoami.plugin import Whoami
from kdns.plugins.whoami.setup import setup
from kdns.testing import controller


def test_setup_adds_the_plugin() -> None:
    """A bare ``whoami`` adds one Whoami handler."""
    c = controller("whoami")
    setup(c)
    assert [name for name, _ in c.config.factories] == ["whoami"]
    assert isinstance(c.config.factories[0][1](None), Whoami)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("whoami example.org", "plugin/whoami: wrong argument count"),
        ("whoami {\n foo\n}", "plugin/whoami: wrong argument count"),
        ("whoami\nwhoami", "plugin/whoami: plugin can only be used once per Server Block"),
    ],
)
def test_setup_errors(text: str, match: str) -> None:
    """whoami takes no arguments and may appear once per block."""
    with pytest.raises(ConfigError, match=match):
        setup(controller(text))
