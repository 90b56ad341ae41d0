"""Parsing ``forward FROM TO... { ... }``: every option and its errors."""

from __future__ import annotations

from pathlib import Path

import dns.rcode
import pytest

from kdns.errors import ConfigError
from kdns.plugins.forward.plugin import Forward
from kdns.plugins.forward.setup import ForwardOptions, To, parse, setup
from kdns.testing import controller


def one(text: str) -> ForwardOptions:
    (o,) = parse(controller(text))
    return o


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("forward . 127.0.0.1", ForwardOptions(tos=[To("dns", "127.0.0.1", 53)])),
        ("forward example.org 127.0.0.1:1053", ForwardOptions(zone="example.org.", tos=[To("dns", "127.0.0.1", 1053)])),
        ("forward . dns://10.0.0.1:5353", ForwardOptions(tos=[To("dns", "10.0.0.1", 5353)])),
        ("forward . [::1]:53 ::2", ForwardOptions(tos=[To("dns", "::1", 53), To("dns", "::2", 53)])),
        ("forward . tls://9.9.9.9", ForwardOptions(tos=[To("tls", "9.9.9.9", 853)])),
        ("forward . tls://9.9.9.9%dns.quad9.net", ForwardOptions(tos=[To("tls", "9.9.9.9", 853, "dns.quad9.net")])),
        (
            "forward . tls://9.9.9.9%dns.quad9.net:10853",
            ForwardOptions(tos=[To("tls", "9.9.9.9", 10853, "dns.quad9.net")]),
        ),
        ("forward . 10.0.0.1 10.0.0.1:53", ForwardOptions(tos=[To("dns", "10.0.0.1", 53)])),
        ("forward 10.0.0.0/24 10.0.0.1", ForwardOptions(zone="0.0.10.in-addr.arpa.", tos=[To("dns", "10.0.0.1", 53)])),
        (
            "forward . 10.0.0.1 {\n except example.org Example.NET\n}",
            ForwardOptions(tos=[To("dns", "10.0.0.1", 53)], excepts=["example.org.", "example.net."]),
        ),
        ("forward . 10.0.0.1 {\n force_tcp\n prefer_udp\n}", ForwardOptions(tos=[To("dns", "10.0.0.1", 53)],
                                                                             force_tcp=True, prefer_udp=True)),
        (
            "forward . 10.0.0.1 {\n expire 30s\n max_age 1m\n max_idle_conns 4\n read_timeout 500ms\n}",
            ForwardOptions(tos=[To("dns", "10.0.0.1", 53)], expire=30.0, max_age=60.0, max_idle_conns=4,
                           read_timeout=0.5),
        ),
        (
            "forward . 10.0.0.1 {\n max_fails 0\n max_connect_attempts 3\n max_concurrent 100\n}",
            ForwardOptions(tos=[To("dns", "10.0.0.1", 53)], max_fails=0, max_connect_attempts=3, max_concurrent=100),
        ),
        (
            "forward . 10.0.0.1 {\n health_check 5s no_rec domain Example.org\n}",
            ForwardOptions(tos=[To("dns", "10.0.0.1", 53)], hc_interval=5.0, hc_recursion=False,
                           hc_domain="example.org."),
        ),
        ("forward . 10.0.0.1 {\n health_check 100ms\n}", ForwardOptions(tos=[To("dns", "10.0.0.1", 53)],
                                                                         hc_interval=0.1)),
        (
            "forward . tls://10.0.0.1 {\n tls\n tls_servername dns.example\n}",
            ForwardOptions(tos=[To("tls", "10.0.0.1", 853)], tls=(), tls_servername="dns.example"),
        ),
        ("forward . 10.0.0.1 {\n policy round_robin\n}", ForwardOptions(tos=[To("dns", "10.0.0.1", 53)],
                                                                          policy="round_robin")),
        ("forward . 10.0.0.1 {\n policy sequential\n}", ForwardOptions(tos=[To("dns", "10.0.0.1", 53)],
                                                                         policy="sequential")),
        (
            "forward . 10.0.0.1 {\n next NXDOMAIN servfail\n next_on_nodata\n}",
            ForwardOptions(tos=[To("dns", "10.0.0.1", 53)],
                           next_rcodes=frozenset({dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL}), next_on_nodata=True),
        ),
        (
            "forward . 10.0.0.1 {\n failover SERVFAIL REFUSED\n failfast_all_unhealthy_upstreams\n}",
            ForwardOptions(tos=[To("dns", "10.0.0.1", 53)],
                           failover=frozenset({dns.rcode.SERVFAIL, dns.rcode.REFUSED}),
                           failfast_all_unhealthy_upstreams=True),
        ),
        (
            "forward . DNS.example:5353 tls://dot.example {\n resolver 10.0.0.53 [::1]:5300\n}",
            ForwardOptions(tos=[To("dns", "dns.example.", 5353, hostname=True), To("tls", "dot.example.", 853,
                                                                                   hostname=True)],
                           resolvers=[("10.0.0.53", 53), ("::1", 5300)]),
        ),
        ("forward . 10.0.0.1 {\n source_address 127.0.0.1\n}", ForwardOptions(tos=[To("dns", "10.0.0.1", 53)],
                                                                                source_address="127.0.0.1")),
    ],
)  # fmt: skip
def test_parse(text: str, want: ForwardOptions) -> None:
    """Each TO form and each option parses to the expected options."""
    assert one(text) == want


