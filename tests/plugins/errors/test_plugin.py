"""The errors handler: the log line for a plugin error, and consolidation on a fake timer."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable

import dns.rcode
import pytest

from kdns.errors import PluginError
from kdns.plugins.errors.plugin import Errors, Pattern, go_duration
from kdns.request import Request
from kdns.testing import Case, FakeWriter, error_handler, next_handler

Lines = Callable[[], list[str]]


class FakeTimers:
    """call_later that only records; ``fire()`` runs what is due, as time passing would."""

    def __init__(self) -> None:
        self.pending: list[FakeTimer] = []

    def __call__(self, delay: float, fn: Callable[[], None]) -> FakeTimer:
        t = FakeTimer(delay, fn)
        self.pending.append(t)
        return t

    def fire(self) -> None:
        due, self.pending = self.pending, []
        for t in due:
            if not t.cancelled:
                t.fn()


class FakeTimer:
    def __init__(self, delay: float, fn: Callable[[], None]) -> None:
        self.delay = delay
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def request(qname: str = "example.org.", qtype: str = "A") -> Request:
    return Case(qname, qtype).request()


def pattern(regex: str, period: float = 30.0, level: int = logging.ERROR, show_first: bool = False) -> Pattern:
    return Pattern(period=period, regex=re.compile(regex), level=level, show_first=show_first)


async def fail(h: Errors, msg: str, rcode: int = dns.rcode.SERVFAIL, qname: str = "example.org.") -> None:
    h.next = error_handler(msg, rcode)
    with pytest.raises(PluginError):
        await h.serve_dns(FakeWriter(), request(qname))


async def test_error_is_logged_and_re_raised(error_lines: Lines) -> None:
    """A PluginError is logged as '[ERROR] plugin/errors: RCODE QNAME QTYPE: plugin/NAME: msg' and raised on."""
    h = Errors(next=error_handler("read udp 10.0.0.1:53->8.8.8.8:53: i/o timeout", dns.rcode.SERVFAIL))
    with pytest.raises(PluginError) as e:
        await h.serve_dns(FakeWriter(), request("Example.ORG.", "AAAA"))
    assert e.value.rcode == dns.rcode.SERVFAIL
    assert error_lines() == [
        "[ERROR] plugin/errors: 2 example.org. AAAA: plugin/test: read udp 10.0.0.1:53->8.8.8.8:53: i/o timeout"
    ]


async def test_success_is_not_logged(error_lines: Lines) -> None:
    """Replies without an error pass through untouched and log nothing."""
    w = FakeWriter()
    rc = await Errors(next=next_handler(dns.rcode.NXDOMAIN)).serve_dns(w, request())
    assert rc == dns.rcode.NXDOMAIN
    assert w.msg is not None
    assert w.msg.rcode() == dns.rcode.NXDOMAIN
    assert error_lines() == []


async def test_no_next_plugin(error_lines: Lines) -> None:
    """errors as the last plugin reports its own no-next-plugin failure."""
    with pytest.raises(PluginError):
        await Errors().serve_dns(FakeWriter(), request())
    assert error_lines() == ["[ERROR] plugin/errors: 2 example.org. A: plugin/errors: no next plugin found"]


async def test_consolidate(error_lines: Lines) -> None:
    """Matching errors are counted and reported once per period; the others are logged at once."""
    timers = FakeTimers()
    h = Errors(patterns=(pattern(".* i/o timeout$", 300, logging.WARNING),), call_later=timers)
    for _ in range(3):
        await fail(h, "read udp: i/o timeout")
    await fail(h, "connection refused", dns.rcode.REFUSED)
    assert error_lines() == ["[ERROR] plugin/errors: 5 example.org. A: plugin/test: connection refused"]
    assert [t.delay for t in timers.pending] == [300]
    timers.fire()
    assert error_lines()[1:] == ["[WARNING] plugin/errors: 3 errors like '.* i/o timeout$' occurred in last 5m0s"]
    # a new period starts with the next match
    await fail(h, "read tcp: i/o timeout")
    timers.fire()
    assert error_lines()[2:] == ["[WARNING] plugin/errors: 1 errors like '.* i/o timeout$' occurred in last 5m0s"]
    timers.fire()
    assert len(error_lines()) == 3  # nothing pending, nothing more


async def test_first_matching_pattern_wins(error_lines: Lines) -> None:
    """An error matching several patterns is counted under the first only."""
    timers = FakeTimers()
    h = Errors(patterns=(pattern("timeout", 10), pattern("^plugin/test", 20)), call_later=timers)
    await fail(h, "i/o timeout")
    await fail(h, "other")
    assert [t.delay for t in timers.pending] == [10, 20]
    timers.fire()
    assert error_lines() == [
        "[ERROR] plugin/errors: 1 errors like 'timeout' occurred in last 10s",
        "[ERROR] plugin/errors: 1 errors like '^plugin/test' occurred in last 20s",
    ]


async def test_pattern_matches_without_plugin_prefix(error_lines: Lines) -> None:
    """An anchored pattern matches the error's own text, without the 'plugin/NAME: ' prefix."""
    timers = FakeTimers()
    h = Errors(patterns=(pattern("^read udp .* i/o timeout$"),), call_later=timers)
    await fail(h, "read udp 10.0.0.1:53->192.0.2.53:53: i/o timeout")
    assert error_lines() == []
    timers.fire()
    assert error_lines() == ["[ERROR] plugin/errors: 1 errors like '^read udp .* i/o timeout$' occurred in last 30s"]


