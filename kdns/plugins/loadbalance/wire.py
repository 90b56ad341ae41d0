"""Round robin and prefer on reply bytes, for cache hits answered from bytes (``wire_done``).

The common reply (CNAMEs, then one A or AAAA set, maybe glue) needs no record to move between sets:
the addresses of each set swap places as 4- or 16-byte rdata chunks, owners and TTLs stay where they
are, so no compression pointer changes meaning. Anything else that would change (sets to regroup,
several MX records, whose rdata other names may point into) goes through dnspython and ``Policy.apply``,
as on the full path.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import dns.message
import dns.rdatatype

from kdns.core.wire import PARSE_ERRORS, finalize
from kdns.pkg import wirerecords
from kdns.plugins.loadbalance.shuffle import Policy
from kdns.request import Request

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery

A, AAAA, CNAME, MX = dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.CNAME, dns.rdatatype.MX
RRSIG, OPT = dns.rdatatype.RRSIG, dns.rdatatype.OPT
_XFR = (dns.rdatatype.AXFR, dns.rdatatype.IXFR)
_TC = 0x02  # in the third header byte
#: the order round robin leaves the sets of a section in: CNAME, other, A/AAAA, MX
_CNAME, _OTHER, _ADDRESS, _MX = 0, 1, 2, 3
#: the authority section's index (prefer leaves it alone)
_AUTHORITY = 1
#: a plan: (section, rdata size, rdata offsets of one address set), in the order the full path shuffles
Plan = list[tuple[int, int, list[int]]]
_FIXED = struct.Struct("!HHIH")


def _rank_of(rtype: int) -> int:
    if rtype == CNAME:
        return _CNAME
    if rtype in (A, AAAA):
        return _ADDRESS
    return _MX if rtype == MX else _OTHER


class WireBalance:
    """What ``Policy.apply`` does to a reply, done on its bytes (round robin and prefer only)."""

    __slots__ = ("nets", "policy", "v4", "v6")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.nets = len(policy.subnets)
        #: (index, network, mask) as integers, per family
        nets = [(i, int(n.network_address), int(n.netmask), n.version) for i, n in enumerate(policy.subnets)]
        self.v4 = tuple((i, net, mask) for i, net, mask, v in nets if v == 4)
        self.v6 = tuple((i, net, mask) for i, net, mask, v in nets if v == 6)

    def apply(self, q: WireQuery, reply: bytearray, rcode: int) -> None:
        """Reorder ``reply`` in place as the full path would reorder the same reply."""
        if rcode or q.qtype in _XFR:
            return
        try:
            _, an, ns, ar = wirerecords.counts(reply)
            if an < 2 and ns < 2 and ar - q.edns < 2:
                return  # no section with two records: nothing can move
            plan = self._plan(reply, (an, ns, ar))
        except wirerecords.ERRORS:
            return  # not for us to judge: the client gets the bytes as the cache made them
        if plan is None:
            self._rebuild(q, reply)
            return
        for section, size, offsets in plan:
            chunks = [bytes(reply[o : o + size]) for o in offsets]
            self.policy.shuffle(chunks)  # type: ignore[arg-type]
            if self.nets and section != _AUTHORITY:
                chunks = self._preferred(chunks)
            for o, chunk in zip(offsets, chunks, strict=True):
                reply[o : o + size] = chunk

    def _plan(self, buf: bytearray, counts: tuple[int, int, int]) -> Plan | None:
        """The address sets to shuffle, or None when the reply needs more than rdata swaps.

        One pass over the records. A record continues the set before it when its owner bytes, type
        and class are the same (no decoding); otherwise its owner is decoded, and meeting a set seen
        before means the reply splits a set (dnspython joins it, so the full path's order differs).
        """
        plan: Plan = []
        size = len(buf)
        off = wirerecords.skip_name(buf, 12) + 4
        for section, count in enumerate(counts):
            ranks: list[int] = []
            sets: list[tuple[int, list[int], list[int]]] = []  # (type, rdata offsets, rdata lengths)
            seen: set[tuple[bytes, int, int, int]] = set()
            key: tuple[bytes, int, int, int] = (b"", -1, -1, -1)
            last_raw = b""
            for _ in range(count):
                start = off
                off = wirerecords.skip_name(buf, off)
                rtype, rclass, _ttl, rdlen = _FIXED.unpack_from(buf, off)
                rdata = off + 10
                off = rdata + rdlen
                if off > size:
                    raise IndexError("record beyond the message")
                if rtype == OPT or count < 2:
                    continue
                covers = (buf[rdata] << 8 | buf[rdata + 1]) if rtype == RRSIG else 0
                raw = bytes(buf[start : rdata - 10])
                if raw != last_raw or (rtype, rclass, covers) != key[1:]:
                    last_raw = raw
                    new = (wirerecords.read_name(buf, start), rtype, rclass, covers)
                    if new != key:
                        if new in seen:
                            return None
                        seen.add(new)
                        key = new
                        ranks.append(_rank_of(rtype))
                        sets.append((rtype, [], []))
                sets[-1][1].append(rdata)
                sets[-1][2].append(rdlen)
            if len(sets) < 1:
                continue
            if ranks != sorted(ranks):
                return None  # round robin regroups the sets
            if (
                self.nets
                and section != _AUTHORITY
                and (ranks.count(_ADDRESS) > 1 or (_OTHER in ranks and (_ADDRESS in ranks or _MX in ranks)))
            ):
                return None  # prefer moves sets: addresses by preference, other types last
            for rank, (rtype, offsets, lengths) in zip(ranks, sets, strict=True):
                if len(offsets) < 2:
                    continue
                if rank == _MX:
                    return None  # MX rdata holds names other records may point into
                if rank == _ADDRESS:
                    want = 4 if rtype == A else 16
                    if any(n != want for n in lengths):
                        return None
                    plan.append((section, want, offsets))
        return plan

    def _preferred(self, chunks: list[bytes]) -> list[bytes]:
        """Addresses in earlier preferred networks first, the order kept otherwise."""
        nets = self.v4 if len(chunks[0]) == 4 else self.v6
        ranks = []
        for chunk in chunks:
            x = int.from_bytes(chunk)
            rank = self.nets
            for i, net, mask in nets:
                if x & mask == net:
                    rank = i
                    break
            ranks.append(rank)
        order = sorted(range(len(chunks)), key=lambda i: (ranks[i], i))
        return [chunks[i] for i in order]

    def _rebuild(self, q: WireQuery, reply: bytearray) -> None:
        """The uncommon shapes: parse, reorder with the full path's ``Policy.apply``, render as the server does."""
        try:
            msg = dns.message.from_wire(bytes(reply))
            out = self.policy.apply(msg)
            if out is msg:
                return
            # the server's renderer, not dnspython's to_wire (which shuffles sets on its own)
            new = finalize(Request(dns.message.from_wire(q.wire), remote=q.remote, proto=q.proto), out)
        except PARSE_ERRORS:
            return
        if not new[2] & _TC:
            reply[:] = new
