"""The local handler: fixed answers for localhost names and the 0, 127 and 255 in-addr.arpa zones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.NS
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.SOA
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.rrset

from kdns.log import plugin_logger
from kdns.plugin import Handler, next_or_failure
from kdns.plugins.local.metrics import LOCALHOST_REQUESTS
from kdns.request import Request
from kdns.writer import ResponseWriter

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery

NAME = "local"
TTL = 604800
ZONES = ("localhost.", "0.in-addr.arpa.", "127.in-addr.arpa.", "255.in-addr.arpa.")
LOOPBACK_PTR = "1.0.0.127.in-addr.arpa."
_BELOW = tuple("." + z for z in ZONES)
log = plugin_logger(NAME)

_IN = dns.rdataclass.IN
_LOCALHOST = dns.name.from_text("localhost.")
_A = dns.rdtypes.IN.A.A(_IN, dns.rdatatype.A, "127.0.0.1")
_AAAA = dns.rdtypes.IN.AAAA.AAAA(_IN, dns.rdatatype.AAAA, "::1")
_NS = dns.rdtypes.ANY.NS.NS(_IN, dns.rdatatype.NS, _LOCALHOST)
_PTR = dns.rdtypes.ANY.PTR.PTR(_IN, dns.rdatatype.PTR, _LOCALHOST)
_SOA = dns.rdtypes.ANY.SOA.SOA(
    _IN, dns.rdatatype.SOA, _LOCALHOST, dns.name.from_text("root.localhost."), 1, 0, 0, 0, TTL
)


def _rrset(owner: dns.name.Name, rd: dns.rdata.Rdata) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(owner, _IN, rd.rdtype)
    rrset.update_ttl(TTL)
    rrset.add(rd)
    return rrset


@dataclass(slots=True)
class Local:
    next: Handler | None = None
    name: str = NAME
    #: also answer the legacy ``localhost.<domain>`` names (search-path expansions of "localhost")
    localhost_prefix: bool = True

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        qname = req.qname
        under = qname.endswith(".localhost.")
        if under or (self.localhost_prefix and qname.startswith("localhost.") and qname != "localhost."):
            log.debug("intercepting localhost query for %r %s, from %s", qname, req.type_text, req.ip)
            LOCALHOST_REQUESTS.inc()
            await w.write_msg(_loopback(req, under))
            return 0

        if qname in ZONES:
            zone = qname
        elif qname.endswith(_BELOW):
            zone = next(z for z in ZONES if qname.endswith("." + z))
        else:
            return await next_or_failure(NAME, self.next, w, req)

        owner = req.msg.question[0].name
        # the zone apex keeps the query's case, as the owner does
        apex = dns.name.Name(owner.labels[len(owner.labels) - zone.count(".") - 1 :])
        reply = req.reply()
        qtype = req.qtype
        if qname in ZONES:
            if qtype == dns.rdatatype.A and qname == "localhost.":
                reply.answer = [_rrset(owner, _A)]
            elif qtype == dns.rdatatype.AAAA and qname == "localhost.":
                reply.answer = [_rrset(owner, _AAAA)]
            elif qtype == dns.rdatatype.SOA:
                reply.answer = [_rrset(owner, _SOA)]
            elif qtype == dns.rdatatype.NS:
                reply.answer = [_rrset(owner, _NS)]
            else:
                reply.authority = [_rrset(owner, _SOA)]  # NODATA
        elif qname == LOOPBACK_PTR:
            if qtype == dns.rdatatype.PTR:
                reply.answer = [_rrset(owner, _PTR)]
            else:
                reply.authority = [_rrset(apex, _SOA)]  # NODATA
        else:
            reply.authority = [_rrset(apex, _SOA)]
            reply.set_rcode(dns.rcode.NXDOMAIN)
        await w.write_msg(reply)
        return 0

    def wire_pass(self, q: WireQuery) -> bool:
        """False for the names answered here (they take the full path), True for all others."""
        qname = q.qname
        if qname in ZONES or qname.endswith(_BELOW):
            return False
        return not (self.localhost_prefix and qname.startswith("localhost."))

    def wire_done(self, q: WireQuery, reply: bytearray, rcode: int) -> None:
        return None


def _loopback(req: Request, under: bool) -> dns.message.Message:
    """A/AAAA loopback for a localhost name; NODATA for other types, with the SOA of localhost.
    for names under it and of the name itself for a legacy ``localhost.<domain>``."""
    owner = req.msg.question[0].name
    reply = req.reply()
    if req.qtype == dns.rdatatype.A:
        reply.answer = [_rrset(owner, _A)]
    elif req.qtype == dns.rdatatype.AAAA:
        reply.answer = [_rrset(owner, _AAAA)]
    else:
        apex = dns.name.Name(owner.labels[-2:]) if under else owner
        reply.authority = [_rrset(apex, _SOA)]
    return reply
