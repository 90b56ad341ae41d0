"""The errors handler: log every ``PluginError`` of the chain once, then let it go on to the server."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from kdns.errors import PluginError
from kdns.log import plugin_logger
from kdns.plugin import Handler, next_or_failure
from kdns.request import Request
from kdns.writer import ResponseWriter

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery

NAME = "errors"
log = plugin_logger(NAME)


class Timer(Protocol):
    def cancel(self) -> None: ...


#: schedules a callback after a delay in seconds (``loop.call_later``); tests inject their own
CallLater = Callable[[float, Callable[[], None]], Timer]


def go_duration(seconds: float) -> str:
    """A duration as Go prints it: ``30s``, ``5m0s``, ``1h0m0s``, ``1.5s``, ``100ms``."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000)):
            if ns >= size:
                return sign + _frac(ns, size) + unit
        return f"{sign}{ns}ns"
    h, rest = divmod(ns, 3_600_000_000_000)
    m, rest = divmod(rest, 60_000_000_000)
    s = _frac(rest, 1_000_000_000) + "s"
    if h:
        return f"{sign}{h}h{m}m{s}"
    if m:
        return f"{sign}{m}m{s}"
    return sign + s


def _frac(n: int, unit: int) -> str:
    whole, frac = divmod(n, unit)
    digits = len(str(unit)) - 1
    text = f"{whole}.{frac:0{digits}d}".rstrip("0").rstrip(".")
    return text


@dataclass
class Pattern:
    """``consolidate``: errors matching ``regex`` are counted and reported once per ``period``."""

    period: float
    regex: re.Pattern[str]
    level: int = logging.ERROR
    #: log the first matching error at once (a summary follows only if more came)
    show_first: bool = False
    count: int = field(default=0, compare=False)
    timer: Timer | None = field(default=None, compare=False, repr=False)


def _call_later(delay: float, fn: Callable[[], None]) -> Timer:
    return asyncio.get_running_loop().call_later(delay, fn)


@dataclass(slots=True)
class Errors:
    patterns: tuple[Pattern, ...] = ()
    next: Handler | None = None
    name: str = NAME
    #: log a stack trace with panics (the server logs tracebacks of plugin bugs in any case)
    stacktrace: bool = False
    call_later: CallLater = _call_later
    stopped: bool = False

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        try:
            return await next_or_failure(NAME, self.next, w, req)
        except PluginError as e:
            self.report(e, req)
            raise

    def wire_pass(self, q: WireQuery) -> bool:
        """A cache hit raises no error: nothing for *errors* to do on the cache-hit path."""
        return True

    def wire_done(self, q: WireQuery, reply: bytearray, rcode: int) -> None:
        return None

    def report(self, e: PluginError, req: Request) -> None:
        """Log ``e`` as ``RCODE QNAME QTYPE: ERR``, or count it under its consolidate pattern."""
        text = str(e)
        for p in self.patterns:
            # with or without the "plugin/NAME: " prefix, so that "^read udp" finds forward's errors
            if p.regex.search(text) or p.regex.search(e.msg):
                if self._consolidate(p, e, req):
                    return
                break
        log.error("%d %s %s: %s", e.rcode, req.qname, req.type_text, text)

    def _consolidate(self, p: Pattern, e: PluginError, req: Request) -> bool:
        if self.stopped:
            return False
        p.count += 1
        if p.count == 1:
            p.timer = self.call_later(p.period, lambda: self._flush(p))
            if p.show_first:
                log.log(p.level, "%d %s %s: %s", e.rcode, req.qname, req.type_text, str(e))
        return True

    def _flush(self, p: Pattern) -> None:
        n, p.count, p.timer = p.count, 0, None
        if n > 1 or (n == 1 and not p.show_first):
            log.log(p.level, "%d errors like '%s' occurred in last %s", n, p.regex.pattern, go_duration(p.period))

    async def stop(self) -> None:
        """Report what is pending now and log every later error on its own (shutdown or reload)."""
        self.stopped = True
        for p in self.patterns:
            if p.timer is not None:
                p.timer.cancel()
                self._flush(p)
