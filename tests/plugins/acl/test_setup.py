"""Parse tables for ``acl``: zones, actions, type and net sections, and their errors."""

from __future__ import annotations

import ipaddress
import re

import dns.rdatatype
import pytest

from kdns.errors import ConfigError
from kdns.plugins.acl.policy import ANY_NET, Action, Nets, Policy, Rule
from kdns.plugins.acl.setup import parse
from kdns.testing import controller


def nets(*texts: str) -> Nets:
    return Nets.of([ipaddress.ip_network(t, strict=False) for t in texts])


A, AAAA = dns.rdatatype.A, dns.rdatatype.AAAA

PARSE = [
    ("acl", [Rule((".",), ())]),
    ("acl {\n block\n}", [Rule((".",), (Policy(Action.BLOCK),))]),
    (
        "acl example.org {\n block type A net 192.168.0.0/16\n}",
        [Rule(("example.org.",), (Policy(Action.BLOCK, frozenset({A}), nets("192.168.0.0/16")),))],
    ),
    (
        "acl {\n filter net 10.0.0.1 2001:db8::/32 type a aaaa\n}",
        [Rule((".",), (Policy(Action.FILTER, frozenset({A, AAAA}), nets("10.0.0.1/32", "2001:db8::/32")),))],
    ),
    (
        "acl {\n allow net 192.168.1.0/24\n block net 192.168.0.0/16\n drop type * net *\n}",
        [
            Rule(
                (".",),
                (
                    Policy(Action.ALLOW, None, nets("192.168.1.0/24")),
                    Policy(Action.BLOCK, None, nets("192.168.0.0/16")),
                    Policy(Action.DROP, None, ANY_NET),
                ),
            )
        ],
    ),
    ("acl {\n DROP net 10.1.2.3/8\n}", [Rule((".",), (Policy(Action.DROP, None, nets("10.0.0.0/8")),))]),
    (
        "acl a.example.org B.example.NET {\n block\n}\nacl {\n allow\n}",
        [Rule(("a.example.org.", "b.example.net."), (Policy(Action.BLOCK),)), Rule((".",), (Policy(Action.ALLOW),))],
    ),
    (
        "acl {\n block type A type AAAA net 10.0.0.0/8 net 10.1.0.0/16\n}",
        [Rule((".",), (Policy(Action.BLOCK, frozenset({A, AAAA}), nets("10.0.0.0/8", "10.1.0.0/16")),))],
    ),
]


@pytest.mark.parametrize(("text", "rules"), PARSE, ids=[t for t, _ in PARSE])
def test_parse(text: str, rules: list[Rule]) -> None:
    """Every acl line is a rule; each block line a policy; omitted sections match everything."""
    assert list(parse(controller(text)).rules) == rules


ERRORS = [
    ("acl {\n permit net 10.0.0.0/8\n}", "unexpected token 'permit'; expect 'allow', 'block', 'filter' or 'drop'", 2),
    ("acl {\n block type\n}", "no token specified in 'type' section", 2),
    ("acl {\n block net\n}", "no token specified in 'net' section", 2),
    ("acl {\n block type A net\n}", "no token specified in 'net' section", 2),
    ("acl {\n block source 10.0.0.0/8\n}", "unexpected token 'source'; expect 'type | net'", 2),
    ("acl {\n block type BOGUS\n}", "unexpected token 'BOGUS'; expect legal QTYPE", 2),
    ("acl {\n block net 10.0.0.300/8\n}", "illegal CIDR notation '10.0.0.300/8'", 2),
    ("acl {\n block net 10.0.0.0/33\n}", "illegal CIDR notation '10.0.0.0/33'", 2),
    ("acl {\n block {\n }\n}", "unexpected block in an acl policy", 2),
]


@pytest.mark.parametrize(("text", "msg", "line"), ERRORS, ids=[t for t, _, _ in ERRORS])
def test_parse_errors(text: str, msg: str, line: int) -> None:
    """Malformed policies fail at setup, located at their line."""
    with pytest.raises(ConfigError, match=re.escape(msg)) as e:
        parse(controller(text))
    assert str(e.value).startswith(f"Corefile:{line}: plugin/acl: ")


def test_block_zones_are_the_default() -> None:
    """Without zones on the line the server block's zones are used."""
    c = controller("acl {\n block\n}", zones=("example.org", "example.net"))
    assert parse(c).rules[0].zones == ("example.org.", "example.net.")
