"""Parsing the log directive."""

from __future__ import annotations

import pytest

from kdns.errors import ConfigError
from kdns.pkg.replacer import COMBINED_LOG_FORMAT, COMMON_LOG_FORMAT
from kdns.pkg.response import Class
from kdns.plugins.log.plugin import Rule
from kdns.plugins.log.setup import parse
from kdns.testing import controller

ALL = frozenset({Class.ALL})
DENIAL = frozenset({Class.DENIAL})

GOOD = [
    ("log", [Rule()]),
    ("log example.org", [Rule("example.org.")]),
    ("log Example.ORG.", [Rule("example.org.")]),
    ("log example.org. {common}", [Rule("example.org.", COMMON_LOG_FORMAT)]),
    ("log example.org {combined}", [Rule("example.org.", COMBINED_LOG_FORMAT)]),
    (
        "log example.org.\nlog example.net {combined}",
        [Rule("example.org."), Rule("example.net.", COMBINED_LOG_FORMAT)],
    ),
    ("log example.org {host}", [Rule("example.org.", "{host}")]),
    ("log example.org example.net", [Rule("example.org."), Rule("example.net.")]),
    ("log example.org example.net {name}", [Rule("example.org.", "{name}"), Rule("example.net.", "{name}")]),
    ('log . "{proto} Request: {name} {type} {>id}"', [Rule(".", "{proto} Request: {name} {type} {>id}")]),
    (
        "log example.org example.net {when} {\n class denial\n}",
        [Rule("example.org.", "{when}", DENIAL), Rule("example.net.", "{when}", DENIAL)],
    ),
    ("log example.org {\n class all\n}", [Rule("example.org.")]),
    ("log {\n class denial\n}", [Rule(classes=DENIAL)]),
    ("log {\n class denial error\n}", [Rule(classes=frozenset({Class.DENIAL, Class.ERROR}))]),
    ("log {\n class denial\n class error\n}", [Rule(classes=frozenset({Class.DENIAL, Class.ERROR}))]),
    ("log {\n minDuration\n}", [Rule(min_duration=0.1)]),
    ("log {\n class error\n minDuration 1s\n}", [Rule(classes=frozenset({Class.ERROR}), min_duration=1.0)]),
]


@pytest.mark.parametrize(("text", "want"), GOOD, ids=[t for t, _ in GOOD])
def test_parse(text: str, want: list[Rule]) -> None:
    """Names become lower-case FQDN rules sharing one format and class set; no class means all."""
    assert parse(controller(text)) == want


BAD = [
    ("log {\n class abracadabra\n}", "invalid Class: abracadabra"),
    ("log {\n class\n}", "wrong argument count"),
    ("log {\n minDuration 123abc\n}", "Illegal duration found: '123abc'"),
    ("log {\n minDuration 1s 2s\n}", "wrong argument count"),
    ("log {\n unknown\n}", "unknown property 'unknown'"),
    ("log exa$mple.org {common}", "invalid zone"),
]


@pytest.mark.parametrize(("text", "match"), BAD, ids=[t for t, _ in BAD])
def test_parse_errors(text: str, match: str) -> None:
    """Bad classes, durations and properties are located config errors."""
    with pytest.raises(ConfigError, match=match) as e:
        parse(controller(text))
    assert str(e.value).startswith("Corefile:")
    assert "plugin/log: " in str(e.value)
