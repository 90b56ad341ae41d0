"""The search-list logic of *autopath*, without I/O: names in, names or messages out.

Search lists are tuples of lower-case FQDNs ending in the sentinel ``""`` (the name as asked).
"""

from __future__ import annotations

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rrset


def fqdn(name: str) -> str:
    """``name`` lower-cased with the trailing dot."""
    name = name.lower()
    return name if name.endswith(".") else name + "."


def resolv_search(text: str) -> list[str]:
    """The search domains of resolv.conf ``text``: the last ``search`` or ``domain`` line wins."""
    search: list[str] = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) < 2:
            continue
        if words[0] == "search":
            search = [fqdn(w) for w in words[1:]]
        elif words[0] == "domain":
            search = [fqdn(words[1])]
    return search


def dedupe(names: list[str]) -> tuple[str, ...]:
    """``names`` without repeats, first occurrence kept."""
    return tuple(dict.fromkeys(names))


def static_list(search: list[str]) -> tuple[str, ...]:
    """The search list of the RESOLV-CONF form: its domains and the sentinel."""
    return dedupe([fqdn(s) for s in search] + [""])


def kube_list(namespace: str, zone: str, host: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A pod's search list: ``NS.svc.ZONE``, ``svc.ZONE``, ``ZONE``, kdns's own search domains, ``""``."""
    z = "" if zone == "." else zone
    return dedupe([f"{namespace.lower()}.svc.{z}", f"svc.{z}", zone, *host, ""])


def zone_of(qname: str, zones: tuple[str, ...]) -> str | None:
    """The longest of ``zones`` that ``qname`` is in (both lower-case FQDNs), or None."""
    best: str | None = None
    for z in zones:
        if (z == "." or qname == z or qname.endswith("." + z)) and (best is None or len(z) > len(best)):
            best = z
    return best


def base_len(qname: str, first: str) -> int:
    """Length of the base name when ``qname`` is strictly under ``first`` (``base.first``), else 0.

    A query for ``first`` itself has no base and is left alone.
    """
    if first == ".":
        return len(qname) - 1 if qname != "." else 0
    if len(qname) > len(first) + 1 and qname.endswith(first) and qname[-len(first) - 1] == ".":
        return len(qname) - len(first) - 1
    return 0


def candidates(base: str, search: tuple[str, ...]) -> list[str]:
    """The names to try, in order: ``base`` under each element (``""`` and ``.`` give ``base.``)."""
    out = [base + "." + s if s not in ("", ".") else base + "." for s in search]
    return list(dict.fromkeys(out))


def add_cname(answer: list[dns.rrset.RRset], original: dns.name.Name) -> list[dns.rrset.RRset]:
    """``answer`` with a CNAME from ``original`` to the first owner that differs from it, put in front.

    Its TTL is that RRset's TTL. An answer with no such owner (empty, or already for ``original``) is
    returned as it is.
    """
    for rrset in answer:
        if rrset.name == original:  # dns.name comparison ignores case
            continue
        cname = dns.rrset.RRset(original, dns.rdataclass.IN, dns.rdatatype.CNAME)
        cname.add(dns.rdtypes.ANY.CNAME.CNAME(dns.rdataclass.IN, dns.rdatatype.CNAME, rrset.name), rrset.ttl)
        return [cname, *answer]
    return answer
