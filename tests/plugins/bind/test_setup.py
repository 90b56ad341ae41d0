"""Parsing ``bind ADDRESS|IFACE... { except ... }`` and resolving it to listen hosts."""

from __future__ import annotations

import json

import pytest

from kdns.errors import ConfigError
from kdns.plugins.bind import ifaces
from kdns.plugins.bind.setup import BindLine, canonical, listen_hosts, parse, setup
from kdns.testing import controller

IFACES = {
    "lo": ["127.0.0.1", "::1"],
    "eth0": ["192.0.2.10", "2001:db8::10", "fe80::1%eth0"],
    "dummy0": ["169.254.20.10"],
}


def table() -> dict[str, list[str]]:
    return IFACES


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("bind 127.0.0.1", [BindLine(("127.0.0.1",))]),
        ("bind 127.0.0.1 ::1", [BindLine(("127.0.0.1", "::1"))]),
        ("bind 127.0.0.1\nbind ::1", [BindLine(("127.0.0.1",)), BindLine(("::1",))]),
        ("bind lo {\n except 127.0.0.1\n}", [BindLine(("lo",), ("127.0.0.1",))]),
        ("bind eth0 {\n except 192.0.2.10\n except eth1\n}", [BindLine(("eth0",), ("192.0.2.10", "eth1"))]),
    ],
)
def test_parse(text: str, want: list[BindLine]) -> None:
    """Each bind line keeps its addresses and its own excepts, unresolved."""
    assert parse(controller(text)) == want


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("bind", "at least one address or interface name is expected"),
        ("bind lo {\n except\n}", "at least one address or interface name is expected"),
        ("bind lo {\n only 127.0.0.1\n}", 'invalid option "only"'),
    ],
)
def test_parse_errors(text: str, match: str) -> None:
    """A bind line needs an address; except needs one too; other options are errors."""
    with pytest.raises(ConfigError, match=match) as e:
        parse(controller(text))
    assert "plugin/bind:" in str(e.value)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("bind 127.0.0.1", ["127.0.0.1"]),
        ("bind 127.0.0.1 127.0.0.1", ["127.0.0.1"]),
        ("bind 0:0::1", ["::1"]),
        ("bind lo", ["127.0.0.1", "::1"]),
        ("bind lo {\n except 127.0.0.1\n}", ["::1"]),
        ("bind eth0", ["192.0.2.10", "2001:db8::10", "fe80::1%eth0"]),
        ("bind eth0 lo {\n except lo\n}", ["192.0.2.10", "2001:db8::10", "fe80::1%eth0"]),
        ("bind lo {\n except 127.0.0.1\n}\nbind 127.0.0.1", ["::1", "127.0.0.1"]),  # except is per line
        ("bind dummy0 10.0.0.1", ["169.254.20.10", "10.0.0.1"]),
    ],
)
def test_listen_hosts(text: str, want: list[str]) -> None:
    """Interfaces expand to their addresses; excepts remove only from their own line; no duplicates."""
    c = controller(text)
    assert listen_hosts(c, parse(c), table) == want


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("bind nosuchif0", 'not a valid IP address or interface name: "nosuchif0"'),
        ("bind 127.0.0.1 {\n except nosuchif0\n}", 'not a valid IP address or interface name: "nosuchif0"'),
        ("bind example.org", "not a valid IP address or interface name"),
        ("bind 127.0.0.1 {\n except 127.0.0.1\n}", "no address left to listen on"),
    ],
)
def test_listen_hosts_errors(text: str, match: str) -> None:
    """Unknown names are errors; a bind that excepts everything is an error."""
    c = controller(text)
    with pytest.raises(ConfigError, match=match):
        listen_hosts(c, parse(c), table)


def test_interfaces_not_read_for_plain_ips() -> None:
    """Only names that are not IPs make setup look at the interfaces."""

    def fail() -> dict[str, list[str]]:
        raise AssertionError("interfaces read")

    c = controller("bind 127.0.0.1 ::1")
    assert listen_hosts(c, parse(c), fail) == ["127.0.0.1", "::1"]


def test_error_located_at_its_line() -> None:
    """The error names the bind line with the bad name."""
    c = controller("bind 127.0.0.1\nbind bogus0")
    with pytest.raises(ConfigError, match=r"^Corefile:2: plugin/bind:"):
        listen_hosts(c, parse(c), table)


def test_setup_sets_listen_hosts() -> None:
    """setup replaces the block's listen hosts (default: every address)."""
    c = controller("bind 127.0.0.1\nbind lo")
    assert c.config.listen_hosts == [""]
    setup(c)
    lo = [a for a in ifaces.interfaces()["lo"] if a != "127.0.0.1"]
    assert c.config.listen_hosts == ["127.0.0.1", *lo]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1%eth0"),
        ("10.0.0.1%eth0", None),
        ("lo", None),
    ],
)
def test_canonical(text: str, want: str | None) -> None:
    """IP literals are canonical, IPv6 zones kept; anything else is None."""
    assert canonical(text) == want


def test_from_ip_json() -> None:
    """``ip -j addr`` output gives every inet/inet6 address per interface, link-local with its zone."""
    out = json.dumps(
        [
            {
                "ifname": "lo",
                "addr_info": [{"family": "inet", "local": "127.0.0.1"}, {"family": "inet6", "local": "::1"}],
            },
            {
                "ifname": "eth0",
                "addr_info": [
                    {"family": "inet6", "local": "fe80::fc00:ff:fe00:1"},
                    {"family": "inet", "local": "192.0.2.1"},
                ],
            },
            {"ifname": "ifb0", "addr_info": []},
        ]
    )
    assert ifaces.from_ip_json(out) == {
        "lo": ["127.0.0.1", "::1"],
        "eth0": ["fe80::fc00:ff:fe00:1%eth0", "192.0.2.1"],
        "ifb0": [],
    }


def test_from_proc_inet6() -> None:
    """/proc/net/if_inet6 lines give IPv6 addresses per interface."""
    text = (
        "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n00000000000000000000000000000001 01 80 10 80       lo\n"
    )
    assert ifaces.from_proc_inet6(text) == {"eth0": ["fe80::fc:ff:fe00:1%eth0"], "lo": ["::1"]}


def test_real_interfaces_have_loopback() -> None:
    """The host's interface table lists lo with 127.0.0.1."""
    assert "127.0.0.1" in ifaces.interfaces()["lo"]
