"""``Case``: a query and the reply it must get, checked header first, then each section."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from kdns.request import Request


def _rc(rcode: int) -> str:
    return dns.rcode.to_text(dns.rcode.Rcode.make(rcode))


def rr(text: str) -> dns.rrset.RRset:
    """One RR from zone-file text: ``"example.org. 3600 IN A 10.0.0.1"``."""
    parts = text.split(None, 4)
    if len(parts) < 5:
        raise ValueError(f"need 'NAME TTL CLASS TYPE RDATA': {text!r}")
    name, ttl, cls, typ, rdata = parts
    return dns.rrset.from_text(name, int(ttl), cls, typ, rdata)


def _flat(rrsets: Sequence[dns.rrset.RRset], ignore_ttl: bool) -> list[str]:
    out = []
    for rrset in rrsets:
        if rrset.rdtype == dns.rdatatype.OPT:
            continue
        for rd in rrset:
            ttl = "" if ignore_ttl else str(rrset.ttl)
            out.append(
                f"{rrset.name.to_text()} {ttl} {dns.rdataclass.to_text(rrset.rdclass)} "
                f"{dns.rdatatype.to_text(rrset.rdtype)} {rd.to_text()}"
            )
    return out


def sort_section(rrsets: Sequence[dns.rrset.RRset], ignore_ttl: bool = False) -> list[str]:
    """A section as sorted text lines (one per RR), for order-insensitive comparison."""
    return sorted(_flat(rrsets, ignore_ttl))


@dataclass(frozen=True)
class Case:
    qname: str
    qtype: str | int = "A"
    rcode: int = dns.rcode.NOERROR
    do: bool = False
    answer: Sequence[str] = ()
    ns: Sequence[str] = ()
    extra: Sequence[str] = ()
    authoritative: bool | None = None
    truncated: bool | None = None
    ignore_ttl: bool = False
    qclass: str = "IN"
    #: keep the answer section's order (default: compare sorted)
    ordered: bool = False

    def __str__(self) -> str:
        t = (
            self.qtype
            if isinstance(self.qtype, str)
            else dns.rdatatype.to_text(dns.rdatatype.RdataType.make(self.qtype))
        )
        return f"{self.qname}/{t}"

    def msg(self) -> dns.message.Message:
        qtype = self.qtype if isinstance(self.qtype, str) else dns.rdatatype.RdataType.make(self.qtype)
        m = dns.message.make_query(self.qname, qtype, self.qclass, use_edns=0 if self.do else None, want_dnssec=self.do)
        return m

    def request(self, *, proto: str = "udp", remote: str = "10.240.0.1", port: int = 40212) -> Request:
        return Request(self.msg(), remote=(remote, port), local=("127.0.0.1", 53), proto=proto)

    def check(self, rcode: int, msg: dns.message.Message | None) -> None:
        """Assert ``msg`` (what the handler wrote) is the reply this case expects."""
        assert msg is not None, f"{self}: nothing was written (handler returned {_rc(rcode)})"
        assert msg.rcode() == self.rcode, f"{self}: rcode {_rc(msg.rcode())}, want {_rc(self.rcode)}"
        if self.authoritative is not None:
            assert bool(msg.flags & dns.flags.AA) == self.authoritative, f"{self}: AA flag"
        if self.truncated is not None:
            assert bool(msg.flags & dns.flags.TC) == self.truncated, f"{self}: TC flag"
        for section, got, want in (
            ("answer", msg.answer, self.answer),
            ("ns", msg.authority, self.ns),
            ("extra", msg.additional, self.extra),
        ):
            wanted = [rr(t) for t in want]
            if section == "answer" and self.ordered:
                assert _flat(got, self.ignore_ttl) == _flat(wanted, self.ignore_ttl), f"{self}: {section}"
            else:
                assert sort_section(got, self.ignore_ttl) == sort_section(wanted, self.ignore_ttl), f"{self}: {section}"