def test_defaults() -> None:
    """Defaults are CoreDNS's: random policy, 10s expire, 2s read timeout, 2 max_fails, 0.5s checks of '.' with RD."""
    o = one("forward . 10.0.0.1")
    assert (o.policy, o.expire, o.read_timeout, o.max_fails, o.hc_interval, o.hc_domain, o.hc_recursion) == (
        "random",
        10.0,
        2.0,
        2,
        0.5,
        ".",
        True,
    )
    assert (o.force_tcp, o.prefer_udp, o.max_concurrent, o.max_connect_attempts) == (False, False, 0, None)


def test_resolv_conf(tmp_path: Path) -> None:
    """A file TO reads its nameserver lines (port 53) and ignores everything else."""
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch example.org\nnameserver 10.0.0.1\nnameserver fe80::1%eth0\noptions ndots:5\n")
    assert one(f"forward . {conf}").tos == [To("dns", "10.0.0.1", 53), To("dns", "fe80::1", 53)]


def test_several_lines_keep_order() -> None:
    """Several forward lines parse to one options object each, in written order."""
    got = parse(controller("forward example.org 10.0.0.1\nforward . 10.0.0.2"))
    assert [o.zone for o in got] == ["example.org.", "."]


def test_setup_chains_lines_in_written_order() -> None:
    """setup adds one plugin per line; built into a chain, the first line hands on to the second."""
    c = controller("forward example.org 10.0.0.1\nforward . 10.0.0.2")
    setup(c)
    assert [name for name, _ in c.config.factories] == ["forward", "forward"]
    second = c.config.factories[1][1](None)
    first = c.config.factories[0][1](second)
    assert isinstance(first, Forward)
    assert first.next is second
    assert [u.to for u in first.upstreams] == ["10.0.0.1:53"]


