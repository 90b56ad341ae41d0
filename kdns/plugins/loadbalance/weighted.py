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
from collections.abc import Awaitable, Callable

import dns.rdatatype
import dns.rrset

from kdns.log import plugin_logger

log = plugin_logger("loadbalance")

CNAME = dns.rdatatype.CNAME
A = dns.rdatatype.A
AAAA = dns.rdatatype.AAAA
MX = dns.rdatatype.MX

#: owner name (lower-case FQDN) -> canonical IP text -> weight
Weights = dict[str, dict[str, int]]
Sleep = Callable[[float], Awaitable[None]]


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
    """CNAME, other, A/AAAA, MX order; in each address RRset the chosen record goes first. None if unchanged."""
    cname: list[dns.rrset.RRset] = []
    rest: list[dns.rrset.RRset] = []
    address: list[dns.rrset.RRset] = []
    mx: list[dns.rrset.RRset] = []
    moved = False
    for rrset in section:
        t = rrset.rdtype
        if t == CNAME:
            cname.append(rrset)
        elif t in (A, AAAA):
            rds = list(rrset)
            if len(rds) > 1:
                table = domains.get(rrset.name.to_text().lower(), {})
                top = pick([table.get(str(ipaddress.ip_address(rd.address)), 1) for rd in rds], randrange)
                if top:
                    rds[0], rds[top] = rds[top], rds[0]
                    n = rrset.copy()
                    n.items = dict.fromkeys(rds)  # same members, new order
                    rrset, moved = n, True
            address.append(rrset)
        elif t == MX:
            mx.append(rrset)
        else:
            rest.append(rrset)
    if not address:
        return None
    out = cname + rest + address + mx
    if not moved and all(a is b for a, b in zip(out, section, strict=True)):
        return None
    return out


class WeightFile:
    """The weights of one file, re-read every ``reload`` seconds when its content changed."""

    def __init__(self, path: str, reload: float = 30.0, sleep: Sleep = asyncio.sleep) -> None:
        self.path = path
        self.reload = reload
        self.sleep = sleep
        self.domains: Weights = {}
        self._digest = b""
        self._task: asyncio.Task[None] | None = None

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
        if self.reload > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._poll(), name=f"loadbalance-weights {self.path}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])

    async def _poll(self) -> None:
        while True:
            await self.sleep(self.reload)
            try:
                if await asyncio.to_thread(self.read):
                    log.info("Successfully reloaded weight file %s", self.path)
            except (OSError, ValueError) as e:
                log.error("%s", e)
