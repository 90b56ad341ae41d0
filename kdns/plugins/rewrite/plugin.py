"""The rewrite handler: apply the request rules in line order, hand on, revert the reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import dns.message
import dns.rcode

from kdns.errors import PluginError
from kdns.plugin import Handler, client_wrote, next_or_failure
from kdns.plugins.rewrite.reverter import Reverter
from kdns.plugins.rewrite.rules import NAME, STOP, RcodeResponse, ResponseRule, Rule
from kdns.plugins.rewrite.wire import touches
from kdns.request import Request, make_reply
from kdns.writer import ResponseWriter

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery


class _Capture:
    """A writer that keeps the reply instead of sending it (internal lookups of cname rules)."""

    __slots__ = ("local", "msg", "proto", "remote")

    def __init__(self, w: ResponseWriter) -> None:
        self.remote = w.remote
        self.local = w.local
        self.proto = w.proto
        self.msg: dns.message.Message | None = None

    async def write_msg(self, msg: dns.message.Message) -> int:
        self.msg = msg
        return 0


@dataclass(slots=True)
class Rewrite:
    rules: tuple[Rule, ...] = ()
    next: Handler | None = None
    name: str = NAME

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        cur = req
        responses: list[ResponseRule] = []
        for rule in self.rules:
            applied = rule.apply(cur)
            if applied is None:
                continue
            cur, more = applied
            responses.extend(more)
            if rule.mode == STOP:
                break
        if cur is req and not responses:
            return await next_or_failure(NAME, self.next, w, req)

        async def lookup(name: str, qtype: int) -> dns.message.Message | None:
            cap = _Capture(w)
            try:
                await next_or_failure(NAME, self.next, cap, cur.with_question(name, qtype))
            except PluginError:
                return None
            return cap.msg

        rw = Reverter(w, req.msg.question, responses, qtype=cur.qtype, lookup=lookup)
        try:
            rcode = await next_or_failure(NAME, self.next, rw, cur)
        except PluginError as e:
            if not _maps(responses, e.rcode):
                raise
            rcode = e.rcode
        if client_wrote(rcode) or rw.wrote or not _maps(responses, rcode):
            return rcode
        # the chain left an error reply to the server: write it here so rcode rules apply to it
        reply = make_reply(req.msg, rcode)
        await rw.write_msg(reply)
        return _mapped(responses, rcode)

    def wire_pass(self, q: WireQuery) -> bool:
        """True only when no rule applies to the query: then rewrite changes nothing, cache hit or not."""
        qname, qtype, qclass = q.qname, q.qtype, q.qclass
        return not any(touches(rule, qname, qtype, qclass) for rule in self.rules)

    def wire_done(self, q: WireQuery, reply: bytearray, rcode: int) -> None:
        return None


def _maps(responses: list[ResponseRule], rcode: int) -> bool:
    return any(isinstance(r, RcodeResponse) and r.old == rcode for r in responses)


def _mapped(responses: list[ResponseRule], rcode: int) -> int:
    for r in reversed(responses):
        if isinstance(r, RcodeResponse) and r.old == rcode:
            rcode = r.new
    return dns.rcode.Rcode.make(rcode)
