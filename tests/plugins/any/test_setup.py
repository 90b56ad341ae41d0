"""Parsing the any directive."""

from __future__ import annotations

import pytest

from kdns.config.controller import BlockConfig
from kdns.errors import ConfigError
from kdns.plugins.any.plugin import Any
from kdns.plugins.any.setup import setup
from kdns.testing import controller


def test_setup_adds_the_plugin() -> None:
    """A bare ``any`` adds one Any handler to the block."""
    c = controller("any")
    setup(c)
    cfg: BlockConfig = c.config
    assert [name for name, _ in cfg.factories] == ["any"]
    assert isinstance(cfg.factories[0][1](None), Any)


@pytest.mark.parametrize("text", ["any example.org", "any {\n foo\n}"])
def test_no_arguments(text: str) -> None:
    """any takes no arguments and no block."""
    with pytest.raises(ConfigError, match="plugin/any: wrong argument count"):
        setup(controller(text))
