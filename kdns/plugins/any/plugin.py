"""The any handler: ANY gets one HINFO "ANY obsoleted" "See RFC 8482"; other types go on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.HINFO
import dns.rrset

from kdns.plugin import Handler, next_or_failure
from kdns.request import Request
from kdns.writer import ResponseWriter

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery

NAME = "any"
TTL = 8482
HINFO = dns.rdtypes.ANY.HINFO.HINFO(dns.rdataclass.IN, dns.rdatatype.HINFO, b"ANY obsoleted", b"See RFC 8482")


@dataclass(slots=True)
class Any:
    next: Handler | None = None
    name: str = NAME

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        if req.qtype != dns.rdatatype.ANY:
            return await next_or_failure(NAME, self.next, w, req)
        reply = req.reply()
        rrset = dns.rrset.RRset(req.msg.question[0].name, dns.rdataclass.IN, dns.rdatatype.HINFO)
        rrset.update_ttl(TTL)
        rrset.add(HINFO)
        reply.answer = [rrset]
        await w.write_msg(reply)
        return 0

    def wire_pass(self, q: WireQuery) -> bool:
        """ANY is answered here (full path); other types may come from the cache."""
        return q.qtype != dns.rdatatype.ANY

    def wire_done(self, q: WireQuery, reply: bytearray, rcode: int) -> None:
        return None
