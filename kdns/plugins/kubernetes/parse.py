"""The cluster zone's name grammar (reference coredns.md §4.3), pure: labels in, a ``Name`` out.

Forward names are read relative to the matched zone, left to right::

    (apex)                                   APEX
    dns-version                              VERSION
    ns.dns                                   NSDNS
    dns | svc | pod                          ENT (empty non-terminal: NODATA)
    <ns>.svc | <ns>.pod                      NAMESPACE
    <svc>.<ns>.svc                           SERVICE
    <ep>.<svc>.<ns>.svc                      ENDPOINT
    _<proto>.<svc>.<ns>.svc                  PROTO (empty non-terminal above the SRV names)
    _<port>._<proto>.<svc>.<ns>.svc          SRV
    <a-b-c-d>.<ns>.pod                       POD
    anything else                            INVALID (NXDOMAIN)

Reverse names are handled by ``reverse``: a full address, or the prefix of one (an empty non-terminal
when some known address lies below it).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

APEX = "apex"
VERSION = "version"
NSDNS = "nsdns"
ENT = "ent"
NAMESPACE = "namespace"
SERVICE = "service"
ENDPOINT = "endpoint"
PROTO = "proto"
SRV = "srv"
POD = "pod"
INVALID = "invalid"

SVC_LABEL = "svc"
POD_LABEL = "pod"


@dataclass(frozen=True, slots=True)
class Name:
    kind: str
    namespace: str = ""
    service: str = ""
    #: the endpoint label (ENDPOINT), or the pod's IP label (POD)
    endpoint: str = ""
    #: port name and protocol, underscores stripped (SRV; PROTO has only the protocol)
    port: str = ""
    protocol: str = ""


_INVALID = Name(INVALID)
_FIXED = {
    (): Name(APEX),
    ("dns-version",): Name(VERSION),
    ("ns", "dns"): Name(NSDNS),
    ("dns",): Name(ENT),
    (SVC_LABEL,): Name(ENT),
    (POD_LABEL,): Name(ENT),
}


def split(qname: str, zone: str) -> tuple[str, ...]:
    """The labels of ``qname`` above ``zone`` (both lower-case FQDNs, qname in zone), left to right."""
    if qname == zone:
        return ()
    rest = qname[:-1] if zone == "." else qname[: len(qname) - len(zone) - 1]
    return tuple(rest.split(".")) if rest else ()


def parse(labels: tuple[str, ...]) -> Name:
    """What the forward-zone name with ``labels`` (lower case, relative to the zone) asks for."""
    fixed = _FIXED.get(labels)
    if fixed is not None:
        return fixed
    n = len(labels)
    if n < 2:
        return _INVALID
    kind = labels[-1]
    ns = labels[-2]
    if kind == POD_LABEL:
        if n == 2:
            return Name(NAMESPACE, namespace=ns)
        if n == 3:
            return Name(POD, namespace=ns, endpoint=labels[0])
        return _INVALID
    if kind != SVC_LABEL:
        return _INVALID
    if n == 2:
        return Name(NAMESPACE, namespace=ns)
    svc = labels[-3]
    if n == 3:
        return Name(SERVICE, namespace=ns, service=svc)
    if n == 4:
        first = labels[0]
        if first.startswith("_"):
            return Name(PROTO, namespace=ns, service=svc, protocol=first[1:])
        return Name(ENDPOINT, namespace=ns, service=svc, endpoint=first)
    if n == 5 and labels[0].startswith("_") and labels[1].startswith("_"):
        return Name(SRV, namespace=ns, service=svc, port=labels[0][1:], protocol=labels[1][1:])
    return _INVALID


def dashed(ip: str) -> str:
    """The endpoint label CoreDNS derives from an IP: dots or colons become dashes.

    An IPv6 label that would end (or start) with a dash gets a ``0`` there, so it stays a valid
    label and still reads back as the same address (``fd00::`` -> ``fd00--0``).
    """
    if ":" not in ip:
        return ip.replace(".", "-")
    label = ip.replace(":", "-")
    if label.endswith("-"):
        label += "0"
    if label.startswith("-"):
        label = "0" + label
    return label


def pod_ip(label: str) -> str | None:
    """The address a pod label spells (``10-0-0-1``, ``fd00-10--20``), canonical; None if it is none.

    Exactly three dashes and no ``--`` is IPv4; anything else is read as IPv6.
    """
    v4 = label.count("-") == 3 and "--" not in label
    text = label.replace("-", "." if v4 else ":")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


V4_SUFFIX = "in-addr.arpa."
V6_SUFFIX = "ip6.arpa."


def is_reverse(zone: str) -> bool:
    return zone.endswith(V4_SUFFIX) or zone.endswith(V6_SUFFIX)


@dataclass(frozen=True, slots=True)
class Reverse:
    """A reverse name: ``ip`` when it names a whole address; ``prefix`` the address's leading part as hex
    (two digits per IPv4 octet, one per IPv6 nibble), None when the name is no reverse name."""

    ip: str | None
    prefix: str | None
    v6: bool = False


_NOT_REVERSE = Reverse(None, None)


def reverse(qname: str) -> Reverse:
    """Read a lower-case reverse name (``4.3.2.10.in-addr.arpa.`` or the 32-nibble ip6.arpa form)."""
    if qname.endswith("." + V4_SUFFIX) or qname == V4_SUFFIX:
        rest = qname[: -len(V4_SUFFIX)].rstrip(".")
        parts = rest.split(".")[::-1] if rest else []
        if len(parts) > 4 or not all(p.isdigit() and len(p) <= 3 and int(p) < 256 and str(int(p)) == p for p in parts):
            return _NOT_REVERSE
        prefix = "".join(f"{int(o):02x}" for o in parts)
        return Reverse(".".join(parts) if len(parts) == 4 else None, prefix)
    if qname.endswith("." + V6_SUFFIX) or qname == V6_SUFFIX:
        rest = qname[: -len(V6_SUFFIX)].rstrip(".")
        parts = rest.split(".")[::-1] if rest else []
        if len(parts) > 32 or not all(len(p) == 1 and p in "0123456789abcdef" for p in parts):
            return _NOT_REVERSE
        nibbles = "".join(parts)
        ip = str(ipaddress.IPv6Address(int(nibbles, 16))) if len(nibbles) == 32 else None
        return Reverse(ip, nibbles, v6=True)
    return _NOT_REVERSE


def ip_key(ip: str) -> tuple[str, bool]:
    """An address as the hex form ``Reverse.prefix`` is a leading part of, and whether it is IPv6."""
    addr = ipaddress.ip_address(ip)
    return addr.packed.hex(), addr.version == 6
