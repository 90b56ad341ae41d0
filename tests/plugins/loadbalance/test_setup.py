"""Parsing ``loadbalance [round_robin | weighted FILE] { reload DUR; prefer CIDR... }``."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from kdns.errors import ConfigError
from kdns.plugins.loadbalance.setup import LoadBalanceOptions, parse, setup
from kdns.testing import controller


def nets(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("loadbalance", LoadBalanceOptions()),
        ("loadbalance round_robin", LoadBalanceOptions()),
        ("loadbalance {\n prefer 10.0.0.0/8\n}", LoadBalanceOptions(subnets=nets("10.0.0.0/8"))),
        (
            "loadbalance round_robin {\n prefer 10.1.2.3/8 2001:db8::/32\n}",
            LoadBalanceOptions(subnets=nets("10.0.0.0/8", "2001:db8::/32")),
        ),
        (
            "loadbalance {\n prefer 10.0.0.0/8\n prefer 192.168.0.0/16\n}",
            LoadBalanceOptions(subnets=nets("10.0.0.0/8", "192.168.0.0/16")),
        ),
        ("loadbalance weighted /w", LoadBalanceOptions("weighted", "/w")),
        ("loadbalance weighted /w {\n reload 10s\n}", LoadBalanceOptions("weighted", "/w", 10.0)),
        ("loadbalance weighted /w {\n reload 0s\n}", LoadBalanceOptions("weighted", "/w", 0.0)),
        (
            "loadbalance weighted /w {\n reload 1m\n prefer 10.0.0.0/8\n}",
            LoadBalanceOptions("weighted", "/w", 60.0, nets("10.0.0.0/8")),
        ),
    ],
)
def test_parse(text: str, want: LoadBalanceOptions) -> None:
    """round_robin is the default; weighted takes a file and a reload (30s); prefer subnets add up."""
    assert parse(controller(text)) == want


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("loadbalance\nloadbalance", "only be used once"),
        ("loadbalance random", "unknown policy: random"),
        ("loadbalance round_robin extra", "unknown property for round_robin"),
        ("loadbalance weighted", "missing weight file argument"),
        ("loadbalance weighted /w /x", r"unexpected argument\(s\)"),
        ("loadbalance weighted /w {\n reload\n}", "reload duration value is missing"),
        ("loadbalance weighted /w {\n reload 1s 2s\n}", "unexpected argument"),
        ("loadbalance weighted /w {\n reload 10\n}", "invalid reload duration '10'"),
        ("loadbalance weighted /w {\n reload -1s\n}", "invalid reload duration '-1s'"),
        ("loadbalance {\n reload 10s\n}", "unknown property 'reload'"),
        ("loadbalance {\n prefer\n}", "wrong argument count"),
        ("loadbalance {\n prefer 10.0.0.1\n}", 'invalid CIDR "10.0.0.1"'),
        ("loadbalance {\n prefer 10.0.0.0/33\n}", 'invalid CIDR "10.0.0.0/33"'),
        ("loadbalance {\n limit 3\n}", "unknown property 'limit'"),
    ],
)
def test_parse_errors(text: str, match: str) -> None:
    """Unknown policies, bad weighted arguments, bad CIDRs and unknown options are located errors."""
    with pytest.raises(ConfigError, match=match) as e:
        parse(controller(text))
    assert "plugin/loadbalance:" in str(e.value)


def test_setup_adds_plugin() -> None:
    """setup adds one round-robin loadbalance handler to the block."""
    c = controller("loadbalance")
    setup(c)
    assert [name for name, _ in c.config.factories] == ["loadbalance"]
    h = c.config.factories[0][1](None)
    assert h.name == "loadbalance"
    assert h.policy.weights is None  # type: ignore[attr-defined]


def test_setup_weighted_reads_file(tmp_path: Path) -> None:
    """weighted setup loads the weight file at once."""
    wf = tmp_path / "weights"
    wf.write_text("www.example.org\n10.0.0.1 3\n")
    c = controller(f"loadbalance weighted {wf}")
    setup(c)
    policy = c.config.factories[0][1](None).policy  # type: ignore[attr-defined]
    assert policy.weights.domains == {"www.example.org.": {"10.0.0.1": 3}}


def test_setup_weighted_bad_file_is_an_error(tmp_path: Path) -> None:
    """A weight file that does not parse fails setup."""
    wf = tmp_path / "weights"
    wf.write_text("www.example.org\n10.0.0.1 0\n")
    with pytest.raises(ConfigError, match='wrong weight value "0"'):
        setup(controller(f"loadbalance weighted {wf}"))


def test_setup_weighted_missing_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A missing weight file is a warning when it is reloaded, an error when it is not."""
    setup(controller(f"loadbalance weighted {tmp_path / 'nope'}"))
    assert "Failed to open weight file" in caplog.text
    with pytest.raises(ConfigError, match="weight file open error"):
        setup(controller(f"loadbalance weighted {tmp_path / 'nope'} {{\n reload 0\n}}"))
