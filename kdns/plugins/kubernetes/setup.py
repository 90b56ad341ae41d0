"""``kubernetes [ZONES...] { OPTIONS }``: every option of reference coredns.md §2.1, plus kdns's ``objects``."""

from __future__ import annotations

import ipaddress
import itertools
import os
import socket
from collections.abc import Iterable

from kdns.config.controller import Controller
from kdns.config.parser import Directive
from kdns.config.registry import directive
from kdns.log import plugin_logger
from kdns.pkg.duration import parse_duration
from kdns.pkg.fall import NEVER, Fall
from kdns.plugins.kubernetes.options import DEFAULT_STARTUP_TIMEOUT, DEFAULT_TTL, KubeOptions
from kdns.plugins.kubernetes.parse import is_reverse
from kdns.plugins.kubernetes.plugin import NAME, Kubernetes
from kdns.plugins.kubernetes.selector import valid_selector
from kdns.plugins.kubernetes.store import Store

log = plugin_logger(NAME)

PODS_MODES = ("disabled", "verified", "insecure")
MAX_TTL = 3600


def _one(c: Controller, o: Directive) -> str:
    if len(o.args) != 1:
        raise c.arg_err(o)
    return o.args[0]


def _none(c: Controller, o: Directive) -> None:
    if o.args:
        raise c.arg_err(o)


def _int(c: Controller, o: Directive, what: str) -> int:
    try:
        n = int(_one(c, o))
    except ValueError:
        raise c.err(f"{what} must be an integer: {o.args[0]!r}", at=o) from None
    if n < 0:
        raise c.err(f"{what} must not be negative: {n}", at=o)
    return n


def _path(d: Directive, path: str) -> str:
    """A relative path is read next to the Corefile that names it."""
    if os.path.isabs(path):
        return path
    base = os.path.dirname(d.file)
    return os.path.join(base, path) if base else path


def parse(c: Controller) -> KubeOptions:
    """The options of the (single) kubernetes line; ConfigError located at the offending line."""
    d = c.once()
    zones = tuple(dict.fromkeys(c.zones(list(d.args), at=d)))
    if all(is_reverse(z) for z in zones):
        raise c.err("at least one zone must not be a reverse zone (PTR targets live there)", at=d)
    kw: dict[str, object] = {}
    ns_line: Directive | None = None
    nsl_line: Directive | None = None
    for o in d.block or []:
        if o.block is not None:
            raise c.arg_err(o)
        name = o.name
        if name == "endpoint":
            if not o.args:
                raise c.arg_err(o)
            if len(o.args) > 1:
                log.warning("multiple endpoints are not supported, using %s", o.args[0])
            kw["endpoint"] = o.args[0]
        elif name == "tls":
            if len(o.args) != 3:
                raise c.arg_err(o)
            kw["tls_cert"], kw["tls_key"], kw["tls_ca"] = (_path(o, a) for a in o.args)
        elif name == "kubeconfig":
            if len(o.args) not in (1, 2):
                raise c.arg_err(o)
            kw["kubeconfig"] = _path(o, o.args[0])
            kw["context"] = o.args[1] if len(o.args) == 2 else ""
        elif name == "objects":
            if not o.args:
                raise c.arg_err(o)
            kw["objects"] = tuple(_path(o, a) for a in o.args)
        elif name == "apiserver_qps":
            try:
                qps = float(_one(c, o))
            except ValueError:
                raise c.err(f"apiserver_qps must be a number: {o.args[0]!r}", at=o) from None
            if qps < 0 or qps != qps:
                raise c.err(f"apiserver_qps must not be negative: {o.args[0]}", at=o)
            kw["api_qps"] = qps
        elif name == "apiserver_burst":
            kw["api_burst"] = _int(c, o, "apiserver_burst")
        elif name == "apiserver_max_inflight":
            kw["api_max_inflight"] = _int(c, o, "apiserver_max_inflight")
        elif name == "namespaces":
            if not o.args:
                raise c.arg_err(o)
            kw["namespaces"] = frozenset(a.lower() for a in o.args)
            ns_line = o
        elif name in ("namespace_labels", "labels"):
            if not o.args:
                raise c.arg_err(o)
            selector = " ".join(o.args)
            if not valid_selector(selector):
                raise c.err(f"unable to parse label selector {selector!r}", at=o)
            kw[name] = selector
            if name == "namespace_labels":
                nsl_line = o
        elif name == "pods":
            mode = _one(c, o)
            if mode not in PODS_MODES:
                raise c.err(f"invalid value for pods: {mode!r}, must be one of: {', '.join(PODS_MODES)}", at=o)
            kw["pods"] = mode
        elif name == "endpoint_pod_names":
            _none(c, o)
            kw["endpoint_pod_names"] = True
        elif name == "ttl":
            try:
                ttl = int(_one(c, o))
            except ValueError:
                raise c.err(f"ttl must be an integer: {o.args[0]!r}", at=o) from None
            if not 0 <= ttl <= MAX_TTL:
                raise c.err(f"ttl must be in range [0, {MAX_TTL}]: {ttl}", at=o)
            kw["ttl"] = ttl
        elif name == "noendpoints":
            _none(c, o)
            kw["noendpoints"] = True
        elif name == "fallthrough":
            kw["fall"] = Fall.from_directive(c, o)
        elif name == "ignore":
            if _one(c, o) != "empty_service":
                raise c.err(f"unable to parse ignore value: {o.args[0]!r}", at=o)
            kw["ignore_empty_service"] = True
        elif name == "startup_timeout":
            try:
                timeout = parse_duration(_one(c, o))
            except ValueError:
                raise c.err(f"invalid duration for startup_timeout {o.args[0]!r}", at=o) from None
            if timeout < 0:
                raise c.err(f"startup_timeout must not be negative: {o.args[0]}", at=o)
            kw["startup_timeout"] = timeout
        elif name in ("multicluster", "zonal"):
            raise c.err(f"{name} is not supported yet", at=o)
        else:
            raise c.err(f"unknown property {name!r}", at=o)
    if ns_line is not None and nsl_line is not None:
        raise c.err("namespaces and namespace_labels cannot both be set", at=nsl_line)
    kw.setdefault("fall", NEVER)
    kw.setdefault("ttl", DEFAULT_TTL)
    kw.setdefault("startup_timeout", DEFAULT_STARTUP_TIMEOUT)
    return KubeOptions(zones=zones, **kw)  # type: ignore[arg-type]


