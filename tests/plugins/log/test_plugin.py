"""The log handler against stub next plugins: which queries are logged, and the exact lines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator

import dns.rcode
import pytest

from kdns.core.wire import finalize
from kdns.errors import PluginError
from kdns.pkg.replacer import COMBINED_LOG_FORMAT
from kdns.pkg.response import Class
from kdns.plugin import Handler
from kdns.plugins.log.plugin import Logger, Rule
from kdns.request import Request, make_reply
from kdns.testing import Case, FakeWriter, error_handler, next_handler
from kdns.writer import ResponseWriter

Lines = Callable[[], list[str]]


def clock(*ticks: float) -> Callable[[], float]:
    """A clock returning ``ticks`` in turn (start, end)."""
    it: Iterator[float] = iter(ticks)
    return lambda: next(it)


def request(qname: str = "example.org.", qtype: str = "A") -> Request:
    req = Case(qname, qtype).request()
    req.msg.id = 29008
    return req


class Raises:
    """A next plugin that raises ``exc``."""

    name = "test"

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        raise self.exc


def logger(nxt: Handler, *rules: Rule) -> Logger:
    return Logger(rules=rules or (Rule(),), next=nxt, clock=clock(10.0, 10.0379))


async def test_common_log_line(log_lines: Lines) -> None:
    """A query is logged at INFO in CoreDNS's Common Log Format, without a plugin prefix."""
    w = FakeWriter()
    rc = await logger(next_handler()).serve_dns(w, request())
    assert rc == dns.rcode.NOERROR
    assert w.msg is not None
    assert log_lines() == [
        '[INFO] 10.240.0.1:40212 - 29008 "A IN example.org. udp 29 false 512" NOERROR qr,rd 29 0.0379s'
    ]


async def test_error_rcode_logs_the_reply_the_server_writes(log_lines: Lines) -> None:
    """SERVFAIL returned without a write is logged as the SERVFAIL reply the server will send."""
    w = FakeWriter()
    req = request()
    rc = await logger(next_handler(dns.rcode.SERVFAIL)).serve_dns(w, req)
    assert rc == dns.rcode.SERVFAIL
    assert not w.written  # the server writes it, not log
    size = len(finalize(req, make_reply(req.msg, dns.rcode.SERVFAIL)))
    assert log_lines() == [
        f'[INFO] 10.240.0.1:40212 - 29008 "A IN example.org. udp 29 false 512" SERVFAIL qr,rd {size} 0.0379s'
    ]


@pytest.mark.parametrize(
    ("exc", "rcode"),
    [
        (PluginError("test", "upstream timed out", dns.rcode.REFUSED), "REFUSED"),
        (PluginError("test", "upstream timed out"), "SERVFAIL"),
        (RuntimeError("bug"), "SERVFAIL"),
    ],
)
async def test_raised_errors_are_logged_and_re_raised(log_lines: Lines, exc: Exception, rcode: str) -> None:
    """When the chain raises, the line still goes out (with the rcode the server answers) and the error goes on."""
    with pytest.raises(type(exc)):
        await logger(Raises(exc)).serve_dns(FakeWriter(), request())
    lines = log_lines()
    assert len(lines) == 1
    assert f'"A IN example.org. udp 29 false 512" {rcode} qr,rd ' in lines[0]


async def test_cancelled_query_is_not_logged(log_lines: Lines) -> None:
    """A query cancelled mid-chain (shutdown) gets no line and the cancellation is not swallowed."""
    with pytest.raises(asyncio.CancelledError):
        await logger(Raises(asyncio.CancelledError())).serve_dns(FakeWriter(), request())
    assert log_lines() == []


async def test_name_scope(log_lines: Lines) -> None:
    """Only names at or below a rule's name are logged; the others still reach the next plugin."""
    nxt = next_handler()
    h = logger(nxt, Rule("example.org."))
    for name in ("example.org.", "www.example.org.", "example.net.", "fooexample.org."):
        w = FakeWriter()
        await h.serve_dns(w, request(name))
        assert w.written
        h.clock = clock(0.0, 0.0)
    lines = log_lines()
    assert len(lines) == 2
    assert '"A IN example.org. ' in lines[0]
    assert '"A IN www.example.org. ' in lines[1]


async def test_first_matching_rule_logs(log_lines: Lines) -> None:
    """Of several rules, the first whose name matches decides the format."""
    h = logger(next_handler(), Rule("example.org.", "org {name}"), Rule(".", "root {name}"))
    await h.serve_dns(FakeWriter(), request("www.example.org."))
    h.clock = clock(0.0, 0.0)
    await h.serve_dns(FakeWriter(), request("example.net."))
    assert log_lines() == ["[INFO] org www.example.org.", "[INFO] root example.net."]


