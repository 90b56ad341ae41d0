"""Parse tables for ``rewrite``: every rule form and its errors."""

from __future__ import annotations

import re

import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from kdns.errors import ConfigError
from kdns.plugins.rewrite.rules import (
    CONTINUE,
    STOP,
    ClassRule,
    CnameResponse,
    CnameRule,
    Match,
    NameResponse,
    NameRule,
    RcodeResponse,
    RcodeRule,
    RegexRewriter,
    SuffixRewriter,
    Template,
    TTLResponse,
    TTLRule,
    TypeRule,
    ValueResponse,
    parse_ttl,
)
from kdns.plugins.rewrite.setup import parse
from kdns.testing import controller


def rx(pattern: str, to: str) -> RegexRewriter:
    return RegexRewriter(re.compile(pattern), Template(to))


def regex_match(pattern: str, to: str = "") -> Match:
    return Match("regex", pattern, to, re.compile(pattern), Template(to))


PARSE = [
    (
        "rewrite name example.net example.org",
        NameRule(STOP, Match("exact", "example.net.", "example.org."), auto=True),
    ),
    (
        "rewrite continue name exact A.Example.NET. b.example.org",
        NameRule(CONTINUE, Match("exact", "a.example.net.", "b.example.org."), auto=True),
    ),
    (
        "rewrite stop name prefix foo bar",
        NameRule(STOP, Match("prefix", "foo.", "bar.")),
    ),
    (
        "rewrite name suffix .corp.internal .corp.example.com answer auto",
        NameRule(
            STOP,
            Match("suffix", ".corp.internal.", ".corp.example.com."),
            answers=(
                NameResponse(SuffixRewriter(".corp.example.com.", ".corp.internal.")),
                ValueResponse(SuffixRewriter(".corp.example.com.", ".corp.internal.")),
            ),
        ),
    ),
    (
        "rewrite name substring service.example.org service.example.net answer auto",
        NameRule(STOP, Match("substring", "service.example.org.", "service.example.net."), auto=True),
    ),
    (
        r"rewrite name regex (.*)-(us-west-1)\.example\.org {1}.service.{2}.example.net",
        NameRule(STOP, regex_match(r"(.*)-(us-west-1)\.example\.org", "{1}.service.{2}.example.net.")),
    ),
    (
        r"rewrite name regex (.*)\.example\.org {1}.example.net answer name (.*)\.example\.net {1}.example.org "
        r"value (.*)\.example\.net {1}.example.org",
        NameRule(
            STOP,
            regex_match(r"(.*)\.example\.org", "{1}.example.net."),
            answers=(
                NameResponse(rx(r"(.*)\.example\.net", "{1}.example.org.")),
                ValueResponse(rx(r"(.*)\.example\.net", "{1}.example.org.")),
            ),
        ),
    ),
    (
        "rewrite stop {\n name regex (.*)\\.example\\.org {1}.example.net\n answer name (.*)\\.example\\.net "
        "{1}.example.org\n}",
        NameRule(
            STOP,
            regex_match(r"(.*)\.example\.org", "{1}.example.net."),
            answers=(NameResponse(rx(r"(.*)\.example\.net", "{1}.example.org.")),),
        ),
    ),
    (
        "rewrite name exact a.example.org b.example.org answer value (.*)\\.example\\.org {1}.example.net",
        NameRule(
            STOP,
            Match("exact", "a.example.org.", "b.example.org."),
            auto=True,
            answers=(ValueResponse(rx(r"(.*)\.example\.org", "{1}.example.net.")),),
        ),
    ),
    ("rewrite type ANY HINFO", TypeRule(STOP, dns.rdatatype.ANY, dns.rdatatype.HINFO)),
    ("rewrite continue type aaaa a", TypeRule(CONTINUE, dns.rdatatype.AAAA, dns.rdatatype.A)),
    ("rewrite class CH IN", ClassRule(STOP, dns.rdataclass.CH, dns.rdataclass.IN)),
    ("rewrite ttl example.org 15", TTLRule(STOP, Match("exact", "example.org."), TTLResponse(15, 15))),
    ("rewrite ttl suffix .example.org 30-300", TTLRule(STOP, Match("suffix", ".example.org."), TTLResponse(30, 300))),
    (
        "rewrite continue {\n ttl regex (.*)\\.example\\.org 10-\n}",
        TTLRule(CONTINUE, regex_match(r"(.*)\.example\.org"), TTLResponse(10, 2147483647)),
    ),
    (
        "rewrite rcode example.org SERVFAIL NOERROR",
        RcodeRule(STOP, Match("exact", "example.org."), RcodeResponse(dns.rcode.SERVFAIL, dns.rcode.NOERROR)),
    ),
    (
        "rewrite rcode regex (.*)\\.example\\.org 2 0",
        RcodeRule(STOP, regex_match(r"(.*)\.example\.org"), RcodeResponse(2, 0)),
    ),
    (
        "rewrite cname exact cdn.example.net target.example.org",
        CnameRule(STOP, CnameResponse(Match("exact", "cdn.example.net.", "target.example.org."))),
    ),
    (
        "rewrite cname cdn.example.net. target.example.org.",
        CnameRule(STOP, CnameResponse(Match("exact", "cdn.example.net.", "target.example.org."))),
    ),
    (
        "rewrite cname suffix .cdn.example.net .other.example.org",
        CnameRule(STOP, CnameResponse(Match("suffix", ".cdn.example.net.", ".other.example.org."))),
    ),
]