@pytest.mark.parametrize(
    ("count", "summary"),
    [(1, []), (3, ["[INFO] plugin/errors: 3 errors like 'timeout' occurred in last 30s"])],
)
async def test_show_first(error_lines: Lines, count: int, summary: list[str]) -> None:
    """show_first logs the first error in full at once; the summary follows only when more came."""
    timers = FakeTimers()
    h = Errors(patterns=(pattern("timeout", 30, logging.INFO, show_first=True),), call_later=timers)
    for i in range(count):
        await fail(h, f"timeout {i}", qname="www.example.org.")
    assert error_lines() == ["[INFO] plugin/errors: 2 www.example.org. A: plugin/test: timeout 0"]
    timers.fire()
    assert error_lines()[1:] == summary


async def test_stop_flushes_and_stops_consolidating(error_lines: Lines) -> None:
    """On shutdown pending counts are reported at once, and later errors are logged one by one."""
    timers = FakeTimers()
    h = Errors(patterns=(pattern("timeout", 30),), call_later=timers)
    await fail(h, "timeout")
    await fail(h, "timeout")
    await h.stop()
    assert timers.pending[0].cancelled
    await fail(h, "timeout")
    assert error_lines() == [
        "[ERROR] plugin/errors: 2 errors like 'timeout' occurred in last 30s",
        "[ERROR] plugin/errors: 2 example.org. A: plugin/test: timeout",
    ]
    timers.fire()
    assert len(error_lines()) == 2


async def test_real_timer(error_lines: Lines) -> None:
    """By default the summary is scheduled on the running event loop and fires after the period."""
    logged = asyncio.Event()

    class Signal(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logged.set()

    signal = Signal()
    logging.getLogger("kdns.plugin.errors").addHandler(signal)
    try:
        h = Errors(patterns=(pattern("timeout", 0.001),))
        await fail(h, "timeout")
        await fail(h, "timeout")
        async with asyncio.timeout(2):
            await logged.wait()
    finally:
        logging.getLogger("kdns.plugin.errors").removeHandler(signal)
    assert error_lines() == ["[ERROR] plugin/errors: 2 errors like 'timeout' occurred in last 1ms"]
    assert h.patterns[0].count == 0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (30, "30s"),
        (300, "5m0s"),
        (90, "1m30s"),
        (3600, "1h0m0s"),
        (5400.5, "1h30m0.5s"),
        (1.5, "1.5s"),
        (0.1, "100ms"),
        (0.0015, "1.5ms"),
        (0.000002, "2µs"),
    ],
)
def test_go_duration(seconds: float, text: str) -> None:
    """Periods print as Go's time.Duration does."""
    assert go_duration(seconds) == text