CLASSES = [
    (Class.ALL, dns.rcode.NOERROR, True),
    (Class.SUCCESS, dns.rcode.NOERROR, True),
    (Class.SUCCESS, dns.rcode.NXDOMAIN, False),
    (Class.DENIAL, dns.rcode.NXDOMAIN, True),
    (Class.DENIAL, dns.rcode.NOERROR, True),  # empty NOERROR with SOA: NODATA
    (Class.DENIAL, dns.rcode.SERVFAIL, False),
    (Class.ERROR, dns.rcode.SERVFAIL, True),
    (Class.ERROR, dns.rcode.REFUSED, True),
    (Class.ERROR, dns.rcode.NXDOMAIN, False),
]


class Negative:
    """Writes a reply with ``rcode`` and a SOA in authority (or nothing for error rcodes)."""

    name = "test"

    def __init__(self, rcode: int, soa: bool) -> None:
        self.rcode = rcode
        self.soa = soa

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        if self.rcode in (dns.rcode.SERVFAIL, dns.rcode.REFUSED):
            return self.rcode
        from kdns.testing import rr

        reply = req.reply()
        reply.set_rcode(dns.rcode.Rcode.make(self.rcode))
        if self.soa:
            reply.authority = [rr("example.org. 60 IN SOA ns. host. 1 2 3 4 5")]
        await w.write_msg(reply)
        return self.rcode


@pytest.mark.parametrize(("cls", "rcode", "logged"), CLASSES)
async def test_class_filter(log_lines: Lines, cls: Class, rcode: int, logged: bool) -> None:
    """A rule with classes logs only replies of those classes (denial = NXDOMAIN or NODATA)."""
    soa = cls == Class.DENIAL or rcode == dns.rcode.NXDOMAIN
    await logger(Negative(rcode, soa), Rule(classes=frozenset({cls}))).serve_dns(FakeWriter(), request())
    assert len(log_lines()) == (1 if logged else 0)


@pytest.mark.parametrize(("end", "logged"), [(11.001, True), (10.5, False)])
async def test_min_duration(log_lines: Lines, end: float, logged: bool) -> None:
    """A reply outside the classes is still logged when it took longer than minDuration."""
    rule = Rule(classes=frozenset({Class.ERROR}), min_duration=1.0)
    h = Logger(rules=(rule,), next=next_handler(), clock=clock(10.0, end))
    await h.serve_dns(FakeWriter(), request())
    assert len(log_lines()) == (1 if logged else 0)


async def test_combined_and_custom_formats(log_lines: Lines) -> None:
    """{combined} ends with the quoted opcode; a custom format prints only its placeholders."""
    await logger(next_handler(dns.rcode.NXDOMAIN), Rule(format=COMBINED_LOG_FORMAT)).serve_dns(FakeWriter(), request())
    h = logger(next_handler(), Rule(format="{proto} Request: {name} {type} {>id}"))
    await h.serve_dns(FakeWriter(), request())
    lines = log_lines()
    assert lines[0].endswith('NXDOMAIN qr,rd 29 0.0379s "0"')
    assert lines[1] == "[INFO] udp Request: example.org. A 29008"


async def test_quiet_logger_skips_the_work(caplog: pytest.LogCaptureFixture, log_lines: Lines) -> None:
    """With INFO off for kdns (-quiet) nothing is logged and the answer is unchanged."""
    caplog.set_level(logging.WARNING, logger="kdns")
    w = FakeWriter()
    assert await logger(next_handler()).serve_dns(w, request()) == dns.rcode.NOERROR
    assert w.written
    assert log_lines() == []


async def test_last_plugin_fails(log_lines: Lines) -> None:
    """log with no next plugin raises the no-next-plugin error and logs SERVFAIL."""
    with pytest.raises(PluginError, match="no next plugin found"):
        await Logger(next=None, clock=clock(0.0, 0.0)).serve_dns(FakeWriter(), request())
    assert " SERVFAIL qr,rd " in log_lines()[0]


async def test_error_handler_stub(log_lines: Lines) -> None:
    """A PluginError from the next plugin is logged with its rcode (kdns.testing.error_handler)."""
    with pytest.raises(PluginError):
        await logger(error_handler("boom", dns.rcode.SERVFAIL)).serve_dns(FakeWriter(), request())
    assert " SERVFAIL " in log_lines()[0]
