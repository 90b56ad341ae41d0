"""Parsing the kubernetes directive: every option of coredns.md §2.1 (and ``objects``), errors located."""

from __future__ import annotations

from typing import Any

import pytest

from kdns.config.controller import BlockConfig
from kdns.errors import ConfigError
from kdns.pkg.fall import NEVER, ROOT, Fall
from kdns.plugins.kubernetes.options import KubeOptions
from kdns.plugins.kubernetes.plugin import Kubernetes
from kdns.plugins.kubernetes.setup import local_ips, parse, setup, valid_selector
from kdns.testing import controller

Z = ("cluster.local.", "in-addr.arpa.", "ip6.arpa.")


def opts(body: str = "", zones: str = "cluster.local in-addr.arpa ip6.arpa") -> KubeOptions:
    return parse(controller(f"kubernetes {zones} {{\n{body}\n}}"))


@pytest.mark.parametrize(
    ("body", "want"),
    [
        ("", {}),
        ("endpoint https://10.0.0.1:6443", {"endpoint": "https://10.0.0.1:6443"}),
        ("endpoint https://a:6443 https://b:6443", {"endpoint": "https://a:6443"}),
        ("tls /c.pem /k.pem /ca.pem", {"tls_cert": "/c.pem", "tls_key": "/k.pem", "tls_ca": "/ca.pem"}),
        ("kubeconfig /kc", {"kubeconfig": "/kc", "context": ""}),
        ("kubeconfig /kc ctx", {"kubeconfig": "/kc", "context": "ctx"}),
        ("objects /a.yaml /b.json", {"objects": ("/a.yaml", "/b.json")}),
        ("apiserver_qps 20.5", {"api_qps": 20.5}),
        ("apiserver_burst 30", {"api_burst": 30}),
        ("apiserver_max_inflight 4", {"api_max_inflight": 4}),
        ("namespaces prod Default", {"namespaces": frozenset({"prod", "default"})}),
        ("namespace_labels team=dns,env in (a, b)", {"namespace_labels": "team=dns,env in (a, b)"}),
        ("labels app!=x,!legacy", {"labels": "app!=x,!legacy"}),
        ("pods insecure", {"pods": "insecure"}),
        ("pods verified", {"pods": "verified"}),
        ("pods disabled", {"pods": "disabled"}),
        ("endpoint_pod_names", {"endpoint_pod_names": True}),
        ("ttl 30", {"ttl": 30}),
        ("ttl 0", {"ttl": 0}),
        ("ttl 3600", {"ttl": 3600}),
        ("noendpoints", {"noendpoints": True}),
        ("fallthrough", {"fall": ROOT}),
        ("fallthrough in-addr.arpa ip6.arpa", {"fall": Fall(("in-addr.arpa.", "ip6.arpa."))}),
        ("ignore empty_service", {"ignore_empty_service": True}),
        ("startup_timeout 1500ms", {"startup_timeout": 1.5}),
        ("startup_timeout 0", {"startup_timeout": 0.0}),
    ],
)
def test_options(body: str, want: dict[str, Any]) -> None:
    """Each option lands in KubeOptions; everything else keeps its default (ttl 5, startup 5s, pods disabled)."""
    got = opts(body)
    base = KubeOptions(zones=Z)
    for field in ("ttl", "startup_timeout", "pods", "fall", "namespaces", "objects", "noendpoints"):
        if field not in want:
            assert getattr(got, field) == getattr(base, field), field
    for field, value in want.items():
        assert getattr(got, field) == value, field
    assert got.zones == Z


def test_defaults() -> None:
    """Defaults match CoreDNS: ttl 5, startup_timeout 5s, pods disabled, no fallthrough."""
    got = opts()
    assert (got.ttl, got.startup_timeout, got.pods, got.fall) == (5, 5.0, "disabled", NEVER)


def test_zones_from_block() -> None:
    """No zones on the line means the server block's zones; the primary zone is the first forward one."""
    c = controller("kubernetes", zones=("in-addr.arpa", "cluster.local"))
    got = parse(c)
    assert got.zones == ("in-addr.arpa.", "cluster.local.")
    assert got.primary == "cluster.local."


