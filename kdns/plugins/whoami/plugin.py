"""The whoami handler."""

from __future__ import annotations

from dataclasses import dataclass

import dns.flags
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.rdtypes.IN.SRV
import dns.rrset

from kdns.plugin import Handler
from kdns.request import Request
from kdns.writer import ResponseWriter

NAME = "whoami"


@dataclass(slots=True)
class Whoami:
    next: Handler | None = None
    name: str = NAME

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        reply = req.reply()
        reply.flags |= dns.flags.AA
        owner = req.msg.question[0].name
        ip, port = w.remote
        if ":" in ip:
            addr = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.AAAA)
            addr.add(dns.rdtypes.IN.AAAA.AAAA(dns.rdataclass.IN, dns.rdatatype.AAAA, ip))
        else:
            addr = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.A)
            addr.add(dns.rdtypes.IN.A.A(dns.rdataclass.IN, dns.rdatatype.A, ip))
        srv_owner = dns.name.Name((b"_" + w.proto.encode(), *owner.labels))
        srv = dns.rrset.RRset(srv_owner, dns.rdataclass.IN, dns.rdatatype.SRV)
        srv.add(dns.rdtypes.IN.SRV.SRV(dns.rdataclass.IN, dns.rdatatype.SRV, 0, 0, port, dns.name.root))
        reply.additional = [addr, srv]
        await w.write_msg(reply)
        return 0
