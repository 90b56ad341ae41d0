"""Fallthrough: the zones for which a plugin hands a query it cannot answer to the next plugin.

``fallthrough`` alone means every zone; ``fallthrough ZONES...`` only those (CIDRs become reverse
zones); no ``fallthrough`` line means never.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kdns.config.address import normalize, reverse_zones

if TYPE_CHECKING:
    from kdns.config.controller import Controller
    from kdns.config.parser import Directive

__all__ = ["NEVER", "ROOT", "Fall", "in_zones", "match_zone"]


def match_zone(zones: Iterable[str], qname: str) -> str | None:
    """The longest of ``zones`` that holds ``qname`` (both lower-case FQDNs), or None."""
    best: str | None = None
    for z in zones:
        if (z == "." or qname == z or qname.endswith("." + z)) and (best is None or len(z) > len(best)):
            best = z
    return best


def in_zones(zones: Iterable[str], qname: str) -> bool:
    """True when ``qname`` is in (or equal to) one of ``zones``."""
    return any(z == "." or qname == z or qname.endswith("." + z) for z in zones)


@dataclass(frozen=True, slots=True)
class Fall:
    """A fallthrough zone set; ``through(qname)`` says whether to hand ``qname`` on."""

    zones: tuple[str, ...] = ()
    _all: bool = field(default=False, init=False, repr=False, compare=False)
    _suffixes: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_all", "." in self.zones)
        object.__setattr__(self, "_suffixes", tuple("." + z for z in self.zones))

    @property
    def enabled(self) -> bool:
        """True when some queries fall through (a ``fallthrough`` line was given)."""
        return bool(self.zones)

    def through(self, qname: str) -> bool:
        """True when ``qname`` (lower-case FQDN) should go to the next plugin."""
        if self._all:
            return True
        return qname in self.zones or qname.endswith(self._suffixes)

    @classmethod
    def parse(cls, args: Sequence[str]) -> Fall:
        """The set for ``fallthrough ARGS...``: no args is every zone; ValueError on a bad zone."""
        if not args:
            return ROOT
        zones: list[str] = []
        for a in args:
            for z in reverse_zones(a) if "/" in a else [normalize(a)]:
                if z not in zones:
                    zones.append(z)
        return cls(tuple(zones))

    @classmethod
    def from_directive(cls, c: Controller, d: Directive) -> Fall:
        """``Fall.parse`` of a ``fallthrough`` line, with errors located at that line."""
        try:
            return cls.parse(d.args)
        except ValueError as e:
            raise c.err(f"fallthrough: {e}", at=d) from e


#: no fallthrough at all
NEVER = Fall()
#: fallthrough for every zone
ROOT = Fall((".",))
