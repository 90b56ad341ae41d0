"""The acl handler: the first matching policy of the first rule whose zones hold the name decides."""

from __future__ import annotations

from dataclasses import dataclass

import dns.edns
import dns.rcode

from kdns.plugin import Handler, next_or_failure
from kdns.plugins.acl import metrics
from kdns.plugins.acl.policy import Action, Rule, source_ip
from kdns.request import Request, make_reply
from kdns.writer import ResponseWriter

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


def _reply(req: Request, rcode: int, ede: dns.edns.EDECode) -> dns.message.Message:
    """An empty reply with ``rcode`` and an Extended DNS Error (sent only to EDNS clients)."""
    reply = make_reply(req.msg, rcode)
    if req.msg.edns >= 0:
        reply.use_edns(0, options=[dns.edns.EDEOption(ede)])
    return reply