@pytest.mark.parametrize(("text", "rule"), PARSE, ids=[t for t, _ in PARSE])
def test_parse(text: str, rule: object) -> None:
    """Each rule form parses to its rule with names normalised and the default mode stop."""
    assert parse(controller(text)).rules == (rule,)


def test_rules_keep_line_order() -> None:
    """Several rewrite lines become one plugin's rules, in line order."""
    opts = parse(controller("rewrite continue type A AAAA\nrewrite name a.example.org b.example.org\n"))
    assert [type(r) for r in opts.rules] == [TypeRule, NameRule]
    assert opts.rules[0].mode == CONTINUE


ERRORS = [
    ("rewrite", "no rule type specified"),
    ("rewrite stop", "stop rule must begin with a rule type"),
    ("rewrite continue {\n}", "continue rule must begin with a rule type"),
    ("rewrite foo a b", "invalid rule type 'foo'"),
    ("rewrite answer name a b", "response rewrites must begin with a name rule"),
    ("rewrite edns0 local set 0xffee abcd", "edns0 rewrites are not supported yet"),
    ("rewrite name a.example.org", "too few arguments for a name rule"),
    ("rewrite name fuzzy a b", "name rule supports only exact, prefix, suffix, substring, and regex"),
    ("rewrite name regex ( b", "invalid regex matching pattern"),
    ("rewrite name regex (a) {2}.example.org", "uses more subexpressions"),
    ("rewrite name suffix .a .b extra", "expected 'answer'"),
    ("rewrite name suffix .a .b answer", "type missing for answer rule"),
    ("rewrite name suffix .a .b answer bogus", "invalid type 'bogus' for answer rule"),
    ("rewrite name suffix .a .b answer name (.*)", "name answer rule: 2 arguments required"),
    ("rewrite name suffix .a .b answer value x", "value answer rule: 2 arguments required"),
    ("rewrite name regex (.*)\\.a {1}.b answer name ( x", "invalid regex matching pattern"),
    ("rewrite name suffix .a .b answer auto answer name (.*)\\.b {1}.a", "cannot be combined"),
    ("rewrite type A", "exactly two arguments"),
    ("rewrite type A BOGUS", "invalid type 'BOGUS'"),
    ("rewrite class IN", "exactly two arguments"),
    ("rewrite class IN XX", "invalid class"),
    ("rewrite ttl example.org", "wrong number of arguments"),
    ("rewrite ttl exact example.org 1 2", "wrong number of arguments"),
    ("rewrite ttl fuzzy example.org 10", "ttl rule supports only exact"),
    ("rewrite ttl example.org ten", "invalid TTL 'ten'"),
    ("rewrite ttl example.org 300-30", "minimum above maximum"),
    ("rewrite ttl example.org -", "invalid TTL '-'"),
    ("rewrite ttl example.org 2147483648", "invalid TTL"),
    ("rewrite ttl regex ( 10", "invalid regex matching pattern"),
    ("rewrite rcode example.org SERVFAIL", "wrong number of arguments"),
    ("rewrite rcode example.org BOGUS NOERROR", "invalid matching RCODE 'BOGUS'"),
    ("rewrite rcode example.org SERVFAIL 24", "invalid replacement RCODE '24'"),
    ("rewrite rcode fuzzy example.org 2 0", "rcode rule supports only exact"),
    ("rewrite cname a.example.org", "wrong number of arguments"),
    ("rewrite cname fuzzy a b", "unknown cname rewrite type"),
    ("rewrite name a b {\n answer auto\n}", "cannot also have a block"),
]


@pytest.mark.parametrize(("text", "msg"), ERRORS, ids=[t for t, _ in ERRORS])
def test_parse_errors(text: str, msg: str) -> None:
    """Malformed rules fail at setup with a located plugin/rewrite error."""
    with pytest.raises(ConfigError, match=re.escape(msg)) as e:
        parse(controller(text))
    assert str(e.value).startswith("Corefile:1: plugin/rewrite: ")


@pytest.mark.parametrize(
    ("text", "want"), [("15", (15, 15)), ("0-5", (0, 5)), ("-60", (0, 60)), ("7-", (7, 2147483647))]
)
def test_parse_ttl(text: str, want: tuple[int, int]) -> None:
    """TTL values: one number, a range, or a range open on one side."""
    assert parse_ttl(text) == want
