"""``forward FROM TO... { options }``: one plugin per line, chained in written order."""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
from dataclasses import dataclass, field

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdatatype

from kdns.config.controller import Controller
from kdns.config.parser import Directive
from kdns.config.registry import directive
from kdns.log import plugin_logger
from kdns.pkg.duration import parse_duration
from kdns.plugins.forward import policy
from kdns.plugins.forward.plugin import NAME, Forward
from kdns.plugins.forward.proxy import Options, Upstream

log = plugin_logger(NAME)

#: most upstreams one forward line may have
MAX_UPSTREAMS = 15
DNS_PORT = 53
TLS_PORT = 853
#: a host name TO: labels of letters, digits and hyphens, with at least one letter somewhere
_LABEL = r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
HOSTNAME = re.compile(rf"^(?=.*[a-zA-Z]){_LABEL}(\.{_LABEL})*\.?$")
#: options that take no argument
FLAGS = ("force_tcp", "prefer_udp", "next_on_nodata", "failfast_all_unhealthy_upstreams")


@dataclass(frozen=True, slots=True)
class To:
    """One upstream as written: transport ('dns' or 'tls'), IP (or host name), port and TLS server name."""

    scheme: str
    host: str
    port: int
    server_name: str = ""
    #: ``host`` is a name to resolve at startup
    hostname: bool = False


@dataclass(slots=True)
class ForwardOptions:
    zone: str = "."
    tos: list[To] = field(default_factory=list)
    excepts: list[str] = field(default_factory=list)
    force_tcp: bool = False
    prefer_udp: bool = False
    expire: float = 10.0
    max_age: float = 0.0
    max_idle_conns: int = 0
    read_timeout: float = 2.0
    max_fails: int = 2
    #: None: twice the number of upstreams; 0: no cap
    max_connect_attempts: int | None = None
    hc_interval: float = 0.5
    hc_recursion: bool = True
    hc_domain: str = "."
    tls: tuple[str, ...] | None = None
    tls_servername: str = ""
    policy: str = "random"
    max_concurrent: int = 0
    next_rcodes: frozenset[int] = frozenset()
    next_on_nodata: bool = False
    failover: frozenset[int] = frozenset()
    failfast_all_unhealthy_upstreams: bool = False
    source_address: str | None = None
    #: (IP, port) of the resolvers for host-name TOs; empty: the system's
    resolvers: list[tuple[str, int]] = field(default_factory=list)


def parse(c: Controller) -> list[ForwardOptions]:
    """Every forward line of the block, in written order."""
    return [_stanza(c, d) for d in c]


def _stanza(c: Controller, d: Directive) -> ForwardOptions:
    if len(d.args) < 2:
        raise c.arg_err(d)
    zones = c.zones(d.args[:1], at=d)
    if len(zones) > 1:
        log.warning("unsupported CIDR notation: '%s' expands to multiple zones; using only '%s'", d.args[0], zones[0])
    o = ForwardOptions(zone=zones[0])
    for tok in d.args[1:]:
        for to in _to(c, d, tok):
            if to not in o.tos:
                o.tos.append(to)
    for line in d.block or []:
        _option(c, line, o)
    if len(o.tos) > MAX_UPSTREAMS:
        raise c.err(f"more than {MAX_UPSTREAMS} TOs configured: {len(o.tos)}", at=d)
    if o.tls_servername and any(t.server_name for t in o.tos):
        raise c.err("both tls_servername and a per-upstream %name are set; use one", at=d)
    if o.max_age and o.max_age < o.expire:
        raise c.err("max_age must not be shorter than expire", at=d)
    return o


def _to(c: Controller, d: Directive, tok: str) -> list[To]:
    scheme, sep, rest = tok.partition("://")
    if not sep:
        scheme, rest = "dns", tok
    scheme = scheme.lower()
    if scheme == "https":
        raise c.err(f"'https' (DNS over HTTPS) is not supported by kdns: {tok}", at=d)
    if scheme not in ("dns", "tls"):
        raise c.err(f"'{scheme}' is not supported as a destination protocol in forward: {tok}", at=d)
    default_port = TLS_PORT if scheme == "tls" else DNS_PORT
    name = ""
    if scheme == "tls" and "%" in rest:
        rest, _, name = rest.partition("%")
        name, port_text = _split_port(name)
        if port_text:
            v6 = ":" in rest and not rest.startswith("[")
            rest = f"[{rest}]:{port_text}" if v6 else f"{rest}:{port_text}"
        if not name:
            raise c.err(f"empty TLS server name in {tok}", at=d)
    hostport = _hostport(rest, default_port)
    if hostport is not None:
        return [To(scheme, hostport[0], hostport[1], name)]
    if not sep and (os.path.isfile(tok) or "/" in tok):
        return [To("dns", ip, DNS_PORT) for ip in _resolv_conf(c, d, tok)]
    host, port_text = _split_port(rest)
    if HOSTNAME.match(host) and (not port_text or 0 < int(port_text) < 65536):
        return [To(scheme, host.rstrip(".").lower() + ".", int(port_text or default_port), name, hostname=True)]
    raise c.err(f"not an IP address, host name or file: '{tok}'", at=d)


