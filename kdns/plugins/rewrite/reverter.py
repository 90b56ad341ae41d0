"""The writer wrapper that turns a reply to the rewritten query into a reply to the asked one.

It copies the reply (never changes the one it is given), puts the original question back and runs
the response rules in reverse order: message rules (cname, rcode) first, then per-record rules
(owner names, pointed-to names, TTLs) over the answer, authority and additional sections.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.rrset

from kdns.plugins.rewrite.rules import (
    CnameResponse,
    NameResponse,
    RcodeResponse,
    ResponseRule,
    StringRewriter,
    TTLResponse,
    ValueResponse,
)
from kdns.writer import ResponseWriter, WriterWrapper

#: resolve (name, qtype) through the rest of the chain; None when nothing was written
Lookup = Callable[[str, int], Awaitable[dns.message.Message | None]]

#: the rdata field holding the name a record points to, per type
VALUE_FIELDS: dict[int, str] = {
    dns.rdatatype.CNAME: "target",
    dns.rdatatype.DNAME: "target",
    dns.rdatatype.NS: "target",
    dns.rdatatype.SRV: "target",
    dns.rdatatype.MX: "exchange",
    dns.rdatatype.NAPTR: "replacement",
    dns.rdatatype.SOA: "mname",
}


def copy_reply(msg: dns.message.Message, question: list[dns.rrset.RRset]) -> dns.message.Message:
    """A new message with ``msg``'s header, sections (lists copied, RRsets shared) and EDNS."""
    out = dns.message.Message(id=msg.id)
    out.flags = msg.flags
    out.question = list(question)
    out.answer = list(msg.answer)
    out.authority = list(msg.authority)
    out.additional = list(msg.additional)
    if msg.edns >= 0:
        out.use_edns(msg.edns, msg.ednsflags, msg.payload, options=list(msg.options))
    return out


class Reverter(WriterWrapper):
    """Restores the question and applies ``rules`` (in reverse) to what the chain writes."""

    __slots__ = ("lookup", "qtype", "question", "rules", "wrote")

    def __init__(
        self,
        inner: ResponseWriter,
        question: list[dns.rrset.RRset],
        rules: Sequence[ResponseRule],
        *,
        qtype: int,
        lookup: Lookup,
    ) -> None:
        super().__init__(inner)
        self.question = question
        self.rules = tuple(reversed(rules))
        self.qtype = qtype
        self.lookup = lookup
        self.wrote = False

    async def write_msg(self, msg: dns.message.Message) -> int:
        self.wrote = True
        out = copy_reply(msg, self.question)
        if self.rules:
            await self.revert(out)
        return await self.inner.write_msg(out)

    async def revert(self, out: dns.message.Message) -> None:
        rules = self.rules
        for r in rules:
            if isinstance(r, CnameResponse):
                await self._cname(out, r)
            elif isinstance(r, RcodeResponse) and out.rcode() == r.old:
                out.set_rcode(dns.rcode.Rcode.make(r.new))
        names = [r.rewriter for r in rules if isinstance(r, NameResponse)]
        values = [r.rewriter for r in rules if isinstance(r, ValueResponse)]
        ttls = [r for r in rules if isinstance(r, TTLResponse)]
        if names or values or ttls:
            out.answer = rewrite_section(out.answer, names, values, ttls)
            out.authority = rewrite_section(out.authority, names, values, ttls)
            out.additional = rewrite_section(out.additional, names, values, ttls)

    async def _cname(self, out: dns.message.Message, rule: CnameResponse) -> None:
        """Point the first matching CNAME elsewhere and answer with the new target's records."""
        to = None
        for rrset in out.answer:
            if rrset.rdtype == dns.rdatatype.CNAME:
                for rd in rrset:
                    to = rule.match.replace(rd.target.to_text().lower())
                    if to is not None:
                        break
            if to is not None:
                break
        if to is None:
            return
        try:
            target = dns.name.from_text(to)
        except dns.exception.DNSException:
            return
        upstream = await self.lookup(to, self.qtype)
        if upstream is None:
            return
        answer = []
        for rrset in out.answer:
            if rrset.rdtype == dns.rdatatype.CNAME:
                rds = [rd.replace(target=target) for rd in rrset]
                answer.append(dns.rrset.from_rdata_list(rrset.name, rrset.ttl, rds))
        answer.extend(rrset for rrset in upstream.answer if rrset.name == target)
        out.answer = answer
        if upstream.flags & dns.flags.TC:
            out.flags |= dns.flags.TC


def _apply(rewriters: Sequence[StringRewriter], s: str) -> str:
    for r in rewriters:
        s = r.rewrite(s)
    return s


def rewrite_section(
    section: list[dns.rrset.RRset],
    names: Sequence[StringRewriter],
    values: Sequence[StringRewriter],
    ttls: Sequence[TTLResponse],
) -> list[dns.rrset.RRset]:
    """``section`` with owners, pointed-to names and TTLs rewritten; unchanged RRsets are kept."""
    out = []
    for rrset in section:
        owner = rrset.name
        if names:
            text = owner.to_text()
            new = _apply(names, text)
            parsed = _name(new) if new != text else None
            if parsed is not None:
                owner = parsed
        ttl = rrset.ttl
        for t in ttls:
            ttl = t.clamp(ttl)
        rds: list[dns.rdata.Rdata] = list(rrset)
        field = VALUE_FIELDS.get(rrset.rdtype) if values else None
        changed = False
        if field is not None:
            for i, rd in enumerate(rds):
                text = getattr(rd, field).to_text()
                new = _apply(values, text)
                if new != text:
                    target = _name(new)
                    if target is not None:
                        rds[i] = rd.replace(**{field: target})
                        changed = True
        if owner is rrset.name and ttl == rrset.ttl and not changed:
            out.append(rrset)
            continue
        out.append(dns.rrset.from_rdata_list(owner, ttl, rds))
    return out


def _name(text: str) -> dns.name.Name | None:
    """``text`` as a name; None when it is not a valid one (the record keeps its name)."""
    try:
        return dns.name.from_text(text)
    except dns.exception.DNSException:
        return None
