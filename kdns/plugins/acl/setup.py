"""``acl [ZONES...] { allow|block|filter|drop [type QTYPE...] [net SOURCE...] }``, any number of lines."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import dns.rdatatype

from kdns.config.controller import Controller
from kdns.config.parser import Directive
from kdns.config.registry import directive
from kdns.plugins.acl.plugin import ACL, NAME
from kdns.plugins.acl.policy import ANY_NET, Action, Nets, Policy, Rule

SECTIONS = ("type", "net")


@dataclass(frozen=True, slots=True)
class ACLOptions:
    rules: tuple[Rule, ...] = ()


def parse(c: Controller) -> ACLOptions:
    rules = []
    for d in c:
        zones = tuple(c.zones(d.args, at=d))
        policies = tuple(_policy(c, line) for line in d.block or [])
        rules.append(Rule(zones, policies))
    return ACLOptions(tuple(rules))


def _policy(c: Controller, line: Directive) -> Policy:
    try:
        action = Action(line.name.lower())
    except ValueError:
        raise c.err(f"unexpected token {line.name!r}; expect 'allow', 'block', 'filter' or 'drop'", at=line) from None
    if line.block is not None:
        raise c.err("unexpected block in an acl policy", at=line)
    sections: dict[str, list[str]] = {}
    args = line.args
    i = 0
    while i < len(args):
        section = args[i].lower()
        if section not in SECTIONS:
            raise c.err(f"unexpected token {args[i]!r}; expect 'type | net'", at=line)
        i += 1
        tokens = []
        while i < len(args) and args[i].lower() not in SECTIONS:
            tokens.append(args[i])
            i += 1
        if not tokens:
            raise c.err(f"no token specified in {section!r} section", at=line)
        sections.setdefault(section, []).extend(tokens)
    qtypes = _qtypes(c, line, sections["type"]) if "type" in sections else None
    nets = _nets(c, line, sections["net"]) if "net" in sections else ANY_NET
    return Policy(action, qtypes, nets)


def _qtypes(c: Controller, line: Directive, tokens: list[str]) -> frozenset[int] | None:
    out = set()
    for t in tokens:
        if t == "*":
            return None
        try:
            out.add(int(dns.rdatatype.from_text(t.upper())))
        except dns.rdatatype.UnknownRdatatype:
            raise c.err(f"unexpected token {t!r}; expect legal QTYPE", at=line) from None
    return frozenset(out)


def _nets(c: Controller, line: Directive, tokens: list[str]) -> Nets:
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for t in tokens:
        if t == "*":
            return ANY_NET
        try:
            nets.append(ipaddress.ip_network(t, strict=False))
        except ValueError:
            raise c.err(f"illegal CIDR notation {t!r}", at=line) from None
    return Nets.of(nets)


@directive(NAME)
def setup(c: Controller) -> None:
    opts = parse(c)
    c.add_plugin(lambda nxt: ACL(rules=opts.rules, next=nxt))
