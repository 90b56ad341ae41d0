"""Rendering the node-local-dns template: placeholders, stubDomains, upstreamNameservers, resolv.conf."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdns.config.parser import parse
from kdns.nodelocal import template
from kdns.nodelocal.template import ConfigMapError, KubeDNS, env_name, read_kubedns, render, resolv_nameservers

BASE = (Path(__file__).resolve().parents[1] / "config" / "corefiles" / "nodelocaldns.Corefile.base").read_text()
BASE = BASE.replace("__PILLAR__DNS__DOMAIN__", "cluster.local")


def _body(text: str) -> str:
    """The Corefile without its comment lines."""
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("#"))


def _block(text: str, key: str) -> list[str]:
    """The stripped lines of the server block whose key is ``key`` (nested blocks included)."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(key + " {"))
    out = []
    depth = 1
    for line in lines[start + 1 :]:
        depth += line.count("{") - line.count("}")
        if depth == 0:
            break
        out.append(line.strip())
    return out


def test_env_name() -> None:
    """The Service name becomes Kubernetes' <NAME>_SERVICE_HOST variable: upper case, dashes to underscores."""
    assert env_name("kube-dns-upstream") == "KUBE_DNS_UPSTREAM_SERVICE_HOST"
    assert env_name("kube-dns") == "KUBE_DNS_SERVICE_HOST"


def test_placeholders_filled(tmp_path: Path) -> None:
    """Local IPs go to bind (all) and health (first, with its port); DNS_SERVER is blanked; CLUSTER_DNS filled."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("search example\nnameserver 192.0.2.53\n")
    out = render(
        BASE, ["169.254.20.10", "10.96.0.10"], cluster_dns="10.96.0.11", kubedns=KubeDNS(), resolv_conf=str(resolv)
    )
    body = _body(out)
    assert "__PILLAR__" not in body
    cluster = _block(out, "cluster.local:53")
    assert "bind 169.254.20.10 10.96.0.10" in cluster
    assert "health 169.254.20.10:8080" in cluster
    assert "forward . 10.96.0.11 {" in cluster
    assert "forward . 10.96.0.11 {" in _block(out, "in-addr.arpa:53")
    assert "forward . 192.0.2.53" in _block(out, ".:53")
    assert [b.keys for b in parse(out, "<test>").blocks] == [
        ["cluster.local:53"],
        ["in-addr.arpa:53"],
        ["ip6.arpa:53"],
        [".:53"],
    ]


def test_dns_server_filled_by_installer_not_repeated() -> None:
    """A kube-dns ClusterIP already in the template and also given as a local IP appears once on the bind line."""
    base = BASE.replace("__PILLAR__DNS__SERVER__", "10.96.0.10")
    out = render(base, ["169.254.20.10", "10.96.0.10"], cluster_dns="10.96.0.11", kubedns=KubeDNS())
    assert "bind 169.254.20.10 10.96.0.10" in _block(out, ".:53")


def test_stub_domains_add_blocks() -> None:
    """Each stubDomains entry adds `<domain>:<port> { errors; cache 30; bind <ips>; forward . <servers> }`."""
    kd = KubeDNS(stub_domains={"acme.local": ["1.2.3.4", "1.2.3.5:5353"]})
    out = render(BASE, ["169.254.20.10"], cluster_dns="10.96.0.11", kubedns=kd, port=53)
    assert _block(out, "acme.local:53") == [
        "errors",
        "cache 30",
        "bind 169.254.20.10",
        "forward . 1.2.3.4 1.2.3.5:5353",
    ]
    assert [b.keys for b in parse(out, "<test>").blocks][-1] == ["acme.local:53"]


def test_upstream_nameservers_replace_resolv_conf_and_tcp() -> None:
    """upstreamNameservers fill UPSTREAM_SERVERS; force_tcp becomes prefer_udp there only (cluster DNS keeps TCP)."""
    base = BASE.replace(
        "forward . __PILLAR__UPSTREAM__SERVERS__",
        "forward . __PILLAR__UPSTREAM__SERVERS__ {\n            force_tcp\n    }",
    )
    out = render(
        base, ["169.254.20.10"], cluster_dns="10.96.0.11", kubedns=KubeDNS(upstream_nameservers=["8.8.8.8", "8.8.4.4"])
    )
    dot = _block(out, ".:53")
    assert "forward . 8.8.8.8 8.8.4.4 {" in dot
    assert "prefer_udp" in dot
    assert "force_tcp" not in dot
    assert "force_tcp" in _block(out, "cluster.local:53")


def test_resolv_conf_fallback(tmp_path: Path) -> None:
    """Without upstreamNameservers the resolv.conf nameservers are used; an unreadable one is passed as a path."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("# comment\nnameserver 10.0.0.2\nnameserver fd00::2\noptions ndots:5\n")
    assert resolv_nameservers(str(resolv)) == ["10.0.0.2", "fd00::2"]
    out = render(BASE, ["169.254.20.10"], cluster_dns="10.96.0.11", kubedns=KubeDNS(), resolv_conf=str(resolv))
    assert "forward . 10.0.0.2 fd00::2" in _block(out, ".:53")
    missing = str(tmp_path / "nope")
    out = render(BASE, ["169.254.20.10"], cluster_dns="10.96.0.11", kubedns=KubeDNS(), resolv_conf=missing)
    assert f"forward . {missing}" in _block(out, ".:53")


def test_read_kubedns(tmp_path: Path) -> None:
    """The ConfigMap keys are JSON files in the mount; missing ones mean nothing configured."""
    assert read_kubedns(str(tmp_path / "absent")) == KubeDNS()
    assert read_kubedns(str(tmp_path)) == KubeDNS()
    (tmp_path / template.STUB_DOMAINS).write_text('{"acme.local": ["1.2.3.4"]}')
    (tmp_path / template.UPSTREAM_NAMESERVERS).write_text('["8.8.8.8"]')
    assert read_kubedns(str(tmp_path)) == KubeDNS({"acme.local": ["1.2.3.4"]}, ["8.8.8.8"])


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        (template.STUB_DOMAINS, "{", "invalid JSON"),
        (template.STUB_DOMAINS, '["1.2.3.4"]', "JSON map"),
        (template.STUB_DOMAINS, '{"a.local": "1.2.3.4"}', "JSON list"),
        (template.UPSTREAM_NAMESERVERS, '{"a": 1}', "JSON list"),
    ],
)
def test_read_kubedns_errors(tmp_path: Path, name: str, text: str, match: str) -> None:
    """A ConfigMap key that is not the expected JSON raises ConfigMapError naming the file."""
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigMapError, match=match):
        read_kubedns(str(tmp_path))


def test_render_needs_an_ip() -> None:
    """Rendering without local IPs is refused."""
    with pytest.raises(ValueError, match="no local IPs"):
        render(BASE, [], cluster_dns="10.96.0.11", kubedns=KubeDNS())
