"""Hosts data: parse ``/etc/hosts`` text into lookup tables (pure), and a file that re-reads itself.

``parse`` and ``Tables`` do no I/O. ``HostsFile`` keeps the tables for one file plus inline
entries, checks the file's mtime and size, and swaps in new tables when it changed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.PTR
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.rrset

from kdns.log import plugin_logger
from kdns.pkg.fall import in_zones
from kdns.pkg.poller import Poller, Sleep

log = plugin_logger("hosts")

A = dns.rdatatype.A
AAAA = dns.rdatatype.AAAA
PTR = dns.rdatatype.PTR
IN = dns.rdataclass.IN


@dataclass(slots=True)
class Entry:
    """The addresses of one name, in file order."""

    v4: list[str] = field(default_factory=list)
    v6: list[str] = field(default_factory=list)


@dataclass(slots=True)
class HostsMap:
    """Parsed hosts text: name -> addresses, in the order names first appear."""

    names: dict[str, Entry] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(e.v4) + len(e.v6) for e in self.names.values())


def parse_ip(text: str) -> tuple[int, str] | None:
    """(4 or 6, canonical text) of a hosts-file address; None if it is not one.

    An IPv6 zone (``fe80::1%eth0``) is dropped, and an IPv4-mapped IPv6 address (``::ffff:10.0.0.1``)
    is an IPv4 address, as in CoreDNS.
    """
    text = text.split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return 4, str(ip.ipv4_mapped)
        return 6, str(ip)
    return 4, str(ip)


#: names that need no escaping: their text is already what dnspython would print
_PLAIN = re.compile(r"[a-z0-9_*-]{1,63}(?:\.[a-z0-9_*-]{1,63})*\.?")


def normalize_name(text: str) -> str | None:
    """The lower-case FQDN text of a host name, or None when it is not a valid DNS name."""
    low = text.lower()
    if len(low) < 254 and _PLAIN.fullmatch(low):
        return low if low.endswith(".") else low + "."
    try:
        return dns.name.from_text(low).to_text()
    except dns.exception.DNSException:
        return None


def parse(text: str, origins: Sequence[str] = (".",)) -> HostsMap:
    """Hosts-file text -> ``HostsMap``; names outside ``origins`` and bad lines are skipped."""
    hmap = HostsMap()
    names = hmap.names
    everywhere = "." in origins
    ips: dict[str, tuple[int, str] | None] = {}  # blocklists repeat one address many times
    for raw in text.splitlines():
        line = raw.split("#", 1)[0]
        fields = line.split()
        if len(fields) < 2:
            continue
        if fields[0] in ips:
            ip = ips[fields[0]]
        else:
            ip = ips[fields[0]] = parse_ip(fields[0])
        if ip is None:
            continue
        family, addr = ip
        for f in fields[1:]:
            name = normalize_name(f)
            if name is None or not (everywhere or in_zones(origins, name)):
                continue
            entry = names.get(name)
            if entry is None:
                entry = names[name] = Entry()
            (entry.v4 if family == 4 else entry.v6).append(addr)
    return hmap


def reverse_name(addr: str) -> str:
    """``10.0.0.1`` -> ``1.0.0.10.in-addr.arpa.`` (full nibbles for IPv6)."""
    return ipaddress.ip_address(addr).reverse_pointer + "."


class Tables:
    """Lookup tables for serving: file entries with inline entries laid over them (per name).

    RRsets are built on first use and kept (owner = the name asked, lower-case); wildcard answers
    carry the query name and are built per query.
    """

    __slots__ = ("_cache", "count", "names", "ptr", "ttl", "wildcards")

    def __init__(self, file: HostsMap, inline: HostsMap, *, ttl: int = 3600, auto_reverse: bool = True) -> None:
        self.ttl = ttl
        names: dict[str, Entry] = {n: e for n, e in file.names.items() if n not in inline.names}
        names.update(inline.names)
        self.names = names
        self.wildcards = any(n.startswith("*.") for n in names)
        ptr: dict[str, dict[str, None]] = {}  # reverse name -> names, as an ordered set
        if auto_reverse:
            rev: dict[str, str] = {}
            for name, e in names.items():
                if name.startswith("*."):
                    continue  # wildcard entries have no PTR
                for addr in (*e.v4, *e.v6):
                    r = rev.get(addr)
                    if r is None:
                        r = rev[addr] = reverse_name(addr)
                    ptr.setdefault(r, {})[name] = None
        self.ptr = ptr
        #: entries as CoreDNS counts them: forward addresses plus reverse names
        self.count = sum(len(e.v4) + len(e.v6) for e in names.values()) + sum(len(t) for t in ptr.values())
        self._cache: dict[tuple[str, int], dns.rrset.RRset] = {}

    def lookup(self, qname: str) -> tuple[str, Entry] | None:
        """(owner key, entry) for ``qname``: an exact name, else a ``*`` one label up."""
        e = self.names.get(qname)
        if e is not None:
            return qname, e
        if self.wildcards and qname != ".":
            dot = qname.find(".")
            if dot > 0:
                wild = "*" + qname[dot:]
                e = self.names.get(wild)
                if e is not None:
                    return wild, e
        return None

    def exists(self, qname: str) -> bool:
        """True when ``qname`` has an A or AAAA entry (directly or through a wildcard)."""
        return self.lookup(qname) is not None

    def address(self, qname: str, qtype: int) -> dns.rrset.RRset | None:
        """The A or AAAA RRset for ``qname``, or None when there is none."""
        hit = self.lookup(qname)
        if hit is None:
            return None
        key, e = hit
        addrs = e.v4 if qtype == A else e.v6
        if not addrs:
            return None
        if key != qname:  # wildcard: owner is the query name
            return _addresses(qname, qtype, addrs, self.ttl)
        ck = (qname, qtype)
        rrset = self._cache.get(ck)
        if rrset is None:
            rrset = self._cache[ck] = _addresses(qname, qtype, addrs, self.ttl)
        return rrset

    def reverse(self, qname: str) -> dns.rrset.RRset | None:
        """The PTR RRset for reverse name ``qname``, or None."""
        targets = self.ptr.get(qname)
        if not targets:
            return None
        ck = (qname, PTR)
        rrset = self._cache.get(ck)
        if rrset is None:
            rrset = dns.rrset.RRset(dns.name.from_text(qname), IN, PTR)
            rrset.update_ttl(self.ttl)
            for t in targets:
                rrset.add(dns.rdtypes.ANY.PTR.PTR(IN, PTR, dns.name.from_text(t)))
            self._cache[ck] = rrset
        return rrset


def _addresses(owner: str, qtype: int, addrs: Iterable[str], ttl: int) -> dns.rrset.RRset:
    rdtype = dns.rdatatype.RdataType.make(qtype)
    rrset = dns.rrset.RRset(dns.name.from_text(owner), IN, rdtype)
    rrset.update_ttl(ttl)
    cls = dns.rdtypes.IN.A.A if rdtype == A else dns.rdtypes.IN.AAAA.AAAA
    for a in addrs:
        rrset.add(cls(IN, rdtype, a))
    return rrset


class HostsFile:
    """One hosts file plus inline entries; ``read()`` re-parses it when its mtime or size changed.

    ``tables`` is replaced as a whole, so a query always sees one consistent version. A missing
    file leaves the inline entries (CoreDNS keeps serving them and picks the file up again later).
    """

    def __init__(
        self,
        path: str,
        *,
        inline: str = "",
        origins: Sequence[str] = (".",),
        ttl: int = 3600,
        auto_reverse: bool = True,
        reload: float = 5.0,
        sleep: Sleep = asyncio.sleep,
        on_change: Callable[[HostsFile, float], None] | None = None,
    ) -> None:
        self.path = path
        self.origins = tuple(origins)
        self.ttl = ttl
        self.auto_reverse = auto_reverse
        self.reload = reload
        #: called with (self, file mtime) after new tables are swapped in (metrics)
        self.on_change = on_change
        self.inline = parse(inline, self.origins)
        self._file = HostsMap()
        self._stat: tuple[int, int] | None = None
        self.tables = Tables(self._file, self.inline, ttl=ttl, auto_reverse=auto_reverse)
        #: re-reads the file every ``reload`` seconds, from ``start`` until ``stop``
        self.poller = Poller(self._reread, reload, name=f"hosts-reload {path}", sleep=sleep)
        #: bumped after every swap (tests wait on it)
        self.version = 0

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        inline: str = "",
        origins: Sequence[str] = (".",),
        ttl: int = 3600,
        auto_reverse: bool = True,
    ) -> HostsFile:
        """Tables from ``text`` as if read from a file (no file involved, no reload): for tests and tools."""
        h = cls("", inline=inline, origins=origins, ttl=ttl, auto_reverse=auto_reverse, reload=0)
        h._swap(parse(text, h.origins), 0.0)
        return h

    def read(self) -> bool:
        """Re-read the file if its mtime or size changed; True when new tables were swapped in."""
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                stat = (st.st_mtime_ns, st.st_size)
                if stat == self._stat:
                    return False
                data = f.read()
        except OSError:
            return False  # missing or unreadable: keep what we have (setup already warned)
        self._stat = stat
        self._swap(parse(data.decode("utf-8", "replace"), self.origins), st.st_mtime)
        return True

    def _swap(self, file: HostsMap, mtime: float) -> None:
        self._file = file
        self.tables = Tables(file, self.inline, ttl=self.ttl, auto_reverse=self.auto_reverse)
        self.version += 1
        log.debug("parsed hosts file into %d entries", self.tables.count)
        if self.on_change is not None:
            self.on_change(self, mtime)

    # -- reload task ------------------------------------------------------------------

    async def start(self) -> None:
        """Read the file now and, when ``reload`` > 0, poll it in a task until ``stop``."""
        await asyncio.to_thread(self.read)
        if self.reload > 0:
            self.poller.start()

    async def stop(self) -> None:
        await self.poller.stop()

    async def _reread(self) -> None:
        try:
            await asyncio.to_thread(self.read)
        except Exception:
            log.exception("reading %s failed", self.path)
