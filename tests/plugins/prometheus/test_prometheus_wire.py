"""The wire form of prometheus: a cache hit from bytes is recorded exactly as the full path records it."""

from __future__ import annotations

import itertools

import dns.rcode
import pytest

from kdns.metrics import REGISTRY
from kdns.plugin import WireStage
from kdns.plugins.prometheus.plugin import Prometheus
from kdns.testing.wirecache import Entry, FakeWireCache, FinalWriter, reply_bytes, request_of, wire_query

_servers = itertools.count()
SERVFAIL_ENTRY = Entry(rcode=dns.rcode.SERVFAIL)


def series(server: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The core DNS series of ``server`` without the server label (durations: only their count)."""
    out = {}
    for metric in REGISTRY.collect():
        if not metric.name.startswith("coredns_dns_"):
            continue
        for s in metric.samples:
            if s.labels.get("server") != server:
                continue
            if "duration" in s.name and not s.name.endswith("_count"):
                continue  # the time taken differs between two runs
            out[(s.name, tuple(sorted((k, v) for k, v in s.labels.items() if k != "server")))] = s.value
    return out


CASES = [
    ("example.org.", "A", "udp", ("10.240.0.1", 40212), {}, Entry(answer=["example.org. 300 IN A 10.0.0.1"])),
    ("Example.ORG.", "AAAA", "tcp", ("10.240.0.1", 40212), {"use_edns": 0, "payload": 1232}, Entry(rcode=3)),
    (
        "example.org.",
        "A",
        "udp",
        ("2001:db8::1", 40212),
        {"use_edns": 0, "want_dnssec": True},
        Entry(answer=["example.org. 300 IN A 10.0.0.1", "example.org. 300 IN A 10.0.0.2"]),
    ),
    ("example.org.", "NAPTR", "udp", ("10.240.0.1", 40212), {}, Entry(ns=["example.org. 300 IN NS ns.example.org."])),
]


@pytest.mark.parametrize(("name", "qtype", "proto", "remote", "kw", "entry"), CASES)
async def test_a_hit_records_what_the_full_path_records(
    name: str, qtype: str, proto: str, remote: tuple[str, int], kw: dict[str, object], entry: Entry
) -> None:
    """Requests (type, proto, family), DO, sizes, duration count and the rcode/plugin series are the same."""
    full_server = f"dns://full-{next(_servers)}:53"
    fast_server = f"dns://fast-{next(_servers)}:53"
    cache = FakeWireCache({(name.lower(), qtype): entry}, fast=False)

    q = wire_query(name, qtype, remote=remote, proto=proto, server=full_server, zone="example.org.", **kw)
    req = request_of(q)
    req.plugin = "prometheus"
    for _ in range(2):
        await Prometheus(next=cache).serve_dns(FinalWriter(req), req)

    h = Prometheus(next=cache)
    assert isinstance(h, WireStage)
    q = wire_query(name, qtype, remote=remote, proto=proto, server=fast_server, zone="example.org.", **kw)
    reply = reply_bytes(q, entry)
    assert reply is not None
    for _ in range(2):
        assert h.wire_pass(q)
        h.wire_done(q, reply, entry.rcode)

    want = series(full_server)
    assert want, "the full path recorded nothing"
    assert series(fast_server) == want
    rcode = dns.rcode.to_text(dns.rcode.Rcode.make(entry.rcode))
    assert want[("coredns_dns_responses_total", (("plugin", "fakecache"), ("rcode", rcode), ("view", ""),
                                                 ("zone", "example.org.")))] == 2  # fmt: skip


def test_the_plugin_label_is_the_cache_found_down_the_chain() -> None:
    """The plugin label is the name of the first wire cache after prometheus (as the cache writes on the full path)."""
    server = f"dns://fast-{next(_servers)}:53"
    cache = FakeWireCache(name="cache")
    h = Prometheus(next=cache)
    q = wire_query("example.org.", "A", server=server)
    reply = reply_bytes(q, Entry(answer=["example.org. 300 IN A 10.0.0.1"]))
    assert reply is not None
    h.wire_done(q, reply, 0)
    labels = {"server": server, "zone": ".", "view": "", "rcode": "NOERROR", "plugin": "cache"}
    assert REGISTRY.get_sample_value("coredns_dns_responses_total", labels) == 1.0
    size = {"server": server, "zone": ".", "view": "", "proto": "udp"}
    assert REGISTRY.get_sample_value("coredns_dns_response_size_bytes_sum", size) == len(reply)
    assert REGISTRY.get_sample_value("coredns_dns_request_size_bytes_sum", size) == len(q.wire)
