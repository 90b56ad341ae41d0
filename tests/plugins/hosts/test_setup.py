"""Parsing ``hosts [FILE [ZONES...]] { ... }``."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdns.errors import ConfigError
from kdns.pkg.fall import NEVER, ROOT, Fall
from kdns.plugins.hosts.setup import HostsOptions, parse, setup
from kdns.testing import controller


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("hosts", HostsOptions()),
        ("hosts /etc/hosts.other", HostsOptions(path="/etc/hosts.other")),
        (
            "hosts /h example.org 10.0.0.0/24",
            HostsOptions(path="/h", origins=("example.org.", "0.0.10.in-addr.arpa.")),
        ),
        ("hosts {\n fallthrough\n}", HostsOptions(fall=ROOT)),
        (
            "hosts /h {\n fallthrough example.org in-addr.arpa\n}",
            HostsOptions(path="/h", fall=Fall(("example.org.", "in-addr.arpa."))),
        ),
        (
            "hosts {\n 10.0.0.1 example.org\n ::1 example.org localhost\n fallthrough\n}",
            HostsOptions(inline=("10.0.0.1 example.org", "::1 example.org localhost"), fall=ROOT),
        ),
        ("hosts {\n ttl 60\n no_reverse\n reload 15s\n}", HostsOptions(ttl=60, auto_reverse=False, reload=15.0)),
        ("hosts {\n reload 0\n}", HostsOptions(reload=0.0)),
        ("hosts {\n reload 300ms\n}", HostsOptions(reload=0.3)),
        ("hosts {\n fallthrough\n fallthrough_unsupported\n}", HostsOptions(fall=ROOT, fall_unsupported=True)),
        ("hosts {\n ttl 65535\n}", HostsOptions(ttl=65535)),
    ],
)
def test_parse(text: str, want: HostsOptions) -> None:
    """Defaults: /etc/hosts, block zones, TTL 3600, reverse on, reload 5s, no fallthrough."""
    assert parse(controller(text)) == want


def test_zones_default_to_block_zones() -> None:
    """Without ZONES the plugin is authoritative for the server block's zones."""
    c = controller("hosts /h", zones=("example.org", "example.net"))
    assert parse(c).origins == ("example.org.", "example.net.")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("hosts\nhosts", "only be used once"),
        ("hosts {\n ttl\n}", "ttl needs a time in second"),
        ("hosts {\n ttl 1 2\n}", "ttl needs a time in second"),
        ("hosts {\n ttl abc\n}", "ttl needs a number of second"),
        ("hosts {\n ttl 0\n}", "ttl provided is invalid"),
        ("hosts {\n ttl 65536\n}", "ttl provided is invalid"),
        ("hosts {\n reload\n}", "reload needs a duration"),
        ("hosts {\n reload 5\n}", "invalid duration for reload '5'"),
        ("hosts {\n reload -1s\n}", "invalid negative duration for reload '-1s'"),
        ("hosts {\n no_reverse x\n}", "wrong argument count"),
        ("hosts {\n fallthrough_unsupported\n}", "fallthrough_unsupported requires fallthrough"),
        ("hosts {\n fallthrough\n fallthrough_unsupported x\n}", "wrong argument count"),
        ("hosts {\n fallthrough\n 10.0.0.1 example.org\n}", "unknown property '10.0.0.1'"),
        ("hosts {\n tll 60\n}", "unknown property 'tll'"),
        ("hosts {\n fallthrough 10.0.0.0/99\n}", "fallthrough: "),
        ("hosts /h bad..zone", "invalid zone"),
    ],
)
def test_parse_errors(text: str, match: str) -> None:
    """Bad options are located ConfigErrors for plugin/hosts."""
    with pytest.raises(ConfigError, match=match) as e:
        parse(controller(text))
    assert "plugin/hosts:" in str(e.value)


def test_error_is_located_at_the_option_line() -> None:
    """The error names the line of the offending option."""
    with pytest.raises(ConfigError, match=r"^Corefile:3: plugin/hosts: ttl provided is invalid"):
        parse(controller("hosts {\n no_reverse\n ttl 0\n}"))


def test_setup_adds_plugin_and_reads_file(tmp_path: Path) -> None:
    """setup reads the file at once (for validation) and adds the handler to the block."""
    path = tmp_path / "hosts"
    path.write_text("10.0.0.1 example.org\n")
    c = controller(f"hosts {path}")
    setup(c)
    (name, factory) = c.config.factories[0]
    h = factory(None)
    assert name == "hosts"
    assert h.data.tables.exists("example.org.")  # type: ignore[attr-defined]


def test_setup_missing_file_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A missing hosts file is logged, not an error: inline entries still serve."""
    c = controller(f"hosts {tmp_path / 'nope'} {{\n 10.0.0.1 example.org\n}}")
    setup(c)
    assert "File does not exist" in caplog.text
    h = c.config.factories[0][1](None)
    assert h.data.tables.exists("example.org.")  # type: ignore[attr-defined]


def test_setup_directory_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A directory given as hosts file is logged."""
    setup(controller(f"hosts {tmp_path}"))
    assert "is a directory" in caplog.text


def test_no_fallthrough_is_never() -> None:
    """Without a fallthrough line nothing falls through."""
    assert parse(controller("hosts")).fall == NEVER
