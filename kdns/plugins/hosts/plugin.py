"""The hosts handler: A, AAAA and PTR answers from hosts-file tables, authoritatively."""

from __future__ import annotations

from dataclasses import dataclass, field

import dns.flags
import dns.rcode
import dns.rdatatype
import dns.rrset

from kdns.pkg.fall import NEVER, Fall
from kdns.plugin import Handler, next_or_failure
from kdns.plugins.hosts.hostsfile import HostsFile
from kdns.request import Request
from kdns.writer import ResponseWriter

NAME = "hosts"

A = dns.rdatatype.A
AAAA = dns.rdatatype.AAAA
PTR = dns.rdatatype.PTR


@dataclass(slots=True)
class Hosts:
    data: HostsFile
    #: zones the plugin is authoritative for (lower-case FQDNs)
    origins: tuple[str, ...] = (".",)
    fall: Fall = NEVER
    #: also hand on unsupported types for names that exist (within ``fall``'s zones)
    fall_unsupported: bool = False
    next: Handler | None = None
    name: str = NAME
    _zones: Fall = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._zones = Fall(self.origins)  # the same suffix test, precomputed

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        qname = req.qname
        qtype = req.qtype
        tables = self.data.tables
        if qtype == PTR:
            # reverse names need not be in the origins; an unknown address always goes on
            ptr = tables.reverse(qname)
            if ptr is None:
                return await next_or_failure(NAME, self.next, w, req)
            return await self._answer(w, req, ptr)
        if not self._zones.through(qname):
            return await next_or_failure(NAME, self.next, w, req)
        supported = qtype in (A, AAAA)
        if supported:
            rrset = tables.address(qname, qtype)
            if rrset is not None:
                return await self._answer(w, req, rrset)
        exists = tables.exists(qname)
        if exists:
            if not supported and self.fall_unsupported and self.fall.through(qname):
                return await next_or_failure(NAME, self.next, w, req)
        elif self.fall.through(qname):
            return await next_or_failure(NAME, self.next, w, req)
        # NODATA for a known name, NXDOMAIN (without SOA: there is no zone) for an unknown one
        reply = req.reply()
        reply.flags |= dns.flags.AA
        if not exists:
            reply.set_rcode(dns.rcode.NXDOMAIN)
        await w.write_msg(reply)
        return reply.rcode()

    @staticmethod
    async def _answer(w: ResponseWriter, req: Request, rrset: dns.rrset.RRset) -> int:
        reply = req.reply()
        reply.flags |= dns.flags.AA
        reply.answer = [rrset.copy()]  # the tables keep theirs: a later plugin may change this one
        await w.write_msg(reply)
        return dns.rcode.NOERROR
