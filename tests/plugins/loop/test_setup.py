"""Parsing the loop directive."""

from __future__ import annotations

import pytest

from kdns.errors import ConfigError
from kdns.plugins.loop.plugin import Loop
from kdns.plugins.loop.probe import probe_name
from kdns.plugins.loop.setup import parse, setup
from kdns.testing import controller


def test_setup_adds_the_plugin() -> None:
    """A bare ``loop`` adds one Loop handler probing a random name under the block's zone."""
    c = controller("loop")
    setup(c)
    assert [name for name, _ in c.config.factories] == ["loop"]
    h = c.config.factories[0][1](None)
    assert isinstance(h, Loop)
    assert h.zone == "."
    labels = h.qname.split(".")
    assert len(labels) == 3
    assert labels[0].isdigit()
    assert labels[1].isdigit()
    assert labels[2] == ""


def test_first_zone_of_the_block_is_probed() -> None:
    """With several zones in the block, only the first one is probed."""
    assert parse(controller("loop", zones=("example.org", "example.net"))) == "example.org."


def test_probe_names_are_random() -> None:
    """Every probe name is new, and lies under the zone."""
    names = {probe_name("cluster.local.") for _ in range(50)}
    assert len(names) == 50
    assert all(n.endswith(".cluster.local.") and n.count(".") == 4 for n in names)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("loop example.org", "plugin/loop: wrong argument count"),
        ("loop {\n}", "plugin/loop: wrong argument count"),
        ("loop\nloop", "plugin/loop: plugin can only be used once per Server Block"),
    ],
)
def test_setup_errors(text: str, match: str) -> None:
    """loop takes no arguments and may appear once per block."""
    with pytest.raises(ConfigError, match=match):
        setup(controller(text))
