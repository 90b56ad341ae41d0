"""Parse tables for ``autopath``: zones, the RESOLV-CONF file, ``@PLUGIN``, and errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kdns.errors import ConfigError
from kdns.plugins.autopath.setup import AutoPathOptions, parse
from kdns.testing import controller


@pytest.fixture
def resolv(tmp_path: Path) -> str:
    p = tmp_path / "resolv.conf"
    p.write_text("nameserver 10.0.0.10\nsearch a.example B.example\noptions ndots:5\n")
    return str(p)


def test_plugin_form(resolv: str) -> None:
    """``@kubernetes`` names the plugin; kdns's own search domains are read from its resolv.conf."""
    opts = parse(controller("autopath @kubernetes"), host_resolv=resolv)
    assert opts == AutoPathOptions((".",), plugin="kubernetes", host=("a.example.", "b.example."))


def test_plugin_form_without_host_resolv(tmp_path: Path) -> None:
    """A missing host resolv.conf just means no extra search domains."""
    opts = parse(controller("autopath @kubernetes"), host_resolv=str(tmp_path / "missing"))
    assert opts.host == ()


def test_file_form(resolv: str) -> None:
    """A resolv.conf file gives the search list for every client, ending in the '' sentinel."""
    opts = parse(controller(f"autopath {resolv}"))
    assert opts == AutoPathOptions((".",), static=("a.example.", "b.example.", ""))


def test_zones(resolv: str) -> None:
    """Arguments before the last are zones; without them the block's zones are used."""
    assert parse(controller(f"autopath Example.ORG example.net {resolv}")).zones == ("example.org.", "example.net.")
    assert parse(controller("autopath @kubernetes", zones=("cluster.local",))).zones == ("cluster.local.",)


ERRORS = [
    ("autopath", "no resolv-conf specified", 1),
    ("autopath @", "no plugin name after '@'", 1),
    ("autopath /nonexistent/resolv.conf", "failed to parse '/nonexistent/resolv.conf': No such file or directory", 1),
    ("autopath @kubernetes {\n}", "wrong argument count or unexpected line ending", 1),
    ("autopath @kubernetes\nautopath @kubernetes", "plugin can only be used once per Server Block", 2),
]


@pytest.mark.parametrize(("text", "msg", "line"), ERRORS, ids=[t for t, _, _ in ERRORS])
def test_parse_errors(text: str, msg: str, line: int) -> None:
    """Bad lines fail at setup, located at their line."""
    with pytest.raises(ConfigError, match=re.escape(msg)) as e:
        parse(controller(text))
    assert str(e.value).startswith(f"Corefile:{line}: plugin/autopath: ")
