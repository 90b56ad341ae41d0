"""Server block keys: scheme, zone normalisation, ports, CIDR reverse zones."""

from __future__ import annotations

import ipaddress

import pytest

from kdns.config.address import Address, normalize, parse_key, parse_keys, reverse_zones, zone_match
from kdns.errors import ConfigError


@pytest.mark.parametrize(
    ("key", "want"),
    [
        pytest.param(".", [Address("dns", ".", 53, True)], id="root"),
        pytest.param("Example.ORG", [Address("dns", "example.org.", 53, True)], id="lower-fqdn"),
        pytest.param("example.org.", [Address("dns", "example.org.", 53, True)], id="already-fqdn"),
        pytest.param("example.org:1053", [Address("dns", "example.org.", 1053, False)], id="port"),
        pytest.param("dns://example.org", [Address("dns", "example.org.", 53, True)], id="dns-scheme"),
        pytest.param("DNS://.:5300", [Address("dns", ".", 5300, False)], id="scheme-case"),
        pytest.param(":1053", [Address("dns", ".", 1053, False)], id="port-only"),
        pytest.param(".:0", [Address("dns", ".", 0, False)], id="port-zero"),
        pytest.param("_tcp.example.org", [Address("dns", "_tcp.example.org.", 53, True)], id="underscore"),
        pytest.param("bücher.example", [Address("dns", "xn--bcher-kva.example.", 53, True)], id="idna"),
        pytest.param("10.0.0.0/24", [Address("dns", "0.0.10.in-addr.arpa.", 53, True)], id="cidr24"),
        pytest.param("10.0.0.0/8", [Address("dns", "10.in-addr.arpa.", 53, True)], id="cidr8"),
        pytest.param("10.1.2.3/24", [Address("dns", "2.1.10.in-addr.arpa.", 53, True)], id="cidr-host-bits"),
        pytest.param("10.0.0.0/24:5353", [Address("dns", "0.0.10.in-addr.arpa.", 5353, False)], id="cidr-port"),
        pytest.param("dns://10.0.0.0/24:5353", [Address("dns", "0.0.10.in-addr.arpa.", 5353, False)], id="cidr-all"),
        pytest.param("0.0.0.0/0", [Address("dns", "in-addr.arpa.", 53, True)], id="cidr-v4-all"),
        pytest.param("fd00::/16", [Address("dns", "0.0.d.f.ip6.arpa.", 53, True)], id="cidr-v6"),
        pytest.param("fd00::/16:5353", [Address("dns", "0.0.d.f.ip6.arpa.", 5353, False)], id="cidr-v6-port"),
    ],
)
def test_parse_key(key: str, want: list[Address]) -> None:
    """A key gives its normalised zone(s) and port; default_port marks keys without a port."""
    assert parse_key(key) == want


def test_default_port_applies_only_without_port() -> None:
    """-dns.port (the default port) replaces 53 only for keys that name no port."""
    assert parse_key("example.org", 1053)[0].port == 1053
    assert parse_key("example.org:5300", 1053)[0].port == 5300


@pytest.mark.parametrize(
    ("cidr", "count", "first", "last"),
    [
        ("10.0.0.0/17", 128, "0.0.10.in-addr.arpa.", "127.0.10.in-addr.arpa."),
        ("10.0.0.0/27", 32, "0.0.0.10.in-addr.arpa.", "31.0.0.10.in-addr.arpa."),
        ("10.0.0.32/27", 32, "32.0.0.10.in-addr.arpa.", "63.0.0.10.in-addr.arpa."),
        ("10.0.0.0/9", 128, "0.10.in-addr.arpa.", "127.10.in-addr.arpa."),
        ("172.16.0.0/12", 16, "16.172.in-addr.arpa.", "31.172.in-addr.arpa."),
        ("fd00::/63", 2, "0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa."),
        ("fd00::/14", 4, "0.0.d.f.ip6.arpa.", "3.0.d.f.ip6.arpa."),
    ],
)
def test_non_boundary_masks_split(cidr: str, count: int, first: str, last: str) -> None:
    """Masks off an octet (v4) or nibble (v6) boundary become every aligned subnet's zone."""
    zones = reverse_zones(cidr)
    assert len(zones) == count
    assert (zones[0], zones[-1]) == (first, last)
    assert len(set(zones)) == count


@pytest.mark.parametrize("cidr", ["10.0.0.0/17", "192.168.4.0/22", "10.0.0.0/27", "fd00:1::/61"])
def test_split_zones_cover_exactly_the_network(cidr: str) -> None:
    """Every address of the network falls in exactly one of the zones, and no address outside it does."""
    net = ipaddress.ip_network(cidr)
    zones = reverse_zones(cidr)
    inside = [net.network_address, net.broadcast_address, net.network_address + net.num_addresses // 2]
    outside = [net.network_address - 1, net.broadcast_address + 1]
    for addr in inside:
        assert zone_match(zones, addr.reverse_pointer + ".") is not None
    for addr in outside:
        assert zone_match(zones, addr.reverse_pointer + ".") is None


@pytest.mark.parametrize(
    ("key", "msg"),
    [
        ("tls://example.org", r"tls:// servers are not supported yet"),
        ("https://.", r"https:// servers are not supported yet"),
        ("grpc://.:443", r"grpc:// servers are not supported yet"),
        ("quic://.", r"quic:// servers are not supported yet"),
        ("https3://.", r"https3:// servers are not supported yet"),
        ("foo://.", r"unknown scheme 'foo'"),
        ("example.org:99999", r"invalid port '99999'"),
        ("example.org:http", r"invalid port 'http'"),
        ("example.org:\u0665\u0663", r"invalid port"),
        ("a..b", r"invalid zone 'a..b'"),
        ("exa mple.org", r"invalid zone"),
        ("a/b.org", r"invalid CIDR key"),
        ("10.0/16", r"invalid CIDR key"),
        ("10.0.0.0/33", r"invalid CIDR key"),
        ("10.0.0.0/24:x", r"invalid port 'x'"),
        ("[::1]:53", r"invalid zone"),
        ("-bad.org", r"invalid zone"),
        ("x" * 64 + ".org", r"invalid zone"),
        (".".join(["abcdefghij"] * 26), r"invalid zone"),
    ],
)
def test_bad_keys(key: str, msg: str) -> None:
    """Unsupported schemes, bad ports, bad names (also > 255 chars) and bad CIDRs are errors."""
    with pytest.raises(ValueError, match=msg):
        parse_key(key)


def test_parse_keys_errors_are_located() -> None:
    """parse_keys turns a bad key into 'FILE:LINE: message'."""
    with pytest.raises(ConfigError, match=r"^C:7: tls:// servers are not supported yet \(only dns://\)$"):
        parse_keys(["example.org", "tls://example.org"], "C", 7, 53)


def test_normalize() -> None:
    """normalize lower-cases and qualifies; empty and '.' are the root."""
    assert normalize("Cluster.Local") == "cluster.local."
    assert normalize("") == "."
    assert normalize(".") == "."
    assert len(normalize(".".join(["a" * 60] * 4))) == 4 * 61
