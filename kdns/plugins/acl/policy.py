"""ACL rules and policies, compiled at setup: networks as integer (network, mask) pairs per family."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from enum import Enum

from kdns.pkg.fall import match_zone


class Action(Enum):
    ALLOW = "allow"
    BLOCK = "block"
    FILTER = "filter"
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class Nets:
    """A set of source networks; ``None`` families match nothing, ``all`` matches every address."""

    v4: tuple[tuple[int, int], ...] = ()
    v6: tuple[tuple[int, int], ...] = ()
    all: bool = False

    @classmethod
    def of(cls, nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> Nets:
        v4 = tuple((int(n.network_address), int(n.netmask)) for n in nets if n.version == 4)
        v6 = tuple((int(n.network_address), int(n.netmask)) for n in nets if n.version == 6)
        return cls(v4, v6)

    def contains(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        if self.all:
            return True
        if ip is None:
            return False
        x = int(ip)
        for net, mask in self.v4 if ip.version == 4 else self.v6:  # noqa: SIM110 (a loop beats any() per query)
            if x & mask == net:
                return True
        return False


ANY_NET = Nets(all=True)


@dataclass(frozen=True, slots=True)
class Policy:
    """``ACTION [type QTYPE...] [net SOURCE...]``; ``qtypes`` None means every type."""

    action: Action
    qtypes: frozenset[int] | None = None
    nets: Nets = ANY_NET

    def matches(self, qtype: int, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return (self.qtypes is None or qtype in self.qtypes) and self.nets.contains(ip)


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``acl`` line: the zones it guards and its policies, first match wins."""

    zones: tuple[str, ...]
    policies: tuple[Policy, ...]

    def zone(self, qname: str) -> str | None:
        return match_zone(self.zones, qname)

    def action(self, qtype: int, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> Action | None:
        for p in self.policies:
            if p.matches(qtype, ip):
                return p.action
        return None


@functools.lru_cache(maxsize=4096)
def source_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client address as an ipaddress object (IPv4-mapped IPv6 as IPv4); None if unparsable."""
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip
