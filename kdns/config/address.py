"""Server block keys: ``[dns://]ZONE[:PORT]``, CIDR keys expanded to reverse zones."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import dns.exception
import dns.name

from kdns.errors import ConfigError

#: schemes CoreDNS knows and kdns does not serve yet, with their default ports
UNSUPPORTED = {"tls": 853, "quic": 853, "grpc": 443, "https": 443, "https3": 443}
DEFAULT_PORT = 53


@dataclass(frozen=True, slots=True)
class Address:
    scheme: str
    zone: str
    port: int
    #: True when the key named no port (so -dns.port applies)
    default_port: bool = False


_ZONE = re.compile(r"^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?\.)+$")


def normalize(zone: str) -> str:
    """Lower-cased fully qualified zone; ValueError for a name that is not a valid domain name.

    Labels hold letters, digits, ``-`` and ``_`` (not at the ends of a label for ``-``), at most 63
    octets each and 255 in all; a non-ASCII name is written as IDNA (``xn--``).
    """
    z = zone.strip().lower()
    if z in ("", "."):
        return "."
    try:
        text = dns.name.from_text(z).to_text()
    except (dns.exception.DNSException, UnicodeError) as e:
        raise ValueError(f"invalid zone {zone!r}: {e}") from e
    if not _ZONE.match(text):
        raise ValueError(f"invalid zone {zone!r}: not a domain name")
    return text


def reverse_zones(cidr: str) -> list[str]:
    """Reverse zones covering ``cidr``; masks off the label boundary split into aligned subnets."""
    net: ipaddress.IPv4Network | ipaddress.IPv6Network = ipaddress.ip_network(cidr, strict=False)
    step = 8 if net.version == 4 else 4
    boundary = -(-net.prefixlen // step) * step
    subnets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = (
        [net] if boundary == net.prefixlen else list(net.subnets(new_prefix=boundary))
    )
    out = []
    for sub in subnets:
        labels = sub.network_address.reverse_pointer.split(".")
        keep = sub.prefixlen // step
        total = 4 if net.version == 4 else 32
        out.append(".".join(labels[total - keep :]).lower() + ".")
    return out


def parse_key(key: str, default_port: int = DEFAULT_PORT) -> list[Address]:
    """All addresses a server block key stands for (several for a CIDR key)."""
    scheme, rest = "dns", key
    if "://" in key:
        scheme, rest = key.split("://", 1)
        scheme = scheme.lower()
    if scheme in UNSUPPORTED:
        raise ValueError(f"{scheme}:// servers are not supported yet (only dns://)")
    if scheme != "dns":
        raise ValueError(f"unknown scheme {scheme!r} in {key!r}")
    port_text = ""
    if "/" in rest:
        net, _, mask = rest.partition("/")
        if ":" in mask:
            mask, _, port_text = mask.partition(":")
        try:
            zones = reverse_zones(f"{net}/{mask}")
        except ValueError as e:
            raise ValueError(f"invalid CIDR key {key!r}: {e}") from e
    else:
        if rest.count(":") == 1:
            rest, _, port_text = rest.partition(":")
        zones = [normalize(rest)]
    port = default_port
    if port_text:
        if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
            raise ValueError(f"invalid port {port_text!r} in {key!r}")
        port = int(port_text)
    return [Address(scheme, z, port, not port_text) for z in zones]


def parse_keys(keys: list[str], file: str, line: int, default_port: int) -> list[Address]:
    out: list[Address] = []
    for k in keys:
        try:
            out.extend(parse_key(k, default_port))
        except ValueError as e:
            raise ConfigError(str(e), file=file, line=line) from e
    return out


def zone_match(zones: list[str] | tuple[str, ...], qname: str) -> str | None:
    """The longest of ``zones`` that ``qname`` (lower-case FQDN) is in, or None."""
    best: str | None = None
    for z in zones:
        if (z == "." or qname == z or qname.endswith("." + z)) and (best is None or len(z) > len(best)):
            best = z
    return best