@pytest.mark.parametrize(
    ("text", "msg"),
    [
        ("forward", "wrong argument count"),
        ("forward .", "wrong argument count"),
        ("forward . foo_bar", "not an IP address, host name or file: 'foo_bar'"),
        ("forward . dns.example:70000", "not an IP address, host name or file"),
        ("forward . 10.0.0.1 {\n resolver\n}", "wrong argument count"),
        ("forward . 10.0.0.1 {\n resolver dns.example\n}", "resolver: 'dns.example' is not an IP address"),
        ("forward . /does/not/exist", "cannot read /does/not/exist"),
        ("forward . https://9.9.9.9", "'https' .* not supported"),
        ("forward . grpc://9.9.9.9", "'grpc' is not supported as a destination protocol"),
        ("forward . 10.0.0.1:99999", "not an IP address, host name or file"),
        ("forward . " + " ".join(f"10.0.0.{i}" for i in range(1, 17)), "more than 15 TOs configured: 16"),
        ("forward . 10.0.0.1 {\n bogus\n}", "unknown property 'bogus'"),
        ("forward . 10.0.0.1 {\n except\n}", "wrong argument count"),
        ("forward . 10.0.0.1 {\n force_tcp yes\n}", "wrong argument count"),
        ("forward . 10.0.0.1 {\n prefer_udp 1\n}", "wrong argument count"),
        ("forward . 10.0.0.1 {\n expire\n}", "wrong argument count"),
        ("forward . 10.0.0.1 {\n expire 10x\n}", "invalid duration '10x'"),
        ("forward . 10.0.0.1 {\n expire -1s\n}", "expire can't be negative"),
        ("forward . 10.0.0.1 {\n max_age 5s\n}", "max_age must not be shorter than expire"),
        ("forward . 10.0.0.1 {\n read_timeout 0\n}", "read_timeout can't be zero"),
        ("forward . 10.0.0.1 {\n max_idle_conns -1\n}", "not a non-negative integer"),
        ("forward . 10.0.0.1 {\n max_fails two\n}", "not a non-negative integer"),
        ("forward . 10.0.0.1 {\n max_connect_attempts\n}", "wrong argument count"),
        ("forward . 10.0.0.1 {\n max_concurrent -5\n}", "not a non-negative integer"),
        ("forward . 10.0.0.1 {\n health_check\n}", "wrong argument count"),
        ("forward . 10.0.0.1 {\n health_check -1s\n}", "health_check can't be negative"),
        ("forward . 10.0.0.1 {\n health_check 1s bogus\n}", "health_check: unknown option bogus"),
        ("forward . 10.0.0.1 {\n health_check 1s domain\n}", "wrong argument count"),
        ("forward . 10.0.0.1 {\n health_check 1s domain a..b\n}", "health_check: invalid domain name"),
        ("forward . tls://10.0.0.1 {\n tls a b c d\n}", "wrong argument count"),
        ("forward . tls://10.0.0.1 {\n tls /no/such/ca.pem\n}", "tls: "),
        ("forward . 10.0.0.1 {\n tls_servername\n}", "wrong argument count"),
        ("forward . tls://10.0.0.1%a.example {\n tls_servername b.example\n}", "both tls_servername and"),
        ("forward . 10.0.0.1 {\n policy fastest\n}", "unknown policy 'fastest'"),
        ("forward . 10.0.0.1 {\n policy\n}", "wrong argument count"),
        ("forward . 10.0.0.1 {\n next\n}", "wrong argument count"),
        ("forward . 10.0.0.1 {\n next NOPE\n}", "next: 'NOPE' is not a valid rcode"),
        ("forward . 10.0.0.1 {\n next_on_nodata x\n}", "wrong argument count"),
        ("forward . 10.0.0.1 {\n failover\n}", "wrong argument count"),
        ("forward . 10.0.0.1 {\n failover NOERROR\n}", "failover: NOERROR cannot be used"),
        ("forward . 10.0.0.1 {\n failfast_all_unhealthy_upstreams now\n}", "wrong argument count"),
        ("forward . 10.0.0.1 {\n source_address here\n}", "source_address: 'here' is not an IP address"),
        ("forward . 10.0.0.1 {\n doh_method GET\n}", "DNS over HTTPS is not supported"),
    ],
)
def test_parse_errors(text: str, msg: str) -> None:
    """Bad lines fail setup with a located plugin/forward error."""
    with pytest.raises(ConfigError, match=msg) as e:
        setup(controller(text))
    assert str(e.value).startswith("Corefile:")
    assert "plugin/forward: " in str(e.value)


def test_empty_resolv_conf(tmp_path: Path) -> None:
    """A file TO with no nameserver line is an error."""
    conf = tmp_path / "resolv.conf"
    conf.write_text("search example.org\n")
    with pytest.raises(ConfigError, match="no nameservers found"):
        setup(controller(f"forward . {conf}"))
