"""Fill the node-local-dns Corefile template (``__PILLAR__`` placeholders): pure functions, no I/O but reads."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

LOCAL_DNS = "__PILLAR__LOCAL__DNS__"
DNS_SERVER = "__PILLAR__DNS__SERVER__"
CLUSTER_DNS = "__PILLAR__CLUSTER__DNS__"
UPSTREAM_SERVERS = "__PILLAR__UPSTREAM__SERVERS__"
#: file names of the kube-dns ConfigMap keys, as mounted in the -kubednscm directory
STUB_DOMAINS = "stubDomains"
UPSTREAM_NAMESERVERS = "upstreamNameservers"
RESOLV_CONF = "/etc/resolv.conf"


class ConfigMapError(ValueError):
    """A kube-dns ConfigMap key that is not the JSON it should be."""


@dataclass(slots=True)
class KubeDNS:
    """What the kube-dns ConfigMap says: per-domain upstreams and the upstreams for everything else."""

    stub_domains: dict[str, list[str]] = field(default_factory=dict)
    upstream_nameservers: list[str] = field(default_factory=list)


def env_name(svc: str) -> str:
    """The variable Kubernetes sets for a Service's ClusterIP: kube-dns-upstream -> KUBE_DNS_UPSTREAM_SERVICE_HOST."""
    return svc.upper().replace("-", "_") + "_SERVICE_HOST"


def _read_json(path: str) -> object | None:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ConfigMapError(f"{path}: {e}") from e
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as e:
        raise ConfigMapError(f"{path}: invalid JSON: {e}") from e


def _strings(path: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
        raise ConfigMapError(f"{path}: want a JSON list of addresses")
    return list(value)


def read_kubedns(directory: str | None) -> KubeDNS:
    """Read ``stubDomains`` (JSON map domain -> list) and ``upstreamNameservers`` (JSON list) from ``directory``.

    A missing directory or key means nothing configured; a key that is not the right JSON raises ConfigMapError.
    """
    out = KubeDNS()
    if not directory or not os.path.isdir(directory):
        return out
    path = os.path.join(directory, STUB_DOMAINS)
    stubs = _read_json(path)
    if stubs is not None:
        if not isinstance(stubs, dict):
            raise ConfigMapError(f"{path}: want a JSON map of domain to addresses")
        out.stub_domains = {str(k): _strings(path, v) for k, v in stubs.items()}
    path = os.path.join(directory, UPSTREAM_NAMESERVERS)
    upstream = _read_json(path)
    if upstream is not None:
        out.upstream_nameservers = _strings(path, upstream)
    return out


def resolv_nameservers(path: str = RESOLV_CONF) -> list[str]:
    """The ``nameserver`` addresses of a resolv.conf (empty when it cannot be read)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            out.append(words[1])
    return out


def _fill_line(line: str, ips: list[str]) -> str:
    """``addr:port`` uses (health) get the first IP; anywhere else (bind) all of them."""
    line = line.replace(LOCAL_DNS + ":", ips[0] + ":").replace(LOCAL_DNS, " ".join(ips))
    words = line.split()
    if words and words[0] == "bind":  # a ClusterIP both filled in and passed as -localip must appear once
        indent = line[: len(line) - len(line.lstrip())]
        line = indent + " ".join(dict.fromkeys(words))
    return line


def _stub_block(domain: str, port: int, ips: list[str], servers: list[str]) -> str:
    return (
        f"{domain}:{port} {{\n"
        "    errors\n"
        "    cache 30\n"
        f"    bind {' '.join(ips)}\n"
        f"    forward . {' '.join(servers)}\n"
        "}\n"
    )


def render(
    base: str,
    local_ips: list[str],
    *,
    cluster_dns: str,
    kubedns: KubeDNS,
    resolv_conf: str = RESOLV_CONF,
    port: int = 53,
) -> str:
    """The Corefile for ``base`` (the template text).

    ``__PILLAR__LOCAL__DNS__`` becomes the local IPs (the first one in ``IP:port`` forms), a leftover
    ``__PILLAR__DNS__SERVER__`` is blanked, ``__PILLAR__CLUSTER__DNS__`` becomes ``cluster_dns``, and
    ``__PILLAR__UPSTREAM__SERVERS__`` the ConfigMap's upstreamNameservers, else the nameservers of
    ``resolv_conf`` (else its path, which *forward* reads itself). With ConfigMap upstreams, a
    ``force_tcp`` in the blocks forwarding to them becomes ``prefer_udp``. Each stub domain adds a block.
    """
    if not local_ips:
        raise ValueError("no local IPs")
    if kubedns.upstream_nameservers:
        upstream = " ".join(kubedns.upstream_nameservers)
        base = _prefer_udp(base)
    else:
        upstream = " ".join(resolv_nameservers(resolv_conf)) or resolv_conf
    lines = []
    for line in base.split("\n"):
        if not line.lstrip().startswith("#"):  # comments keep their placeholders
            line = line.replace(DNS_SERVER, "").replace(CLUSTER_DNS, cluster_dns).replace(UPSTREAM_SERVERS, upstream)
            if LOCAL_DNS in line:
                line = _fill_line(line, local_ips)
        lines.append(line)
    text = "\n".join(lines)
    if not text.endswith("\n"):
        text += "\n"
    for domain, servers in sorted(kubedns.stub_domains.items()):
        text += _stub_block(domain, port, local_ips, servers)
    return text


def _prefer_udp(text: str) -> str:
    """Swap ``force_tcp`` for ``prefer_udp`` inside the forward blocks whose upstream is UPSTREAM_SERVERS."""
    out: list[str] = []
    inside = False
    for line in text.split("\n"):
        words = line.split()
        if words[:1] == ["forward"] and UPSTREAM_SERVERS in words:
            inside = words[-1] == "{"
        elif inside and words == ["force_tcp"]:
            line = line.replace("force_tcp", "prefer_udp")
        elif inside and words[:1] == ["}"]:
            inside = False
        out.append(line)
    return "\n".join(out)