def test_relative_paths_follow_the_corefile() -> None:
    """Relative ``objects``/``kubeconfig``/``tls`` paths are read next to the Corefile naming them."""
    c = controller("kubernetes cluster.local {\n objects demo.yaml /abs.yaml\n kubeconfig kc\n}")
    for d in [c.lines[0], *(c.lines[0].block or [])]:
        d.file = "/etc/kdns/Corefile"
    got = parse(c)
    assert got.objects == ("/etc/kdns/demo.yaml", "/abs.yaml")
    assert got.kubeconfig == "/etc/kdns/kc"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("kubernetes cluster.local {\n endpoint\n}", r"Corefile:2: plugin/kubernetes: wrong argument count"),
        ("kubernetes cluster.local {\n tls a b\n}", r"Corefile:2: .*wrong argument count"),
        ("kubernetes cluster.local {\n kubeconfig\n}", r"Corefile:2: .*wrong argument count"),
        ("kubernetes cluster.local {\n kubeconfig a b c\n}", r"Corefile:2: .*wrong argument count"),
        ("kubernetes cluster.local {\n objects\n}", r"Corefile:2: .*wrong argument count"),
        ("kubernetes cluster.local {\n apiserver_qps x\n}", r"Corefile:2: .*apiserver_qps must be a number"),
        ("kubernetes cluster.local {\n apiserver_qps -1\n}", r"Corefile:2: .*must not be negative"),
        ("kubernetes cluster.local {\n apiserver_burst 1.5\n}", r"Corefile:2: .*apiserver_burst must be an integer"),
        ("kubernetes cluster.local {\n apiserver_max_inflight -2\n}", r"Corefile:2: .*must not be negative"),
        ("kubernetes cluster.local {\n namespaces\n}", r"Corefile:2: .*wrong argument count"),
        ("kubernetes cluster.local {\n labels a=(b\n}", r"Corefile:2: .*unable to parse label selector"),
        ("kubernetes cluster.local {\n namespace_labels =x\n}", r"Corefile:2: .*unable to parse label selector"),
        (
            "kubernetes cluster.local {\n namespaces a\n namespace_labels x=y\n}",
            r"Corefile:3: .*namespaces and namespace_labels cannot both be set",
        ),
        ("kubernetes cluster.local {\n pods maybe\n}", r"Corefile:2: .*invalid value for pods: 'maybe'"),
        ("kubernetes cluster.local {\n pods\n}", r"Corefile:2: .*wrong argument count"),
        ("kubernetes cluster.local {\n endpoint_pod_names x\n}", r"Corefile:2: .*wrong argument count"),
        ("kubernetes cluster.local {\n ttl 3601\n}", r"Corefile:2: .*ttl must be in range \[0, 3600\]: 3601"),
        ("kubernetes cluster.local {\n ttl -1\n}", r"Corefile:2: .*ttl must be in range"),
        ("kubernetes cluster.local {\n ttl x\n}", r"Corefile:2: .*ttl must be an integer"),
        ("kubernetes cluster.local {\n noendpoints x\n}", r"Corefile:2: .*wrong argument count"),
        ("kubernetes cluster.local {\n ignore all\n}", r"Corefile:2: .*unable to parse ignore value"),
        ("kubernetes cluster.local {\n startup_timeout soon\n}", r"Corefile:2: .*invalid duration for startup_timeout"),
        (
            "kubernetes cluster.local {\n multicluster clusterset.local\n}",
            r"Corefile:2: .*multicluster is not supported yet",
        ),
        ("kubernetes cluster.local {\n zonal\n}", r"Corefile:2: .*zonal is not supported yet"),
        ("kubernetes cluster.local {\n resyncperiod 30s\n}", r"Corefile:2: .*unknown property 'resyncperiod'"),
        ("kubernetes cluster.local {\n ttl 5 {\n }\n}", r"Corefile:2: .*wrong argument count"),
        ("kubernetes in-addr.arpa ip6.arpa", r"Corefile:1: .*at least one zone must not be a reverse zone"),
        ("kubernetes cluster.local\nkubernetes example.org", r"Corefile:2: .*only be used once"),
    ],
)
def test_errors(text: str, match: str) -> None:
    """Bad options fail with the file, line and plugin of the offending line."""
    with pytest.raises(ConfigError, match=match):
        parse(controller(text))


@pytest.mark.parametrize(
    ("selector", "ok"),
    [
        ("app=web", True),
        ("app==web", True),
        ("app!=web", True),
        ("app", True),
        ("!app", True),
        ("env in (a,b)", True),
        ("env notin (a, b),tier=x", True),
        ("example.com/team=dns", True),
        ("a=", True),
        ("=x", False),
        ("a=(b", False),
        ("env in (a,b", False),
        ("a b", False),
    ],
)
def test_selector_syntax(selector: str, ok: bool) -> None:
    """Label selectors follow the API's syntax (equality and set-based requirements)."""
    assert valid_selector(selector) is ok


def test_setup_adds_the_handler() -> None:
    """Under -check the directive sets up a Kubernetes handler without touching any API."""
    c = controller("kubernetes cluster.local {\n pods verified\n}")
    setup(c)
    cfg: BlockConfig = c.config
    assert len(cfg.factories) == 1
    h = cfg.factories[0][1](None)
    assert isinstance(h, Kubernetes)
    assert h.opts.pods == "verified"


@pytest.mark.parametrize(
    ("hosts", "want"),
    [
        (["10.0.0.5", "127.0.0.1", "::1", "fe80::1", "2001:db8::5"], ("10.0.0.5", "2001:db8::5")),
        (["not-an-ip"], ()),
    ],
)
def test_local_ips_from_bind(hosts: list[str], want: tuple[str, ...]) -> None:
    """The server's own IPs are its bound addresses without loopback and link-local ones."""
    assert local_ips(hosts) == want


def test_local_ips_every_interface() -> None:
    """Listening everywhere, the own IPs are interface addresses, never loopback."""
    ips = local_ips([""])
    assert "127.0.0.1" not in ips
    assert "::1" not in ips
