"""The acl handler: the first matching policy of the first rule whose zones hold the name decides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import dns.edns
import dns.rcode

from kdns.plugin import Handler, next_or_failure
from kdns.plugins.acl import metrics
from kdns.plugins.acl.policy import Action, Rule, source_ip
from kdns.request import Request, make_reply
from kdns.writer import ResponseWriter

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery

NAME = "acl"


@dataclass(slots=True)
class ACL:
    rules: tuple[Rule, ...] = ()
    next: Handler | None = None
    name: str = NAME

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        ip = None
        parsed = False
        for rule in self.rules:
            zone = rule.zone(req.qname)
            if zone is None:
                continue
            if not parsed:
                ip, parsed = source_ip(req.ip), True
            action = rule.action(req.qtype, ip)
            if action is None:
                continue
            if action is Action.ALLOW:
                break
            labels = (req.server, zone, req.view)
            if action is Action.DROP:
                metrics.dropped[labels].inc()
                return dns.rcode.NOERROR  # nothing written, and the server writes nothing either
            if action is Action.BLOCK:
                await w.write_msg(_reply(req, dns.rcode.REFUSED, dns.edns.EDECode.BLOCKED))
                metrics.blocked[labels].inc()
            else:
                await w.write_msg(_reply(req, dns.rcode.NOERROR, dns.edns.EDECode.FILTERED))
                metrics.filtered[labels].inc()
            return dns.rcode.NOERROR
        metrics.allowed[(req.server, req.view)].inc()
        return await next_or_failure(NAME, self.next, w, req)

    def wire_pass(self, q: WireQuery) -> bool:
        """True when the query is allowed (first matching policy allows, or none matches).

        Block, filter and drop take the full path, which answers and counts them.
        """
        ip = None
        parsed = False
        for rule in self.rules:
            if rule.zone(q.qname) is None:
                continue
            if not parsed:
                ip, parsed = source_ip(q.remote[0]), True
            action = rule.action(q.qtype, ip)
            if action is not None:
                return action is Action.ALLOW
        return True

    def wire_done(self, q: WireQuery, reply: bytearray, rcode: int) -> None:
        # counted here, not in wire_pass: a cache miss goes down the full path, which counts it there
        metrics.allowed[(q.server, q.view)].inc()


def _reply(req: Request, rcode: int, ede: dns.edns.EDECode) -> dns.message.Message:
    """An empty reply with ``rcode`` and an Extended DNS Error (sent only to EDNS clients)."""
    reply = make_reply(req.msg, rcode)
    if req.msg.edns >= 0:
        reply.use_edns(0, options=[dns.edns.EDEOption(ede)])
    return reply
