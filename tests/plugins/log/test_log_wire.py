"""The wire form of log: a cache hit from bytes is logged with the full path's line, under the same filters."""

from __future__ import annotations

import re
from collections.abc import Callable

import dns.rcode
import pytest

from kdns.pkg.response import Class
from kdns.plugin import WireStage
from kdns.plugins.log.plugin import Logger, Rule
from kdns.plugins.log.setup import parse
from kdns.plugins.log.wire import reply_class
from kdns.testing import controller
from kdns.testing.wirecache import Entry, FakeWireCache, FinalWriter, reply_bytes, request_of, wire_query

Lines = Callable[[], list[str]]
SOA = "example.org. 300 IN SOA ns.example.org. admin.example.org. 1 7200 3600 1209600 300"
EXPIRED_SIG = "example.org. 300 IN RRSIG A 8 2 300 20200101000000 20191201000000 12345 example.org. dGVzdA=="
VALID_SIG = "example.org. 300 IN RRSIG A 8 2 300 21000101000000 20191201000000 12345 example.org. dGVzdA=="

ANSWER = Entry(answer=["example.org. 300 IN A 10.0.0.1", "example.org. 300 IN A 10.0.0.2"])
NXDOMAIN = Entry(ns=[SOA], rcode=dns.rcode.NXDOMAIN)
NODATA = Entry(ns=[SOA])
CNAME_ONLY = Entry(answer=["example.org. 300 IN CNAME other.example.net."])
DELEGATION = Entry(ns=["example.org. 300 IN NS ns.example.net."])
SERVFAIL = Entry(rcode=dns.rcode.SERVFAIL)
REFUSED = Entry(rcode=dns.rcode.REFUSED)
EXPIRED = Entry(answer=["example.org. 300 IN A 10.0.0.1", EXPIRED_SIG])
SIGNED = Entry(answer=["example.org. 300 IN A 10.0.0.1", VALID_SIG])


def without_duration(line: str) -> str:
    return re.sub(r" \d+(\.\d+)?s\b", " DURATION", line)


async def both_paths(log_lines: Lines, corefile: str, name: str, qtype: str, entry: Entry, **kw: object) -> list[str]:
    """Log the same query and reply on the full path, then from bytes; both lines, durations cut off."""
    rules = tuple(parse(controller(corefile)))
    q = wire_query(name, qtype, **kw)  # type: ignore[arg-type]
    req = request_of(q)
    cache = FakeWireCache({(name.lower(), qtype): entry}, fast=False)
    before = len(log_lines())
    await Logger(rules=rules, next=cache).serve_dns(FinalWriter(req), req)
    full = log_lines()[before:]

    h = Logger(rules=rules, next=cache)
    assert isinstance(h, WireStage)
    assert h.wire_pass(q)
    reply = reply_bytes(q, entry)
    assert reply is not None
    h.wire_done(q, reply, entry.rcode)
    fast = log_lines()[before + len(full) :]
    assert [without_duration(x) for x in fast] == [without_duration(x) for x in full]
    return fast


FORMATS = [
    "log",
    "log . {combined}",
    'log . "{type} {name} {class} {proto} {size} {remote} {port} {>id} {>opcode} {>do} {>bufsize} '
    '{rcode} {rsize} {>rflags} {/meta} {unknown} {duration}"',
]


@pytest.mark.parametrize("corefile", FORMATS)
@pytest.mark.parametrize(
    ("name", "qtype", "entry", "kw"),
    [
        ("example.org.", "A", ANSWER, {}),
        ("Example.ORG.", "AAAA", NODATA, {"proto": "tcp"}),
        ("example.org.", "A", NXDOMAIN, {"use_edns": 0, "payload": 1232, "want_dnssec": True}),
        ("example.org.", "MX", SERVFAIL, {"remote": ("2001:db8::53", 5353)}),
    ],
)
async def test_the_fast_line_is_the_full_line(
    log_lines: Lines, corefile: str, name: str, qtype: str, entry: Entry, kw: dict[str, object]
) -> None:
    """For each format, the hit's line equals the full path's line for the same query and reply (but duration)."""
    lines = await both_paths(log_lines, corefile, name, qtype, entry, **kw)
    assert len(lines) == 1


@pytest.mark.parametrize(
    ("klass", "qtype", "entry", "logged"),
    [
        ("success", "A", ANSWER, True),
        ("success", "A", DELEGATION, True),
        ("success", "A", NXDOMAIN, False),
        ("denial", "A", NXDOMAIN, True),
        ("denial", "A", NODATA, True),
        ("denial", "A", CNAME_ONLY, True),
        ("denial", "CNAME", CNAME_ONLY, False),
        ("denial", "A", ANSWER, False),
        ("error", "A", SERVFAIL, True),
        ("error", "A", REFUSED, True),
        ("error", "A", ANSWER, False),
        ("error", "A", EXPIRED, True),
        ("error", "A", SIGNED, False),
        ("success", "A", SIGNED, True),
    ],
)
async def test_class_filters_pick_the_same_replies(
    log_lines: Lines, klass: str, qtype: str, entry: Entry, logged: bool
) -> None:
    """``class`` keeps or drops a hit as it does on the full path (DO queries: expired signatures are errors)."""
    corefile = f"log {{\n class {klass}\n}}"
    lines = await both_paths(log_lines, corefile, "example.org.", qtype, entry, use_edns=0, want_dnssec=True)
    assert len(lines) == int(logged)


async def test_names_pick_the_rule(log_lines: Lines) -> None:
    """Only names under a rule's names are logged, each with its rule's format."""
    corefile = 'log example.org "org {name}"\nlog example.net "net {name} {rcode}"'
    assert await both_paths(log_lines, corefile, "www.example.org.", "A", ANSWER) == ["[INFO] org www.example.org."]
    assert await both_paths(log_lines, corefile, "example.net.", "A", NXDOMAIN) == ["[INFO] net example.net. NXDOMAIN"]
    assert await both_paths(log_lines, corefile, "example.com.", "A", ANSWER) == []


def test_a_format_with_local_takes_the_full_path() -> None:
    """{local} (the listener's address) is not known from bytes: such queries take the full path."""
    h = Logger(rules=(Rule(name="example.org.", format="{local} {name}"), Rule(name=".")))
    assert not h.wire_pass(wire_query("www.example.org.", "A"))
    assert h.wire_pass(wire_query("example.net.", "A"))
    assert Logger(rules=(Rule(name="example.org.", format="{local}"),)).wire_pass(wire_query("example.com.", "A"))


async def test_min_duration_logs_slow_hits_outside_the_classes(log_lines: Lines) -> None:
    """A hit slower than minDuration is logged even when its class is filtered out."""
    h = Logger(rules=(Rule(classes=frozenset({Class.ERROR}), min_duration=0.5),))
    q = wire_query("example.org.", "A")
    reply = reply_bytes(q, ANSWER)
    assert reply is not None
    h.wire_done(q, reply, 0)
    assert log_lines() == []
    q.start -= 1.0  # the hit took a second
    h.wire_done(q, reply, 0)
    assert len(log_lines()) == 1
    assert reply_class(q, reply, 0) is Class.SUCCESS
