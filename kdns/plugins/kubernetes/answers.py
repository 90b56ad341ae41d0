"""Answers from the Store, pure: (name, type) in, the reply's sections out (spec R0-R22, coredns.md §4.3-4.5).

A name either exists or not, whatever the type asked (RFC 1034): a name that exists without records of
the asked type is NODATA, a name that does not is NXDOMAIN. Negative answers carry the zone's SOA.
Owner names echo the query's spelling; derived names (SRV/NS targets, SOA) are built from object
names and the query's spelling of the zone.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.NS
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.rdtypes.IN.SRV
import dns.rrset

from kdns.pkg.fall import match_zone
from kdns.plugins.kubernetes import parse as p
from kdns.plugins.kubernetes.objects import Endpoint, EndpointSlice, Port, Service
from kdns.plugins.kubernetes.options import KubeOptions
from kdns.plugins.kubernetes.store import Store

IN = dns.rdataclass.IN
A = dns.rdatatype.A
AAAA = dns.rdatatype.AAAA
SRV = dns.rdatatype.SRV
PTR = dns.rdatatype.PTR
CNAME = dns.rdatatype.CNAME
TXT = dns.rdatatype.TXT
SOA = dns.rdatatype.SOA
NS = dns.rdatatype.NS

NOERROR = dns.rcode.NOERROR
NXDOMAIN = dns.rcode.NXDOMAIN

DNS_SCHEMA_VERSION = "1.1.0"
VERSION_TTL = 28800
#: SOA timers (CoreDNS's): refresh, retry, expire
SOA_TIMERS = (7200, 1800, 86400)
#: the longest chain of in-zone ExternalName targets followed
MAX_CHASE = 10

RRsets = tuple[dns.rrset.RRset, ...]


@dataclass(frozen=True, slots=True)
class Result:
    rcode: int
    answer: RRsets = ()
    authority: RRsets = ()
    extra: RRsets = ()
    #: an out-of-zone CNAME target whose A/AAAA the handler resolves through the rest of the chain
    chase: str | None = None
    #: NXDOMAIN from the cluster data itself (where fallthrough and the unsynced SERVFAIL apply)
    name_error: bool = False


@dataclass(slots=True)
class _Node:
    """What one name holds: whether it exists, its records of the asked type, their glue, or a CNAME."""

    exists: bool
    records: list[dns.rrset.RRset]
    extra: list[dns.rrset.RRset]
    cname: str | None = None


_NX = _Node(False, [], [])


def _nodata() -> _Node:
    return _Node(True, [], [])


def _name(text: str) -> dns.name.Name:
    return dns.name.from_text(text)


def _rrset(owner: dns.name.Name, rdtype: int, ttl: int, rdatas: Iterable[object]) -> dns.rrset.RRset:
    rs = dns.rrset.RRset(owner, IN, dns.rdatatype.RdataType.make(rdtype))
    rs.update_ttl(ttl)
    for rd in rdatas:
        rs.add(rd)  # type: ignore[arg-type]
    return rs


def _addr_rdata(ip: str) -> tuple[int, object]:
    if ":" in ip:
        return AAAA, dns.rdtypes.IN.AAAA.AAAA(IN, AAAA, ip)
    return A, dns.rdtypes.IN.A.A(IN, A, ip)


def _addresses(owner: dns.name.Name, qtype: int, ttl: int, ips: Iterable[str]) -> list[dns.rrset.RRset]:
    """One A or AAAA set (as ``qtype``) of the ``ips`` of that family; none when there are none."""
    rds = []
    for ip in ips:
        t, rd = _addr_rdata(ip)
        if t == qtype:
            rds.append(rd)
    return [_rrset(owner, qtype, ttl, rds)] if rds else []


def _glue(pairs: Iterable[tuple[str, str]], ttl: int) -> list[dns.rrset.RRset]:
    """A/AAAA sets for (target, ip) pairs, one set per target and family, in first-seen order."""
    sets: dict[tuple[str, int], dns.rrset.RRset] = {}
    for target, ip in pairs:
        t, rd = _addr_rdata(ip)
        rs = sets.get((target, t))
        if rs is None:
            rs = sets[(target, t)] = _rrset(_name(target), t, ttl, ())
        rs.add(rd)  # type: ignore[arg-type]
    return list(sets.values())


def endpoint_label(ep: Endpoint, ip: str, pod_names: bool) -> str:
    """An endpoint's DNS label: its hostname, else (``endpoint_pod_names``) its pod's name, else the dashed IP."""
    if ep.hostname:
        return ep.hostname.lower()
    if pod_names and ep.pod_name:
        return ep.pod_name.lower()
    return p.dashed(ip)


def _port_match(port: str | None, proto: str | None) -> Callable[[Port], bool]:
    """A port filter: None for the name means every port (named or not), '' for the proto means any."""

    def match(pt: Port) -> bool:
        if pt.port < 0:
            return False
        if port is None:
            return True
        if not pt.name or (port and pt.name.lower() != port):
            return False
        return not proto or pt.protocol.lower() == proto

    return match


class Answers:
    """Computes ``Result`` s for names in the plugin's zones from a ``Store``."""

    def __init__(self, store: Store, opts: KubeOptions, local_ips: tuple[str, ...] = ()) -> None:
        self.store = store
        self.opts = opts
        self.local_ips = local_ips
        self.ttl = opts.ttl
        self.primary = opts.primary
        self.forward_zones = tuple(z for z in opts.zones if not p.is_reverse(z))
        #: SOA sets by the zone's spelling, for the store's current serial (negative answers share them)
        self._soas: dict[str, dns.rrset.RRset] = {}
        self._soa_serial = -1
        #: sorted address keys for reverse empty non-terminals, and the store generation they are for
        self._rev_keys: tuple[list[str], list[str]] = ([], [])
        self._rev_gen = -1
        self._ip_keys: dict[str, tuple[str, bool]] = {}

    # -- entry --------------------------------------------------------------------------

    def lookup(self, qname: str, qname_raw: str, zone: str, qtype: int) -> Result:
        """The answer to ``qname_raw``/``qtype`` (``qname`` its lower case) in plugin zone ``zone``."""
        return self._lookup(qname, qname_raw, zone, qtype, 0, set())

    def _lookup(self, qname: str, qname_raw: str, zone: str, qtype: int, depth: int, seen: set[str]) -> Result:
        zq = qname_raw[len(qname_raw) - len(zone) :] if zone != "." else "."
        owner = _name(qname_raw)
        node = self._node(qname, zone, zq, owner, qtype)
        if not node.exists:
            return Result(NXDOMAIN, authority=(self.soa(zone, zq),), name_error=True)
        if node.cname is None:
            if node.records:
                return Result(NOERROR, tuple(node.records), (), tuple(node.extra))
            return Result(NOERROR, authority=(self.soa(zone, zq),))
        cname = _rrset(owner, CNAME, self.ttl, [dns.rdtypes.ANY.CNAME.CNAME(IN, CNAME, _name(node.cname))])
        if qtype == CNAME:
            return Result(NOERROR, (cname,))
        target = node.cname.lower()
        tzone = match_zone(self.forward_zones, target)
        if tzone is None:
            # out of the cluster zones: A/AAAA go through the rest of the chain, other types get the CNAME
            return Result(NOERROR, (cname,), chase=node.cname if qtype in (A, AAAA) else None)
        seen.add(qname)
        if depth >= MAX_CHASE or target in seen:
            return Result(NOERROR, (cname,))
        inner = self._lookup(target, node.cname, tzone, qtype, depth + 1, seen)
        if inner.rcode == NXDOMAIN:
            return Result(NXDOMAIN, (cname, *inner.answer), inner.authority)
        return Result(NOERROR, (cname, *inner.answer), inner.authority if not inner.answer else (),
                      inner.extra, inner.chase)  # fmt: skip

    def soa(self, zone: str, zq: str) -> dns.rrset.RRset:
        """The zone's SOA (owner in the query's spelling), TTL min(ttl, 300), minimum ttl; one per serial."""
        serial = self.store.modified
        if serial != self._soa_serial or len(self._soas) > 1000:
            self._soas.clear()
            self._soa_serial = serial
        rs = self._soas.get(zq)
        if rs is None:
            rs = self._soas[zq] = self._make_soa(zq)
        return rs

    def _make_soa(self, zq: str) -> dns.rrset.RRset:
        rd = dns.rdtypes.ANY.SOA.SOA(
            IN,
            SOA,
            _name("ns.dns." + zq if zq != "." else "ns.dns."),
            _name("hostmaster." + zq if zq != "." else "hostmaster."),
            self.store.modified & 0xFFFFFFFF,
            *SOA_TIMERS,
            self.ttl,
        )
        return _rrset(_name(zq), SOA, min(self.ttl, 300), [rd])

    # -- names ---------------------------------------------------------------------------

    def _node(self, qname: str, zone: str, zq: str, owner: dns.name.Name, qtype: int) -> _Node:
        labels = p.split(qname, zone)
        if not labels:
            return self._apex(zone, zq, owner, qtype)
        if labels == ("ns", "dns"):
            return _Node(True, _addresses(owner, qtype, self.ttl, self.local_ips), [])
        if labels == ("dns",):
            return _nodata()
        if p.is_reverse(zone):
            return self._reverse(qname, owner, qtype)
        name = p.parse(labels)
        kind = name.kind
        if kind == p.SERVICE:
            return self._service_node(name, zq, owner, qtype)
        if kind == p.ENDPOINT:
            return self._endpoint_node(name, zq, owner, qtype)
        if kind == p.SRV or kind == p.PROTO:
            return self._srv_node(name, zq, owner, qtype)
        if kind == p.POD:
            return self._pod_node(name, owner, qtype)
        if kind == p.NAMESPACE:
            return _nodata() if self.exposed(name.namespace) else _NX
        if kind == p.VERSION:
            if qtype != TXT:
                return _nodata()
            txt = dns.rdtypes.ANY.TXT.TXT(IN, TXT, [DNS_SCHEMA_VERSION])
            return _Node(True, [_rrset(owner, TXT, VERSION_TTL, [txt])], [])
        if kind == p.ENT:
            return _nodata()
        return _NX

    def _apex(self, zone: str, zq: str, owner: dns.name.Name, qtype: int) -> _Node:
        if qtype == SOA:
            soa = self.soa(zone, zq)
            return _Node(True, [soa], [])
        if qtype == NS:
            targets, glue = self._nameservers(zq)
            ns = _rrset(owner, NS, self.ttl, [dns.rdtypes.ANY.NS.NS(IN, NS, _name(t)) for t in targets])
            return _Node(True, [ns], _glue(glue, self.ttl))
        return _nodata()

    def _nameservers(self, zq: str) -> tuple[list[str], list[tuple[str, str]]]:
        """NS targets and glue: the Services whose endpoints are this server's IPs, else ``ns.dns.<zone>``."""
        targets: list[str] = []
        glue: list[tuple[str, str]] = []
        for ip in self.local_ips:
            for sl, ep in self.store.endpoints_by_ip(ip):
                svc = self.store.service(sl.namespace, sl.service)
                if svc is None or svc.type == "ExternalName":
                    continue
                if svc.headless:
                    label = endpoint_label(ep, ip, self.opts.endpoint_pod_names)
                    target = f"{label}.{svc.name}.{svc.namespace}.svc.{zq}"
                    ips: Iterable[str] = (ip,)
                else:
                    target = f"{svc.name}.{svc.namespace}.svc.{zq}"
                    ips = svc.cluster_ips
                if target not in targets:
                    targets.append(target)
                glue.extend((target, i) for i in ips)
        if not targets:
            target = "ns.dns." + zq
            targets.append(target)
            glue.extend((target, ip) for ip in self.local_ips)
        return targets, glue

    # -- services ------------------------------------------------------------------------

    def exposed(self, namespace: str) -> bool:
        """A namespace answers when the ``namespaces`` option allows it and the Namespace exists."""
        allowed = self.opts.namespaces
        if allowed and namespace not in allowed:
            return False
        return self.store.namespace(namespace) is not None

    def _service(self, namespace: str, name: str) -> Service | None:
        if not self.exposed(namespace):
            return None
        svc = self.store.service(namespace, name)
        if svc is None:
            return None
        if svc.type == "ExternalName":
            return svc if _external_target(svc) is not None else None
        if self.opts.ignore_empty_service and not svc.headless and not self.ready(svc):
            return None
        return svc

    def ready(self, svc: Service) -> list[tuple[EndpointSlice, Endpoint, str]]:
        """The Service's ready endpoint addresses across its slices (slice, endpoint, IP)."""
        if self.opts.noendpoints:
            return []
        out: list[tuple[EndpointSlice, Endpoint, str]] = []
        for sl in self.store.slices(svc.namespace, svc.name):
            if sl.address_type == "FQDN":
                continue
            for ep in sl.endpoints:
                if ep.ready or svc.publish_not_ready:
                    out.extend((sl, ep, ip) for ip in ep.addresses)
        return out

    def _service_node(self, name: p.Name, zq: str, owner: dns.name.Name, qtype: int) -> _Node:
        svc = self._service(name.namespace, name.service)
        if svc is None:
            return _NX
        if svc.type == "ExternalName":
            return _Node(True, [], [], cname=_external_target(svc))
        if svc.headless:
            addrs = self.ready(svc)
            if not addrs:
                return _NX  # spec: a headless service with no ready endpoints does not exist
            if qtype in (A, AAAA):
                return _Node(True, _addresses(owner, qtype, self.ttl, (ip for _, _, ip in addrs)), [])
            if qtype == SRV:
                return self._srv(owner, self._headless_entries(svc, addrs, zq, _port_match(None, None)))
            return _nodata()
        if qtype in (A, AAAA):
            return _Node(True, _addresses(owner, qtype, self.ttl, svc.cluster_ips), [])
        if qtype == SRV:
            return self._srv(owner, self._cluster_entries(svc, zq, _port_match(None, None)))
        return _nodata()

    def _cluster_entries(self, svc: Service, zq: str, match: Callable[[Port], bool]) -> list[tuple[str, int, str]]:
        target = f"{svc.name}.{svc.namespace}.svc.{zq}"
        return [(target, pt.port, ip) for ip in svc.cluster_ips for pt in svc.ports if match(pt)]

    def _headless_entries(
        self,
        svc: Service,
        addrs: list[tuple[EndpointSlice, Endpoint, str]],
        zq: str,
        match: Callable[[Port], bool],
    ) -> list[tuple[str, int, str]]:
        suffix = f".{svc.name}.{svc.namespace}.svc.{zq}"
        pod_names = self.opts.endpoint_pod_names
        return [
            (endpoint_label(ep, ip, pod_names) + suffix, pt.port, ip)
            for sl, ep, ip in addrs
            for pt in sl.ports
            if match(pt)
        ]

    def _srv(self, owner: dns.name.Name, entries: list[tuple[str, int, str]]) -> _Node:
        """SRV records (priority 0, weight floor(100/N) counted before duplicates collapse) with glue."""
        if not entries:
            return _nodata()
        weight = max(1, 100 // len(entries))
        rds = [dns.rdtypes.IN.SRV.SRV(IN, SRV, 0, weight, port, _name(target)) for target, port, _ in entries]
        glue = _glue(((t, ip) for t, _, ip in entries), self.ttl)
        return _Node(True, [_rrset(owner, SRV, self.ttl, rds)], glue)

    def _endpoint_node(self, name: p.Name, zq: str, owner: dns.name.Name, qtype: int) -> _Node:
        svc = self._service(name.namespace, name.service)
        if svc is None or svc.type == "ExternalName":
            return _NX
        pod_names = self.opts.endpoint_pod_names
        addrs = [a for a in self.ready(svc) if endpoint_label(a[1], a[2], pod_names) == name.endpoint]
        if not addrs:
            return _NX
        if qtype in (A, AAAA):
            return _Node(True, _addresses(owner, qtype, self.ttl, (ip for _, _, ip in addrs)), [])
        if qtype == SRV:
            return self._srv(owner, self._headless_entries(svc, addrs, zq, _port_match(None, None)))
        return _nodata()

    def _srv_node(self, name: p.Name, zq: str, owner: dns.name.Name, qtype: int) -> _Node:
        """``_port._proto.<svc>`` (SRV) and the empty non-terminal ``_proto.<svc>`` above it."""
        svc = self._service(name.namespace, name.service)
        if svc is None or svc.type == "ExternalName":
            return _NX
        port = name.port if name.kind == p.SRV else ""
        match = _port_match(port, name.protocol)
        if svc.headless:
            entries = self._headless_entries(svc, self.ready(svc), zq, match)
        else:
            entries = self._cluster_entries(svc, zq, match)
        if not entries:
            return _NX
        if qtype == SRV and name.kind == p.SRV:
            return self._srv(owner, entries)
        return _nodata()

    # -- pods ----------------------------------------------------------------------------

    def _pod_node(self, name: p.Name, owner: dns.name.Name, qtype: int) -> _Node:
        mode = self.opts.pods
        if mode == "disabled" or not self.exposed(name.namespace):
            return _NX
        ip = p.pod_ip(name.endpoint)
        if ip is None:
            return _NX
        if mode == "verified" and not any(pd.namespace == name.namespace for pd in self.store.pods_by_ip(ip)):
            return _NX
        return _Node(True, _addresses(owner, qtype, self.ttl, (ip,)), [])

    # -- reverse -------------------------------------------------------------------------

    def _reverse(self, qname: str, owner: dns.name.Name, qtype: int) -> _Node:
        rev = p.reverse(qname)
        if rev.ip is not None:
            targets = self.ptr_targets(rev.ip)
            if not targets:
                return _NX
            if qtype != PTR:
                return _nodata()
            rds = [dns.rdtypes.ANY.PTR.PTR(IN, PTR, _name(t)) for t in targets]
            return _Node(True, [_rrset(owner, PTR, self.ttl, rds)], [])
        if rev.prefix is not None and self._any_under(rev.prefix, rev.v6):
            return _nodata()  # an empty non-terminal above a known address
        return _NX

    def _namespace_ok(self, namespace: str) -> bool:
        return not self.opts.namespaces or namespace in self.opts.namespaces

    def ptr_targets(self, ip: str) -> list[str]:
        """PTR targets for ``ip`` in the primary zone: its Service (ClusterIP), else one per endpoint's Service."""
        for svc in self.store.services_by_ip(ip):
            if self._namespace_ok(svc.namespace):
                return [f"{svc.name}.{svc.namespace}.svc.{self.primary}"]
        if self.opts.noendpoints:
            return []
        out: list[str] = []
        pod_names = self.opts.endpoint_pod_names
        for sl, ep in self.store.endpoints_by_ip(ip):
            if not sl.service or not self._namespace_ok(sl.namespace):
                continue
            if not ep.ready:
                owner = self.store.service(sl.namespace, sl.service)
                if owner is None or not owner.publish_not_ready:
                    continue
            t = f"{endpoint_label(ep, ip, pod_names)}.{sl.service}.{sl.namespace}.svc.{self.primary}"
            if t not in out:
                out.append(t)
        return out

    def _any_under(self, prefix: str, v6: bool) -> bool:
        """True when some address with a PTR lies below a reverse prefix (index built once per generation)."""
        gen = self.store.generation
        if self._rev_gen != gen:
            self._rev_keys = self._reverse_keys()
            self._rev_gen = gen
        keys = self._rev_keys[1 if v6 else 0]
        i = bisect.bisect_left(keys, prefix)
        return i < len(keys) and keys[i].startswith(prefix)

    def _reverse_keys(self) -> tuple[list[str], list[str]]:
        """Sorted hex keys (IPv4, IPv6) of every address ``ptr_targets`` answers for."""
        out: tuple[set[str], set[str]] = (set(), set())
        keys = self._ip_keys  # kept across rebuilds: parsing addresses is most of the cost
        if len(keys) > 500_000:
            keys.clear()

        def add(ip: str) -> None:
            kv = keys.get(ip)
            if kv is None:
                kv = keys[ip] = p.ip_key(ip)
            out[1 if kv[1] else 0].add(kv[0])

        for svc in self.store.services():
            if self._namespace_ok(svc.namespace):
                for ip in svc.cluster_ips:
                    add(ip)
        if not self.opts.noendpoints:
            for sl in self.store.objects["EndpointSlice"].values():
                if not isinstance(sl, EndpointSlice) or not sl.service or not self._namespace_ok(sl.namespace):
                    continue
                owner = self.store.service(sl.namespace, sl.service)
                pnr = owner is not None and owner.publish_not_ready
                for ep in sl.endpoints:
                    if ep.ready or pnr:
                        for ip in ep.addresses:
                            add(ip)
        return sorted(out[0]), sorted(out[1])


def _external_target(svc: Service) -> str | None:
    """The ExternalName target as an absolute name; None for an IP literal or a bad name (no record)."""
    target = svc.external_name.strip()
    if not target:
        return None
    try:
        ipaddress.ip_address(target.rstrip("."))
        return None
    except ValueError:
        pass
    try:
        return dns.name.from_text(target).to_text()
    except Exception:
        return None
