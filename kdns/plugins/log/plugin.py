"""The log handler: one line per query, written after the rest of the chain has answered."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dns.rcode

from kdns.core.wire import finalize
from kdns.errors import PluginError
from kdns.log import plugin_logger
from kdns.pkg.replacer import COMMON_LOG_FORMAT, Replacer
from kdns.pkg.response import Class, classify, typify
from kdns.plugin import Handler, client_wrote, next_or_failure
from kdns.plugins.log import wire
from kdns.request import Request, make_reply
from kdns.writer import Recorder, ResponseWriter

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery

NAME = "log"
log = plugin_logger(NAME)


def _bare(record: logging.LogRecord) -> bool:
    """Query lines are ``[INFO] <line>`` as in CoreDNS, without the ``plugin/log:`` prefix."""
    record.bare = True
    return True


log.addFilter(_bare)


@dataclass(frozen=True, slots=True)
class Rule:
    """Log the queries for ``name`` (and below) whose reply is in one of ``classes``."""

    name: str = "."
    format: str = COMMON_LOG_FORMAT
    classes: frozenset[Class] = frozenset({Class.ALL})
    #: also log replies slower than this many seconds (0: off)
    min_duration: float = 0.0
    replacer: Replacer = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "replacer", Replacer(self.format))

    def matches(self, qname: str) -> bool:
        n = self.name
        return n == "." or qname == n or qname.endswith("." + n)


@dataclass(slots=True)
class Logger:
    rules: tuple[Rule, ...] = (Rule(),)
    next: Handler | None = None
    name: str = NAME
    clock: Callable[[], float] = time.monotonic

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        qname = req.qname
        for rule in self.rules:
            if rule.matches(qname):
                return await self._serve(rule, w, req)
        return await next_or_failure(NAME, self.next, w, req)

    async def _serve(self, rule: Rule, w: ResponseWriter, req: Request) -> int:
        rec = Recorder(w)
        rec.start = start = self.clock()
        rc = -1  # stays -1 only when the query is cancelled: nothing to log
        try:
            rc = await next_or_failure(NAME, self.next, rec, req)
            return rc
        except PluginError as e:
            rc = e.rcode
            raise
        except Exception:
            rc = dns.rcode.SERVFAIL  # a plugin bug: the server answers SERVFAIL
            raise
        finally:
            if rc >= 0:
                self._log(rule, req, rec, rc, self.clock() - start)

    def _log(self, rule: Rule, req: Request, rec: Recorder, rc: int, duration: float) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        if not rec.wrote:
            rec.rcode = rc
            if not client_wrote(rc):
                # the server writes this error reply after us: log it as it will go out
                rec.msg = make_reply(req.msg, rc)
                rec.len = len(finalize(req, rec.msg))
        ok = Class.ALL in rule.classes or classify(typify(rec.msg, do=req.do)) in rule.classes
        if not ok and rule.min_duration > 0:
            ok = duration > rule.min_duration
        if ok:
            log.info(rule.replacer.replace(req, rec, duration))

    def wire_pass(self, q: WireQuery) -> bool:
        """True unless the query's rule logs something only the full path knows (``{local}``)."""
        rule = self._rule(q.qname)
        return rule is None or wire.fillable(rule.format)

    def wire_done(self, q: WireQuery, reply: bytearray, rcode: int) -> None:
        """Log the cache hit with the line, and under the filters, of the full path."""
        rule = self._rule(q.qname)
        if rule is None or not log.isEnabledFor(logging.INFO):
            return
        duration = time.monotonic() - q.start
        ok = Class.ALL in rule.classes or wire.reply_class(q, reply, rcode) in rule.classes
        if not ok and rule.min_duration > 0:
            ok = duration > rule.min_duration
        if ok:
            log.info(wire.line(rule.replacer, q, reply, rcode, duration))

    def _rule(self, qname: str) -> Rule | None:
        for rule in self.rules:
            if rule.matches(qname):
                return rule
        return None
