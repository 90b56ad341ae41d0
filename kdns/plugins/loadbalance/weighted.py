"""The ``weighted`` policy: pick the first address of an answer by per-address weights from a file.

Weight file format::

    # comment
    www.example.org
    10.0.0.1 3
    10.0.0.2 1

A name line, then ``IP WEIGHT`` lines for it (weights 1-255); addresses without a weight count 1.
Only the first record moves: the chosen address swaps places with the record at the top.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import random
from collections.abc import Callable

import dns.rdatatype
import dns.rrset

from kdns.log import plugin_logger
from kdns.pkg.poller import Poller, Sleep
from kdns.plugins.loadbalance.sections import AAAA, A, regroup, reordered

log = plugin_logger("loadbalance")

#: the types the weighted policy reorders
ADDRESS = frozenset((A, AAAA))

#: owner name (lower-case FQDN) -> canonical IP text -> weight
Weights = dict[str, dict[str, int]]


def parse_weights(text: str, path: str = "") -> Weights:
    """Weight-file text -> ``Weights``; ValueError naming the bad line."""
    domains: Weights = {}
    current: dict[str, int] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) == 1:
            if _ip(fields[0]) is not None:
                raise ValueError(f'wrong domain name "{fields[0]}" in weight file {path} (missing weight value?)')
            name = fields[0].lower()
            current = domains.setdefault(name if name.endswith(".") else name + ".", {})
        elif len(fields) == 2:
            ip = _ip(fields[0])
            if ip is None:
                raise ValueError(f'wrong IP address "{fields[0]}" in weight file {path}')
            try:
                weight = int(fields[1])
            except ValueError:
                weight = 0
            if not 1 <= weight <= 255:
                raise ValueError(f'wrong weight value "{fields[1]}" in weight file {path}')
            if current is None:
                raise ValueError(f"missing domain name in weight file {path}")
            current[ip] = weight
        else:
            raise ValueError(f'could not parse weight line "{line}" in weight file {path}')
    return domains


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def pick(weights: list[int], randrange: Callable[[int], int] = random.randrange) -> int:
    """Index chosen with probability proportional to its weight (heaviest first on ties)."""
    order = sorted(range(len(weights)), key=lambda i: -weights[i])
    v = randrange(sum(weights))
    acc = 0
    for i in order:
        acc += weights[i]
        if v < acc:
            return i
    return order[-1]


def weighted(
    section: list[dns.rrset.RRset], domains: Weights, randrange: Callable[[int], int] = random.randrange
) -> list[dns.rrset.RRset] | None:
    """CNAME, other, A/AAAA, MX order; in each address RRset the chosen record goes first. None if unchanged.

    A section without addresses is left as it is (as CoreDNS does).
    """
    if not any(rrset.rdtype in ADDRESS for rrset in section):
        return None

    def reorder(rrset: dns.rrset.RRset) -> dns.rrset.RRset | None:
        rds = list(rrset)
        table = domains.get(rrset.name.to_text().lower(), {})
        top = pick([table.get(str(ipaddress.ip_address(rd.address)), 1) for rd in rds], randrange)
        if not top:
            return None
        rds[0], rds[top] = rds[top], rds[0]
        return reordered(rrset, rds)

    return regroup(section, reorder, ADDRESS)


class WeightFile:
    """The weights of one file, re-read every ``reload`` seconds when its content changed."""

    def __init__(self, path: str, reload: float = 30.0, sleep: Sleep = asyncio.sleep) -> None:
        self.path = path
        self.reload = reload
        self.domains: Weights = {}
        self._digest = b""
        #: re-reads the file every ``reload`` seconds, from ``start`` until ``stop``
        self.poller = Poller(self._reread, reload, name=f"loadbalance-weights {path}", sleep=sleep)

    def read(self) -> bool:
        """Load the file if its content changed; True when new weights were taken.

        OSError when it cannot be read, ValueError when it does not parse (old weights are kept).
        """
        with open(self.path, "rb") as f:
            data = f.read()
        digest = hashlib.md5(data, usedforsecurity=False).digest()
        if digest == self._digest:
            return False
        domains = parse_weights(data.decode("utf-8", "replace"), self.path)
        self.domains, self._digest = domains, digest
        return True

    async def start(self) -> None:
        if self.reload > 0:
            self.poller.start()

    async def stop(self) -> None:
        await self.poller.stop()

    async def _reread(self) -> None:
        try:
            if await asyncio.to_thread(self.read):
                log.info("Successfully reloaded weight file %s", self.path)
        except (OSError, ValueError) as e:
            log.error("%s", e)
