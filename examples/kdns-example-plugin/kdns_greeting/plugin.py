"""The greeting handler: a TXT answer for one name, everything else to the next plugin."""

from __future__ import annotations

from dataclasses import dataclass

import dns.flags
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from kdns.plugin import Handler, next_or_failure
from kdns.request import Request
from kdns.writer import ResponseWriter
from kdns_greeting.metrics import answers

NAME = "greeting"


@dataclass(slots=True)
class Greeting:
    #: the name answered, lower-case and fully qualified
    owner: str
    #: the TXT RRset, built once at setup and shared by every reply (never changed)
    txt: dns.rrset.RRset
    next: Handler | None = None
    name: str = NAME

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        if req.qname != self.owner or req.qtype != dns.rdatatype.TXT or req.qclass != dns.rdataclass.IN:
            return await next_or_failure(NAME, self.next, w, req)
        reply = req.reply()
        reply.flags |= dns.flags.AA
        reply.answer = [self.txt]
        await w.write_msg(reply)
        answers[(req.server,)].inc()
        return dns.rcode.NOERROR