def local_ips(hosts: Iterable[str]) -> tuple[str, ...]:
    """This server's own addresses for ``ns.dns``: the bound hosts, or every interface address; no loopback."""
    hosts = list(hosts)
    if not hosts or hosts[0] == "":
        hosts = _interface_addresses()
    out: list[str] = []
    for h in hosts:
        try:
            ip = ipaddress.ip_address(h.split("%")[0])
        except ValueError:
            continue
        if ip.is_loopback or ip.is_link_local or ip.is_unspecified:
            continue
        if str(ip) not in out:
            out.append(str(ip))
    return tuple(out)


def _interface_addresses() -> list[str]:
    """The host's interface addresses (Linux /proc; the host name's addresses elsewhere)."""
    out: list[str] = []
    try:
        with open("/proc/net/fib_trie") as f:
            lines = f.read().splitlines()
        for prev, line in itertools.pairwise(lines):
            if "/32 host LOCAL" in line:
                out.append(prev.split()[-1])
    except OSError:
        pass
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                h = line.split()[0]
                out.append(str(ipaddress.IPv6Address(int(h, 16))))
    except (OSError, ValueError, IndexError):
        pass
    if not out:
        try:
            out = [str(a[4][0]) for a in socket.getaddrinfo(socket.gethostname(), None)]
        except OSError:
            pass
    return out


@directive(NAME)
def setup(c: Controller) -> None:
    opts = parse(c)
    store = Store()
    if c.checking:
        c.add_plugin(lambda nxt: Kubernetes(opts=opts, store=store, next=nxt))
        return
    from kdns.plugins.kubernetes.source import make_source  # the API client loads only when serving

    try:
        source = make_source(opts, store)
    except Exception as e:  # a bad kubeconfig, missing service account, unreadable manifest
        raise c.err(f"unable to set up the Kubernetes source: {e}") from e
    ips = local_ips(c.config.listen_hosts)

    async def start() -> None:
        await source.start()
        if not await source.wait_synced(opts.startup_timeout):
            log.warning("starting server with unsynced Kubernetes API")

    c.on_startup(start)
    c.on_shutdown(source.stop)
    c.add_plugin(lambda nxt: Kubernetes(opts=opts, store=store, synced=source.synced, local_ips=ips, next=nxt))
