"""Reordering of reply sections (pure): round-robin shuffle and preferred subnets.

Works on dnspython RRsets: records of one RRset are shuffled among themselves, and the RRsets of a
section are grouped CNAME first (glibc and other stub resolvers want the chain before addresses).
Nothing given is changed: a new message is returned when anything moves.
"""

from __future__ import annotations

import copy
import ipaddress
import random
from collections.abc import Callable, Sequence

import dns.message
import dns.rdatatype
import dns.rrset

from kdns.plugins.loadbalance.sections import AAAA, CNAME, MX, A, regroup, reordered
from kdns.plugins.loadbalance.weighted import WeightFile, weighted

AXFR = dns.rdatatype.AXFR
IXFR = dns.rdatatype.IXFR
SRV = dns.rdatatype.SRV
#: the types round robin shuffles
SHUFFLED = frozenset((A, AAAA, MX))

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Shuffle = Callable[[list[object]], None]


def round_robin(section: list[dns.rrset.RRset], shuffle: Shuffle = random.shuffle) -> list[dns.rrset.RRset] | None:
    """CNAMEs, then other RRsets, then A/AAAA, then MX, each A/AAAA/MX RRset shuffled; None if unchanged."""

    def reorder(rrset: dns.rrset.RRset) -> dns.rrset.RRset:
        items: list[object] = list(rrset)
        shuffle(items)
        return reordered(rrset, items)

    return regroup(section, reorder, SHUFFLED)


def _rank(rd: object, subnets: Sequence[Network]) -> int:
    ip = ipaddress.ip_address(rd.address)  # type: ignore[attr-defined]
    for i, net in enumerate(subnets):
        if ip.version == net.version and ip in net:
            return i
    return len(subnets)


def prefer(section: list[dns.rrset.RRset], subnets: Sequence[Network]) -> list[dns.rrset.RRset] | None:
    """Addresses in ``subnets`` first (earlier subnets first, stable otherwise); None if unchanged.

    Section order becomes CNAME, A/AAAA, MX, the rest (as CoreDNS's prefer does).
    """
    cname: list[dns.rrset.RRset] = []
    address: list[tuple[int, int, dns.rrset.RRset]] = []
    mx: list[dns.rrset.RRset] = []
    rest: list[dns.rrset.RRset] = []
    for pos, rrset in enumerate(section):
        t = rrset.rdtype
        if t == CNAME:
            cname.append(rrset)
        elif t in (A, AAAA):
            ranked = sorted(((_rank(rd, subnets), i, rd) for i, rd in enumerate(rrset)), key=lambda x: (x[0], x[1]))
            if [i for _, i, _ in ranked] != list(range(len(ranked))):
                rrset = reordered(rrset, [rd for _, _, rd in ranked])
            address.append((ranked[0][0] if ranked else len(subnets), pos, rrset))
        elif t == MX:
            mx.append(rrset)
        else:
            rest.append(rrset)
    address.sort(key=lambda x: (x[0], x[1]))
    out = cname + [r for _, _, r in address] + mx + rest
    if all(a is b for a, b in zip(out, section, strict=True)):
        return None
    return out


class Policy:
    """What loadbalance does to a reply: shuffle (or weighted pick), then prefer subnets."""

    __slots__ = ("randrange", "shuffle", "subnets", "weights")

    def __init__(
        self,
        subnets: Sequence[Network] = (),
        shuffle: Shuffle = random.shuffle,
        weights: WeightFile | None = None,
        randrange: Callable[[int], int] = random.randrange,
    ) -> None:
        self.subnets = tuple(subnets)
        self.shuffle = shuffle
        #: the weighted policy's weights; None means round robin
        self.weights = weights
        self.randrange = randrange

    def apply(self, msg: dns.message.Message) -> dns.message.Message:
        """``msg`` reordered (a copy), or ``msg`` itself when it is not a success or nothing moves."""
        if msg.flags & 0xF or msg.ednsflags & 0xFF000000 or not msg.question:  # rcode is not NOERROR
            return msg
        qtype = msg.question[0].rdtype
        if qtype in (AXFR, IXFR):
            return msg
        sections: list[list[dns.rrset.RRset]] = list(msg.sections)
        changed = False
        if self.weights is None:
            for i in (1, 2, 3):
                new = round_robin(sections[i], self.shuffle)
                if new is not None:
                    sections[i], changed = new, True
        elif qtype in (A, AAAA, SRV):
            for i in (1, 3):
                new = weighted(sections[i], self.weights.domains, self.randrange)
                if new is not None:
                    sections[i], changed = new, True
        if self.subnets:
            for i in (1, 3):
                new = prefer(sections[i], self.subnets)
                if new is not None:
                    sections[i], changed = new, True
        if not changed:
            return msg
        return _with_sections(msg, sections)


def _with_sections(msg: dns.message.Message, sections: list[list[dns.rrset.RRset]]) -> dns.message.Message:
    """A shallow copy of ``msg`` with new section lists (RRsets are shared, never changed)."""
    out = copy.copy(msg)
    out.sections = [list(s) for s in sections]
    out.wire = None
    # no index: find_rrset then scans the sections (dnspython supports this), cheaper than rebuilding one
    out.index = None  # type: ignore[assignment]
    return out