def _split_port(text: str) -> tuple[str, str]:
    """'name:853' -> ('name', '853'); 'name' -> ('name', '')."""
    head, sep, tail = text.rpartition(":")
    if sep and tail.isdigit():
        return head, tail
    return text, ""


def _hostport(text: str, default_port: int) -> tuple[str, int] | None:
    """IP or IP:port ([v6]:port) -> (ip, port); None when it is not an address."""
    host, port_text = text, ""
    if text.startswith("["):
        host, _, after = text[1:].partition("]")
        if after:
            if not after.startswith(":"):
                return None
            port_text = after[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    try:
        ip = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            return None
        return str(ip), int(port_text)
    return str(ip), default_port


def _resolv_conf(c: Controller, d: Directive, path: str) -> list[str]:
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise c.err(f"cannot read {path}: {e.strerror}", at=d) from None
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                out.append(str(ipaddress.ip_address(parts[1].partition("%")[0])))
            except ValueError:
                continue
    if not out:
        raise c.err(f"no nameservers found in {path}", at=d)
    return out


def _duration(c: Controller, line: Directive, *, positive: bool = False) -> float:
    if len(line.args) != 1:
        raise c.arg_err(line)
    try:
        v = parse_duration(line.args[0])
    except ValueError:
        raise c.err(f"{line.name}: invalid duration '{line.args[0]}'", at=line) from None
    if v < 0 or (positive and v == 0):
        raise c.err(f"{line.name} can't be {'negative' if v < 0 else 'zero'}: {line.args[0]}", at=line)
    return v


def _count(c: Controller, line: Directive) -> int:
    if len(line.args) != 1:
        raise c.arg_err(line)
    text = line.args[0]
    if not text.isdigit():
        raise c.err(f"{line.name}: '{text}' is not a non-negative integer", at=line)
    return int(text)


def _rcodes(c: Controller, line: Directive) -> frozenset[int]:
    if not line.args:
        raise c.arg_err(line)
    out = set()
    for a in line.args:
        try:
            rc = dns.rcode.from_text(a.upper())
        except (dns.rcode.UnknownRcode, ValueError):
            raise c.err(f"{line.name}: '{a}' is not a valid rcode", at=line) from None
        out.add(int(rc))
    return frozenset(out)


def _option(c: Controller, line: Directive, o: ForwardOptions) -> None:
    name, args = line.name, line.args
    if line.block is not None:
        raise c.err(f"unexpected block after '{name}'", at=line)
    if name in FLAGS:
        if args:
            raise c.arg_err(line)
        setattr(o, name, True)
    elif name == "except":
        if not args:
            raise c.arg_err(line)
        o.excepts.extend(c.zones(args, at=line))
    elif name == "expire":
        o.expire = _duration(c, line)
    elif name == "max_age":
        o.max_age = _duration(c, line)
    elif name == "read_timeout":
        o.read_timeout = _duration(c, line, positive=True)
    elif name == "max_idle_conns":
        o.max_idle_conns = _count(c, line)
    elif name == "max_fails":
        o.max_fails = _count(c, line)
    elif name == "max_connect_attempts":
        o.max_connect_attempts = _count(c, line)
    elif name == "max_concurrent":
        o.max_concurrent = _count(c, line)
    elif name == "health_check":
        _health_check(c, line, o)
    elif name == "tls":
        if len(args) > 3:
            raise c.arg_err(line)
        o.tls = tuple(args)
    elif name == "tls_servername":
        if len(args) != 1:
            raise c.arg_err(line)
        o.tls_servername = args[0]
    elif name == "policy":
        if len(args) != 1:
            raise c.arg_err(line)
        if args[0] not in policy.POLICIES:
            raise c.err(f"unknown policy '{args[0]}'", at=line)
        o.policy = args[0]
    elif name == "next":
        o.next_rcodes = _rcodes(c, line)
    elif name == "failover":
        o.failover = _rcodes(c, line)
        if dns.rcode.NOERROR in o.failover:
            raise c.err("failover: NOERROR cannot be used", at=line)
    elif name == "source_address":
        if len(args) != 1:
            raise c.arg_err(line)
        try:
            o.source_address = str(ipaddress.ip_address(args[0]))
        except ValueError:
            raise c.err(f"source_address: '{args[0]}' is not an IP address", at=line) from None
    elif name == "doh_method":
        raise c.err("doh_method: DNS over HTTPS is not supported by kdns", at=line)
    elif name == "resolver":
        if not args:
            raise c.arg_err(line)
        for a in args:
            hp = _hostport(a, DNS_PORT)
            if hp is None:
                raise c.err(f"resolver: '{a}' is not an IP address or IP:port", at=line)
            o.resolvers.append(hp)
    else:
        raise c.err(f"unknown property '{name}'", at=line)


def _health_check(c: Controller, line: Directive, o: ForwardOptions) -> None:
    args = line.args
    if not args:
        raise c.arg_err(line)
    o.hc_interval = _duration(c, Directive(line.name, args[:1], line.file, line.line))
    i = 1
    while i < len(args):
        if args[i] == "no_rec":
            o.hc_recursion = False
        elif args[i] == "domain":
            if i + 1 >= len(args):
                raise c.arg_err(line)
            i += 1
            try:
                o.hc_domain = dns.name.from_text(args[i]).to_text().lower()
            except dns.exception.DNSException:
                raise c.err(f"health_check: invalid domain name {args[i]}", at=line) from None
        else:
            raise c.err(f"health_check: unknown option {args[i]}", at=line)
        i += 1


def tls_context(c: Controller, d: Directive, args: tuple[str, ...]) -> ssl.SSLContext:
    """``tls`` with 0-3 args: [CA], [CERT KEY] or [CERT KEY CA]; system CAs without a CA file."""
    cert = key = ca = None
    if len(args) == 1:
        ca = args[0]
    elif len(args) >= 2:
        cert, key = args[0], args[1]
        ca = args[2] if len(args) == 3 else None
    try:
        ctx = ssl.create_default_context(cafile=ca)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if cert is not None:
            ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as e:
        raise c.err(f"tls: {e}", at=d) from None
    return ctx


def health_query(o: ForwardOptions) -> bytes:
    """The probe's wire form: ``<domain> IN NS``, RD unless ``no_rec`` (its ID is replaced per probe)."""
    q = dns.message.make_query(o.hc_domain, dns.rdatatype.NS)
    if not o.hc_recursion:
        q.flags &= ~dns.flags.RD
    return q.to_wire()


def build(c: Controller, d: Directive, o: ForwardOptions) -> Forward:
    """The Forward of one parsed line: its upstreams made, nothing opened."""
    conn = Options(
        expire=o.expire,
        max_age=o.max_age,
        max_idle_conns=o.max_idle_conns,
        read_timeout=o.read_timeout,
        source=o.source_address,
    )
    ctx = tls_context(c, d, o.tls or ()) if any(t.scheme == "tls" for t in o.tos) else None

    def make(t: To, host: str) -> Upstream:
        return Upstream(
            host,
            t.port,
            conn,
            tls=ctx if t.scheme == "tls" else None,
            server_name=t.server_name or o.tls_servername or (t.host.rstrip(".") if t.hostname else ""),
            max_fails=o.max_fails,
        )

    ups = [make(t, t.host) for t in o.tos if not t.hostname]
    names = [t for t in o.tos if t.hostname]
    resolve = None
    if names:

        async def resolve() -> list[Upstream]:
            out: list[Upstream] = []
            for t in names:
                for ip in await resolve_host(c, d, t.host, o.resolvers):
                    if all(u.addr != (ip, t.port) for u in ups + out):
                        out.append(make(t, ip))
            if len(ups) + len(out) > MAX_UPSTREAMS:
                raise c.err(f"more than {MAX_UPSTREAMS} TOs configured: {len(ups) + len(out)}", at=d)
            return out

    return Forward(opts=o, upstreams=ups, policy=policy.make(o.policy), probe_wire=health_query(o), resolve=resolve)


async def resolve_host(c: Controller, d: Directive, host: str, resolvers: list[tuple[str, int]]) -> list[str]:
    """The IPv4 and IPv6 addresses of ``host``, from ``resolvers`` (or the system's); ConfigError if none."""
    try:
        r = dns.asyncresolver.Resolver(configure=not resolvers)
    except dns.exception.DNSException as e:  # no usable /etc/resolv.conf
        raise c.err(f"cannot resolve {host}: {e}", at=d) from None
    if resolvers:
        r.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in resolvers]
    r.lifetime = 5.0
    out: list[str] = []
    errors = []
    for rdtype in ("A", "AAAA"):
        try:
            answer = await r.resolve(host, rdtype)
        except dns.exception.DNSException as e:
            errors.append(str(e))
            continue
        out.extend(rd.to_text() for rd in answer)
    if not out:
        raise c.err(f"cannot resolve {host}: {'; '.join(errors) or 'no addresses'}", at=d)
    return out


@directive(NAME)
def setup(c: Controller) -> None:
    stanzas = parse(c)
    for d, o in zip(c, stanzas, strict=True):
        f = build(c, d, o)
        c.on_startup(f.start)
        c.on_shutdown(f.stop)
        c.add_plugin(f.chain_to)
