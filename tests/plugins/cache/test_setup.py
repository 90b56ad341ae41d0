"""Parsing ``cache [TTL] [ZONES...] { ... }`` and setting it up."""

from __future__ import annotations

import pytest

from kdns.errors import ConfigError
from kdns.plugins.cache.plugin import Cache
from kdns.plugins.cache.setup import parse, setup
from kdns.plugins.cache.store import Options, Store
from kdns.testing import controller


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("cache", Options()),
        ("cache 300", Options(success_ttl=300, denial_ttl=300)),
        ("cache example.org", Options(zones=("example.org.",))),
        (
            "cache 10 example.org Example.NET",
            Options(zones=("example.org.", "example.net."), success_ttl=10, denial_ttl=10),
        ),
        ("cache 10.0.0.0/24", Options(zones=("0.0.10.in-addr.arpa.",))),
        ("cache {\n success 5000\n}", Options(success_cap=5000)),
        ("cache {\n success 5000 30\n}", Options(success_cap=5000, success_ttl=30)),
        ("cache {\n success 5000 30 0\n}", Options(success_cap=5000, success_ttl=30, success_minttl=0)),
        ("cache {\n denial 2500 5 1\n}", Options(denial_cap=2500, denial_ttl=5, denial_minttl=1)),
        ("cache 30 {\n success 9984 30\n denial 9984 5\n}", Options(success_ttl=30, denial_ttl=5)),
        ("cache {\n prefetch 10\n}", Options(prefetch=10)),
        ("cache {\n prefetch 2 30s\n}", Options(prefetch=2, prefetch_window=30.0)),
        ("cache {\n prefetch 2 2m 50%\n}", Options(prefetch=2, prefetch_window=120.0, prefetch_pct=50)),
        ("cache {\n serve_stale\n}", Options(stale=3600.0)),
        ("cache {\n serve_stale 20m\n}", Options(stale=1200.0)),
        ("cache {\n serve_stale 1h immediate\n}", Options(stale=3600.0)),
        ("cache {\n serve_stale 30s VERIFY\n}", Options(stale=30.0, verify=True)),
        ("cache {\n serve_stale 1h immediate 30s 10s\n}", Options(stale=3600.0, stale_ttl=30, recheck=10.0)),
        ("cache {\n serve_stale 1h verify 100ms\n}", Options(stale=3600.0, verify=True, verify_timeout=0.1)),
        (
            "cache {\n serve_stale 1h verify 100ms 30s 5m\n}",
            Options(stale=3600.0, verify=True, verify_timeout=0.1, stale_ttl=30, recheck=300.0),
        ),
        (
            "cache {\n serve_stale_policy prefer_positive\n serve_stale 1h\n}",
            Options(stale=3600.0, prefer_positive=True),
        ),
        ("cache {\n servfail 0\n}", Options(servfail=0.0)),
        ("cache {\n servfail 5m\n}", Options(servfail=300.0)),
        ("cache {\n disable success\n}", Options(disable_success=(".",))),
        (
            "cache {\n disable denial example.org sub.example.net\n}",
            Options(disable_denial=("example.org.", "sub.example.net.")),
        ),
        ("cache {\n keepttl\n}", Options(keepttl=True)),
    ],
)
def test_parse(text: str, want: Options) -> None:
    """CoreDNS's defaults (9984 entries, 3600s/1800s, minttl 5, servfail 5s, prefetch 1m 10%, stale 1h), overrides."""
    assert parse(controller(text)) == want


