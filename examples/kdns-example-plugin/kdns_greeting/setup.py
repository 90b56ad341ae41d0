"""``greeting NAME [TEXT...] { ttl SECONDS }``: parse the directive and add the handler."""

from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns_greeting.plugin import NAME, Greeting

DEFAULT_TEXT = "hello from kdns"
DEFAULT_TTL = 3600
MAX_TTL = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Options:
    owner: str
    texts: tuple[str, ...] = (DEFAULT_TEXT,)
    ttl: int = DEFAULT_TTL


def parse(c: Controller) -> Options:
    """The options of the block's one ``greeting`` line; ConfigError (located) when malformed."""
    d = c.once()
    if not d.args:
        raise c.arg_err(d)
    try:
        owner = dns.name.from_text(d.args[0]).to_text().lower()
    except dns.exception.DNSException as e:
        raise c.err(f"invalid name {d.args[0]!r}: {e}", at=d) from e
    if not any(owner == z or owner.endswith("." + z) or z == "." for z in c.config.zones):
        raise c.err(f"{owner} is not in the zones of this server block", at=d)
    texts = tuple(d.args[1:]) or (DEFAULT_TEXT,)
    for t in texts:
        if len(t.encode()) > 255:
            raise c.err("a TEXT string is longer than 255 bytes", at=d)
    ttl = DEFAULT_TTL
    for opt in d.block or []:
        if opt.name != "ttl":
            raise c.err(f"unknown property '{opt.name}'", at=opt)
        if len(opt.args) != 1:
            raise c.arg_err(opt)
        if not opt.args[0].isdigit() or int(opt.args[0]) > MAX_TTL:
            raise c.err(f"ttl must be a number of seconds, got {opt.args[0]!r}", at=opt)
        ttl = int(opt.args[0])
    return Options(owner, texts, ttl)


def txt_rrset(opts: Options) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(dns.name.from_text(opts.owner), dns.rdataclass.IN, dns.rdatatype.TXT)
    rrset.update_ttl(opts.ttl)
    rrset.add(dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [t.encode() for t in opts.texts]))
    return rrset


@directive(NAME, before="cache")
def setup(c: Controller) -> None:
    opts = parse(c)
    txt = txt_rrset(opts)  # built once here, not per query
    c.add_plugin(lambda nxt: Greeting(opts.owner, txt, next=nxt))
