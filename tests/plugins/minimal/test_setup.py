"""Parsing the minimal directive."""

from __future__ import annotations

import pytest

from kdns.errors import ConfigError
from kdns.plugins.minimal.plugin import Minimal
from kdns.plugins.minimal.setup import setup
from kdns.testing import controller


def test_setup_adds_the_plugin() -> None:
    """A bare ``minimal`` adds one Minimal handler."""
    c = controller("minimal")
    setup(c)
    assert [name for name, _ in c.config.factories] == ["minimal"]
    assert isinstance(c.config.factories[0][1](None), Minimal)


@pytest.mark.parametrize("text", ["minimal yes", "minimal {\n foo\n}"])
def test_no_arguments(text: str) -> None:
    """minimal takes no arguments and no block."""
    with pytest.raises(ConfigError, match="plugin/minimal: wrong argument count"):
        setup(controller(text))