def test_zones_default_to_block_zones() -> None:
    """Without ZONES the cache covers the server block's zones."""
    assert parse(controller("cache 30", zones=("example.org", "example.net"))).zones == ("example.org.", "example.net.")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("cache 0", "cache TTL can not be zero or negative: 0"),
        ("cache -1", "cache TTL can not be zero or negative: -1"),
        ("cache {\n success\n}", "wrong argument count"),
        ("cache {\n success many\n}", "invalid number 'many'"),
        ("cache {\n success 10 0\n}", "cache TTL can not be zero or negative: 0"),
        ("cache {\n success 10 10 -1\n}", "cache min TTL can not be negative: -1"),
        ("cache {\n denial 10 10 1 1\n}", "wrong argument count"),
        ("cache {\n prefetch\n}", "wrong argument count"),
        ("cache {\n prefetch -1\n}", "prefetch amount should be positive: -1"),
        ("cache {\n prefetch 1 soon\n}", "invalid duration"),
        ("cache {\n prefetch 1 1m 50\n}", "last character of percentage should be `%`"),
        ("cache {\n prefetch 1 1m 95%\n}", r"percentage should fall in range \[10, 90\]: 95"),
        ("cache {\n prefetch 1 1m 5%\n}", r"percentage should fall in range \[10, 90\]: 5"),
        ("cache {\n serve_stale 1h verify 1s 30s 30s 1s\n}", "wrong argument count"),
        ("cache {\n serve_stale 1h immediate 30s 30s 1s\n}", "wrong argument count"),
        ("cache {\n serve_stale 1h verify extra\n}", "invalid duration"),
        ("cache {\n serve_stale 1h immediate 30s 6m\n}", "serve_stale failure recheck over 5 minutes is not permitted"),
        ("cache {\n serve_stale 1h verify -1s\n}", "invalid negative verify timeout for serve_stale"),
        ("cache {\n serve_stale_policy prefer_positive\n}", "serve_stale_policy needs serve_stale"),
        ("cache {\n serve_stale 1h\n serve_stale_policy newest\n}", "invalid serve_stale_policy: newest"),
        ("cache {\n serve_stale 1h\n serve_stale_policy\n}", "wrong argument count"),
        ("cache {\n serve_stale -1s\n}", "invalid negative duration for serve_stale"),
        ("cache {\n serve_stale 1h later\n}", "invalid value for serve_stale refresh mode: later"),
        ("cache {\n servfail\n}", "wrong argument count"),
        ("cache {\n servfail -1s\n}", "invalid negative ttl for servfail"),
        ("cache {\n servfail 6m\n}", "caching SERVFAIL responses over 5 minutes is not permitted"),
        ("cache {\n disable\n}", "wrong argument count"),
        ("cache {\n disable errors\n}", 'cache type for disable must be "success" or "denial"'),
        ("cache {\n keepttl 1\n}", "wrong argument count"),
        ("cache {\n unknown\n}", "unknown property 'unknown'"),
        ("cache {\n success 10 {\n }\n}", "wrong argument count"),
        ("cache\ncache", "plugin can only be used once per Server Block"),
    ],
)
def test_parse_errors(text: str, match: str) -> None:
    """Each bad line is a located ConfigError naming the plugin."""
    with pytest.raises(ConfigError, match=match) as e:
        parse(controller(text))
    assert "plugin/cache" in str(e.value)


def test_capacity_is_split_over_256_shards() -> None:
    """Capacity rounds down to a multiple of 256 with at least 4 entries a shard (CoreDNS: 9984 = 256x39, min 1024)."""
    assert Store(Options()).success.capacity == 9984
    assert Store(Options(success_cap=5000)).success.capacity == 256 * 19
    assert Store(Options(denial_cap=10)).denial.capacity == 1024


def test_setup_adds_one_cache_sharing_the_next_handler() -> None:
    """setup adds the handler; its factory links the next plugin and the zones label joins the zones."""
    c = controller("cache 30 example.org example.net")
    setup(c)
    assert len(c.config.factories) == 1
    name, factory = c.config.factories[0]
    nxt = Cache(opts=Options(), store=Store(Options()))
    h = factory(nxt)
    assert name == "cache"
    assert isinstance(h, Cache)
    assert h.next is nxt
    assert h.zones_label == "example.org.,example.net."
