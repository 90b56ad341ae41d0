"""The cache's rules without I/O: what is cached and for how long, capacity and eviction, stale and prefetch.

Time is whatever the injected clock says (seconds, monotonic); nothing here reads the clock itself.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar, final

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from kdns.pkg import response
from kdns.plugins.cache.entry import Entry, Key

N = TypeVar("N")

SUCCESS = "success"
DENIAL = "denial"
SHARDS = 256
#: smallest shard CoreDNS allows (so the smallest cache holds 1024 entries)
MIN_SHARD = 4
#: the TTL used for a reply without records (CoreDNS's MinimalDefaultTTL)
EMPTY_TTL = 5

SOA = dns.rdatatype.SOA
SERVFAIL = dns.rcode.SERVFAIL
CNAME = dns.rdatatype.CNAME
ANY = dns.rdatatype.ANY


@dataclass(frozen=True, slots=True)
class Options:
    """Everything ``cache`` is configured with; times in seconds."""

    zones: tuple[str, ...] = (".",)
    success_cap: int = 9984
    success_ttl: int = 3600
    success_minttl: int = 5
    denial_cap: int = 9984
    denial_ttl: int = 1800
    denial_minttl: int = 5
    #: hits needed before an entry is prefetched; 0 disables prefetch
    prefetch: int = 0
    #: hits further apart than this restart the count
    prefetch_window: float = 60.0
    #: prefetch when the TTL left is at most this percentage of the stored TTL
    prefetch_pct: int = 10
    #: how long past expiry an entry may still be served; 0 disables serve_stale
    stale: float = 0.0
    #: serve_stale verify: refresh first, answer stale only when that fails
    verify: bool = False
    #: serve_stale verify: wait at most this long for the refresh, then answer stale (0: wait for it)
    verify_timeout: float = 0.0
    #: the TTL of stale answers
    stale_ttl: int = 0
    #: after a failed refresh of an entry, answer it stale for this long without asking again
    recheck: float = 0.0
    #: serve_stale_policy prefer_positive: a usable answer beats a later denial or error
    prefer_positive: bool = False
    #: how long a SERVFAIL is cached; 0 disables
    servfail: float = 5.0
    disable_success: tuple[str, ...] = ()
    disable_denial: tuple[str, ...] = ()
    keepttl: bool = False


@final
class Shards:
    """A capacity-bound map split in shards; a full shard evicts one random entry to take a new key."""

    __slots__ = ("count", "per_shard", "rand", "shards")

    def __init__(self, capacity: int, shards: int = SHARDS, rand: random.Random | None = None) -> None:
        self.per_shard = max(capacity // shards, MIN_SHARD)
        self.shards: list[dict[Key, Entry]] = [{} for _ in range(shards)]
        self.rand = rand or random.Random()
        self.count = 0

    @property
    def capacity(self) -> int:
        return self.per_shard * len(self.shards)

    def _shard(self, key: Key) -> dict[Key, Entry]:
        return self.shards[hash(key) % len(self.shards)]

    def get(self, key: Key) -> Entry | None:
        return self.shards[hash(key) % len(self.shards)].get(key)

    def put(self, key: Key, entry: Entry) -> bool:
        """Store ``entry``; True when another entry was evicted to make room."""
        shard = self._shard(key)
        evicted = False
        old = shard.get(key)
        if old is None:
            if len(shard) >= self.per_shard:
                shard.pop(self.rand.choice(list(shard))).dead = True
                evicted = True
            else:
                self.count += 1
        else:
            old.dead = True
        shard[key] = entry
        return evicted

    def remove(self, key: Key) -> None:
        old = self._shard(key).pop(key, None)
        if old is not None:
            old.dead = True
            self.count -= 1

    def __len__(self) -> int:
        return self.count


class Verdict(NamedTuple):
    """How a reply is cached: ``kind`` (None: not at all) and the duration its TTLs are set to."""

    kind: str | None
    duration: int


def _in(zones: tuple[str, ...], qname: str) -> bool:
    return any(z == "." or qname == z or qname.endswith("." + z) for z in zones)


@final
class Store:
    """The success and denial caches and the rules of ``cache``."""

    __slots__ = ("denial", "opts", "success")

    def __init__(self, opts: Options, *, shards: int = SHARDS, rand: random.Random | None = None) -> None:
        self.opts = opts
        self.success = Shards(opts.success_cap, shards, rand)
        self.denial = Shards(opts.denial_cap, shards, rand)

    # -- lookups ----------------------------------------------------------------------

    def get(self, key: Key, now: float) -> tuple[Entry, int] | None:
        """The entry to answer ``key`` with and its TTL left (<= 0: stale), or None on a miss.

        The denial cache is looked at first; a cached SERVFAIL gives way to a usable positive entry.
        A fresh entry has TTL left > 0; with serve_stale an expired one is usable until ``stale``
        seconds past its expiry. With ``prefer_positive`` a usable entry that answers the question
        comes before any denial.
        """
        i = hash(key) % len(self.success.shards)  # both caches have the same number of shards
        stale = self.opts.stale
        if self.opts.prefer_positive:
            p = self.success.shards[i].get(key)
            if p is not None and p.positive:
                left = p.duration - int(now - p.stored)
                if left > 0 or -left < stale:
                    return p, left
        d = self.denial.shards[i].get(key)
        if d is not None:
            left = d.duration - int(now - d.stored)
            if left > 0 or (stale > 0 and -left < stale):
                if d.rcode != SERVFAIL:
                    return d, left
                p = self.success.shards[i].get(key)
                if p is not None:
                    pleft = p.duration - int(now - p.stored)
                    if pleft > 0 or (stale > 0 and -pleft < stale):
                        return p, pleft
                return d, left
        p = self.success.shards[i].get(key)
        if p is not None:
            left = p.duration - int(now - p.stored)
            if left > 0 or (stale > 0 and -left < stale):
                return p, left
        return None

    def refreshed(self, key: Key, since: float) -> bool:
        """A NOERROR or NXDOMAIN reply for ``key`` was stored at ``since`` or later (a refresh worked)."""
        for e in (self.success.get(key), self.denial.get(key)):
            if e is not None and e.stored >= since and e.rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                return True
        return False

    def peek(self, key: Key) -> Entry | None:
        """The entry stored for ``key`` whatever its age (denial first)."""
        return self.denial.get(key) or self.success.get(key)

    def put(self, key: Key, entry: Entry) -> bool:
        """Store ``entry`` in its cache; True when that evicted another entry.

        A new positive entry replaces a denial of the same key, and a new denial (other than
        SERVFAIL) replaces a positive one, so the newest answer is the one served.
        """
        if entry.kind == SUCCESS:
            if self.opts.prefer_positive and not entry.positive and self._keeps_positive(key, entry.stored):
                return False  # the last answer that answered stays while it may be served
            self.denial.remove(key)
            return self.success.put(key, entry)
        if entry.rcode != dns.rcode.SERVFAIL and not (
            self.opts.prefer_positive and self._keeps_positive(key, entry.stored)
        ):
            self.success.remove(key)
        return self.denial.put(key, entry)

    def _keeps_positive(self, key: Key, now: float) -> bool:
        """prefer_positive: the stored success entry answers the question and may still be served (fresh or
        stale), so it is kept over a denial or an answer that does not answer."""
        p = self.success.get(key)
        return p is not None and p.positive and p.duration - int(now - p.stored) > -self.opts.stale

    # -- prefetch ---------------------------------------------------------------------

    def should_prefetch(self, e: Entry, left: int, now: float) -> bool:
        """Count a hit on ``e``; True when it is popular and close enough to expiry to refresh now."""
        opts = self.opts
        if opts.prefetch <= 0:
            return False
        if now - e.last > opts.prefetch_window:
            e.hits = 1
        else:
            e.hits += 1
        e.last = now
        threshold = -(-opts.prefetch_pct * e.duration // 100)  # ceil
        return e.hits >= opts.prefetch and left <= threshold

    # -- what to cache ----------------------------------------------------------------

    def verdict(self, msg: dns.message.Message, qname: str, do: bool, wall: float | None = None) -> Verdict:
        """Whether and how long to cache reply ``msg`` to a query for ``qname`` (lower-case FQDN).

        ``wall`` is Unix time for RRSIG validity (default: now). The duration is also the TTL
        every record of the reply gets, cached or not (as CoreDNS does).
        """
        t = kind_of(msg, do, wall)
        low, soa_low = ttl_facts(msg)
        return decide(self.opts, t, low, soa_low, cacheable(msg, t), qname)


def decide(opts: Options, t: response.Type, low: int, soa_low: int | None, ok: bool, qname: str) -> Verdict:
    """The verdict on a reply of type ``t`` for ``qname``: ``low`` is its smallest TTL (``EMPTY_TTL``
    without records), ``soa_low`` the smallest SOA MINIMUM of its authority section (None without
    SOA), ``ok`` whether it may be cached at all (``cacheable``). Shared by ``Store.verdict`` and the
    wire-level ``wirereply.verdict``."""
    if t in (response.Type.NXDOMAIN, response.Type.NODATA):
        denial_low = low if soa_low is None or low < soa_low else soa_low  # RFC 2308: the SOA MINIMUM too
        duration = clamp(denial_low, opts.denial_minttl, opts.denial_ttl)
    elif t == response.Type.SERVERERROR:
        duration = int(opts.servfail)
    else:
        duration = clamp(low, opts.success_minttl, opts.success_ttl)
    if duration <= 0 or not ok:
        return Verdict(None, duration)
    if t in (response.Type.NOERROR, response.Type.DELEGATION):
        kind = SUCCESS
        disabled = opts.disable_success
    else:
        kind = DENIAL
        disabled = opts.disable_denial
    if disabled and _in(disabled, qname):
        return Verdict(None, duration)
    return Verdict(kind, duration)


def clamp(ttl: int, lo: int, hi: int) -> int:
    ttl = lo if ttl < lo else ttl  # min(max(...)) without the builtins' call cost
    return hi if ttl > hi else ttl


def kind_of(msg: dns.message.Message, do: bool, wall: float | None = None) -> response.Type:
    """``response.typify``, with a NOERROR reply that does not answer but has a SOA counted as NODATA."""
    t = response.typify(msg, wall, do=do)
    if t == response.Type.NOERROR and has_soa(msg) and not_answered(msg):
        return response.Type.NODATA
    return t


def cacheable(msg: dns.message.Message, t: response.Type) -> bool:
    """False for what is never cached: truncated replies, errors other than SERVFAIL, meta and
    update messages, and a NOERROR whose answer does not answer the question and has no SOA."""
    if msg.flags & dns.flags.TC:
        return False
    if t in (response.Type.OTHERERROR, response.Type.META, response.Type.UPDATE):
        return False
    if msg.rcode() == dns.rcode.NOTIMP:
        return False  # reference 2.3: of the errors only SERVFAIL is cached
    if t == response.Type.NXDOMAIN and not has_soa(msg):
        return False
    return not (msg.rcode() == dns.rcode.NOERROR and not has_soa(msg) and not_answered(msg))


def has_soa(msg: dns.message.Message) -> bool:
    return any(r.rdtype == SOA for r in msg.authority)


def ttl_facts(msg: dns.message.Message) -> tuple[int, int | None]:
    """The smallest TTL of the reply's records (``EMPTY_TTL`` without records) and the smallest SOA
    MINIMUM in its authority section (None without SOA)."""
    ttls = [r.ttl for section in (msg.answer, msg.authority, msg.additional) for r in section]
    if not ttls:
        return EMPTY_TTL, None
    minimums = [rd.minimum for r in msg.authority if r.rdtype == SOA for rd in r]
    return min(ttls), min(minimums) if minimums else None


def not_answered(msg: dns.message.Message) -> bool:
    """True for a non-empty answer section that does not answer the question (a dangling CNAME chain)."""
    if not msg.answer or not msg.question:
        return False
    return not answers(msg)


def answers(msg: dns.message.Message) -> bool:
    """True when the answer holds the asked type at the end of the CNAME chain from the question name."""
    q = msg.question[0]
    qtype, qclass = q.rdtype, q.rdclass

    def cls_ok(r: dns.rrset.RRset) -> bool:
        return qclass == dns.rdataclass.ANY or r.rdclass == qclass

    if qtype == ANY:
        return any(r.name == q.name and cls_ok(r) for r in msg.answer)

    def targets_of(name: dns.name.Name) -> set[dns.name.Name]:
        return {rd.target for r in msg.answer if r.rdtype == CNAME and r.name == name and cls_ok(r) for rd in r}

    if qtype == CNAME:
        return len(targets_of(q.name)) == 1
    end = chain_end(q.name, targets_of)
    return end is not None and any(r.rdtype == qtype and r.name == end and cls_ok(r) for r in msg.answer)


def chain_end(name: N, targets_of: Callable[[N], set[N]]) -> N | None:
    """Where the CNAME chain from ``name`` ends (``targets_of`` gives a name's CNAME targets); None for an
    alias with two canonical names, or a loop. Shared by ``answers`` and the wire-level ``wirereply``."""
    seen: set[N] = set()
    while True:
        targets = targets_of(name)
        if not targets:
            return name
        if len(targets) > 1 or name in seen:
            return None
        seen.add(name)
        name = targets.pop()
