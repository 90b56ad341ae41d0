"""Section order shared by the round-robin and weighted policies (pure, nothing given is changed)."""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence

import dns.rdatatype
import dns.rrset

CNAME = dns.rdatatype.CNAME
A = dns.rdatatype.A
AAAA = dns.rdatatype.AAAA
MX = dns.rdatatype.MX

#: a reordered copy of an RRset, or None when its order stays
Reorder = Callable[[dns.rrset.RRset], dns.rrset.RRset | None]


def reordered(rrset: dns.rrset.RRset, rdatas: Sequence[object]) -> dns.rrset.RRset:
    """A copy of ``rrset`` holding the same rdatas in the order given."""
    n = rrset.copy()
    n.items = dict.fromkeys(rdatas)  # a Set keeps its members as dict keys, in order
    return n


def regroup(section: list[dns.rrset.RRset], reorder: Reorder, kinds: Container[int]) -> list[dns.rrset.RRset] | None:
    """CNAMEs, then other RRsets, then A/AAAA, then MX; None if unchanged.

    Each RRset of a type in ``kinds`` with more than one record goes through ``reorder``.
    """
    cname: list[dns.rrset.RRset] = []
    rest: list[dns.rrset.RRset] = []
    address: list[dns.rrset.RRset] = []
    mx: list[dns.rrset.RRset] = []
    moved = False
    for rrset in section:
        t = rrset.rdtype
        if t in kinds and len(rrset) > 1:
            new = reorder(rrset)
            if new is not None:
                rrset, moved = new, True
        if t == CNAME:
            cname.append(rrset)
        elif t in (A, AAAA):
            address.append(rrset)
        elif t == MX:
            mx.append(rrset)
        else:
            rest.append(rrset)
    out = cname + rest + address + mx
    if not moved and all(a is b for a, b in zip(out, section, strict=True)):
        return None
    return out
