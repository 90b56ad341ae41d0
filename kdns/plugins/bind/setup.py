"""``bind ADDRESS|IFACE... { except ADDRESS|IFACE... }``: sets the block's listen hosts.

Several bind lines add up; an ``except`` only removes addresses of its own line. Interface names
stand for all their addresses at startup (and at every reload).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns.plugins.bind import ifaces

NAME = "bind"


@dataclass(frozen=True, slots=True)
class BindLine:
    addrs: tuple[str, ...]
    excepts: tuple[str, ...] = ()


def parse(c: Controller) -> list[BindLine]:
    """Every bind line of the block, unresolved (IPs and interface names as written)."""
    out: list[BindLine] = []
    for d in c:
        if not d.args:
            raise c.err("at least one address or interface name is expected", at=d)
        excepts: list[str] = []
        for o in d.block or []:
            if o.name != "except":
                raise c.err(f'invalid option "{o.name}"', at=o)
            if not o.args or o.block is not None:
                raise c.err("at least one address or interface name is expected", at=o)
            excepts.extend(o.args)
        out.append(BindLine(tuple(d.args), tuple(excepts)))
    return out


def canonical(text: str) -> str | None:
    """The canonical text of an IP literal (an IPv6 ``%zone`` kept), or None if it is not one."""
    ip, sep, zone = text.partition("%")
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if sep and addr.version != 6:
        return None
    return f"{addr}{sep}{zone}"


def resolve(names: Sequence[str], interfaces: Callable[[], dict[str, list[str]]]) -> list[str]:
    """IPs for ``names`` (IPs, or interface names expanded to their addresses); ValueError otherwise."""
    out: list[str] = []
    table: dict[str, list[str]] | None = None
    for n in names:
        ip = canonical(n)
        if ip is None:
            if table is None:
                table = interfaces()
            if n not in table:
                raise ValueError(f'not a valid IP address or interface name: "{n}"')
            found = table[n]
        else:
            found = [ip]
        out.extend(a for a in found if a not in out)
    return out


def listen_hosts(
    c: Controller, lines: Sequence[BindLine], interfaces: Callable[[], dict[str, list[str]]] = ifaces.interfaces
) -> list[str]:
    """The addresses to listen on for ``lines``, in order, without duplicates."""
    cache: dict[str, list[str]] = {}

    def table() -> dict[str, list[str]]:
        if not cache:
            cache.update(interfaces())
        return cache

    hosts: list[str] = []
    for i, line in enumerate(lines):
        at = c.lines[i] if i < len(c.lines) else None
        try:
            ips = resolve(line.addrs, table)
            excepts = set(resolve(line.excepts, table))
        except ValueError as e:
            raise c.err(str(e), at=at) from None
        hosts.extend(ip for ip in ips if ip not in excepts and ip not in hosts)
    if not hosts:
        raise c.err("no address left to listen on", at=c.lines[0] if c.lines else None)
    return hosts


@directive(NAME)
def setup(c: Controller) -> None:
    c.config.listen_hosts = listen_hosts(c, parse(c))
