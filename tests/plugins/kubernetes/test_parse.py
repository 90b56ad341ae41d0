"""The cluster zone's name grammar (coredns.md §4.3): labels to a Name, pod labels, reverse names."""

from __future__ import annotations

import pytest

from kdns.plugins.kubernetes import parse as p
from kdns.plugins.kubernetes.parse import Name


@pytest.mark.parametrize(
    ("qname", "zone", "labels"),
    [
        ("cluster.local.", "cluster.local.", ()),
        ("web.prod.svc.cluster.local.", "cluster.local.", ("web", "prod", "svc")),
        ("a.b.", ".", ("a", "b")),
        (".", ".", ()),
        ("4.3.2.1.in-addr.arpa.", "in-addr.arpa.", ("4", "3", "2", "1")),
    ],
)
def test_split(qname: str, zone: str, labels: tuple[str, ...]) -> None:
    """``split`` gives the labels above the zone, left to right; the apex has none."""
    assert p.split(qname, zone) == labels


@pytest.mark.parametrize(
    ("labels", "want"),
    [
        ((), Name(p.APEX)),
        (("dns-version",), Name(p.VERSION)),
        (("ns", "dns"), Name(p.NSDNS)),
        (("dns",), Name(p.ENT)),
        (("svc",), Name(p.ENT)),
        (("pod",), Name(p.ENT)),
        (("prod", "svc"), Name(p.NAMESPACE, namespace="prod")),
        (("prod", "pod"), Name(p.NAMESPACE, namespace="prod")),
        (("web", "prod", "svc"), Name(p.SERVICE, namespace="prod", service="web")),
        (("1web", "prod", "svc"), Name(p.SERVICE, namespace="prod", service="1web")),
        (("db-0", "db", "prod", "svc"), Name(p.ENDPOINT, namespace="prod", service="db", endpoint="db-0")),
        (("_tcp", "web", "prod", "svc"), Name(p.PROTO, namespace="prod", service="web", protocol="tcp")),
        (
            ("_http", "_tcp", "web", "prod", "svc"),
            Name(p.SRV, namespace="prod", service="web", port="http", protocol="tcp"),
        ),
        (("10-0-0-1", "prod", "pod"), Name(p.POD, namespace="prod", endpoint="10-0-0-1")),
        (("foo",), Name(p.INVALID)),
        (("prod", "foo"), Name(p.INVALID)),
        (("http", "tcp", "web", "prod", "svc"), Name(p.INVALID)),
        (("_http", "tcp", "web", "prod", "svc"), Name(p.INVALID)),
        (("a", "_http", "_tcp", "web", "prod", "svc"), Name(p.INVALID)),
        (("a", "10-0-0-1", "prod", "pod"), Name(p.INVALID)),
        (("x", "ns", "dns"), Name(p.INVALID)),
    ],
)
def test_parse(labels: tuple[str, ...], want: Name) -> None:
    """Each shape of §4.3 is recognised; anything else is INVALID (NXDOMAIN); SRV needs both underscores."""
    assert p.parse(labels) == want


@pytest.mark.parametrize(
    ("ip", "label"),
    [
        ("10.244.1.10", "10-244-1-10"),
        ("fd00:10:244:1::10", "fd00-10-244-1--10"),
        ("2001:db8::", "2001-db8--0"),
        ("::1", "0--1"),
    ],
)
def test_dashed(ip: str, label: str) -> None:
    """R0: dashed IPs: dots or colons to dashes; a trailing (or leading) dash gets a 0."""
    assert p.dashed(ip) == label


@pytest.mark.parametrize(
    ("label", "ip"),
    [
        ("10-244-1-10", "10.244.1.10"),
        ("fd00-10-244-1--10", "fd00:10:244:1::10"),
        ("2001-db8--0", "2001:db8::"),
        ("1-2-3", None),
        ("1-2-3-4-5", None),
        ("a-b-c-d", None),
        ("10-0-0-256", None),
        ("010-0-0-1", None),
        ("web", None),
    ],
)
def test_pod_ip(label: str, ip: str | None) -> None:
    """R10: three dashes and no ``--`` read as IPv4, anything else as IPv6; non-addresses are None."""
    assert p.pod_ip(label) == ip


@pytest.mark.parametrize(
    ("qname", "ip", "prefix"),
    [
        ("4.3.2.10.in-addr.arpa.", "10.2.3.4", "0a020304"),
        ("96.10.in-addr.arpa.", None, "0a60"),
        ("in-addr.arpa.", None, ""),
        ("x.10.in-addr.arpa.", None, None),
        ("300.10.in-addr.arpa.", None, None),
        ("01.10.in-addr.arpa.", None, None),
        ("5.4.3.2.1.in-addr.arpa.", None, None),
        (
            "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.",
            "fd00:10:96::a",
            "fd00001000960000000000000000000a",
        ),
        ("d.f.ip6.arpa.", None, "fd"),
        ("g.f.ip6.arpa.", None, None),
        ("example.org.", None, None),
    ],
)
def test_reverse(qname: str, ip: str | None, prefix: object) -> None:
    """Reverse names give a whole address or a prefix of one; anything malformed gives neither."""
    r = p.reverse(qname)
    assert r.ip == ip
    assert r.prefix == prefix


def test_ip_key() -> None:
    """An address's key is its hex form, which reverse prefixes are leading parts of."""
    assert p.ip_key("10.96.1.10") == ("0a60010a", False)
    assert p.ip_key("10.96.1.10")[0].startswith(p.reverse("96.10.in-addr.arpa.").prefix or "-")
    assert p.ip_key("fd00:10:96::a") == ("fd00001000960000000000000000000a", True)


@pytest.mark.parametrize(
    ("zone", "want"),
    [("in-addr.arpa.", True), ("10.in-addr.arpa.", True), ("ip6.arpa.", True), ("cluster.local.", False)],
)
def test_is_reverse(zone: str, want: bool) -> None:
    """Reverse zones are the in-addr.arpa and ip6.arpa trees."""
    assert p.is_reverse(zone) is want
