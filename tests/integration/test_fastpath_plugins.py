"""The stock plugins before *cache* on the cache-hit path, over real UDP and TCP.

A kubeadm-like chain (errors, log, prometheus, loadbalance, a wire cache, whoami) answers hits from
bytes, and its metrics and log lines after N hits are those of the same chain on the full path. Plugins
that must act on a query (acl blocking, a matching rewrite, any for ANY) send that query, and only that
one, down the full path.
"""

from __future__ import annotations

import re

import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from kdns.metrics import REGISTRY
from kdns.testing import run_instance, until
from kdns.testing.wirecache import Entry, FakeWireCache, fake_wire_cache

SOA = "example.org. 300 IN SOA ns.example.org. admin.example.org. 1 7200 3600 1209600 300"
ENTRIES = {
    ("cached.example.org.", "A"): Entry(
        answer=[
            "cached.example.org. 300 IN A 10.0.0.1",
            "cached.example.org. 300 IN A 10.0.0.2",
            "cached.example.org. 300 IN A 10.0.0.3",
        ]
    ),
    ("www.example.org.", "AAAA"): Entry(
        answer=[
            "www.example.org. 300 IN CNAME cached.example.org.",
            "cached.example.org. 300 IN AAAA 2001:db8::1",
            "cached.example.org. 300 IN AAAA 2001:db8::2",
        ]
    ),
    ("gone.example.org.", "A"): Entry(ns=[SOA], rcode=dns.rcode.NXDOMAIN),
    ("cached.example.org.", "TXT"): Entry(answer=['cached.example.org. 300 IN TXT "hi"']),
    ("cached.example.org.", "ANY"): Entry(answer=['cached.example.org. 300 IN TXT "hi"']),
}
KUBEADM = """.:0 {
    errors
    log
    prometheus 127.0.0.1:0
    loadbalance
    fakecache
    whoami
}
"""
#: (qname, qtype, proto, EDNS) of the hits sent to both chains, each with a fixed message ID
QUERIES = [
    ("cached.example.org.", "A", "udp", False),
    ("Cached.Example.ORG.", "A", "tcp", True),
    ("www.example.org.", "AAAA", "udp", True),
    ("gone.example.org.", "A", "tcp", False),
    ("gone.example.org.", "A", "udp", True),
]
Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def series(server: str) -> Series:
    """The coredns_* series of one server label, without that label (durations: only their count)."""
    out: Series = {}
    for metric in REGISTRY.collect():
        for s in metric.samples:
            if s.labels.get("server") != server or ("duration" in s.name and not s.name.endswith("_count")):
                continue
            out[(s.name, tuple(sorted((k, v) for k, v in s.labels.items() if k != "server")))] = s.value
    return out


def delta(before: Series, after: Series) -> Series:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}


def log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The log plugin's lines, client port and duration cut out (they differ between two runs)."""
    lines = [r.getMessage() for r in caplog.records if r.name == "kdns.plugin.log"]
    return [re.sub(r" \d+(\.\d+)?s$", "", re.sub(r"^127\.0\.0\.1:\d+ ", "127.0.0.1:PORT ", x)) for x in lines]


def query(qname: str, qtype: str, edns: bool, qid: int) -> dns.message.Message:
    m = dns.message.make_query(qname, qtype, use_edns=0 if edns else False, payload=1232)
    m.id = qid
    return m


async def run(caplog: pytest.LogCaptureFixture, cache: FakeWireCache, rounds: int) -> tuple[Series, list[str], list]:
    """Send QUERIES ``rounds`` times to the kubeadm-like chain; its metrics, log lines and answers."""
    caplog.clear()
    answers = []
    with fake_wire_cache(cache):
        async with run_instance(KUBEADM) as inst:
            server = f"dns://:{inst.port}"
            before = series(server)
            for _ in range(rounds):
                for i, (qname, qtype, proto, edns) in enumerate(QUERIES):
                    r = await inst.query(query(qname, qtype, edns, 1000 + i), proto=proto)
                    answers.append(
                        (
                            r.rcode(),
                            r.flags,
                            sorted(f"{x.name} {x.rdtype!r} {rd}" for x in r.answer for rd in x),
                            len(r.authority),
                        )
                    )
            total = rounds * len(QUERIES)
            await until(lambda: len(log_lines(caplog)) >= total)
            got = delta(before, series(server))
    return got, log_lines(caplog), answers


async def test_kubeadm_chain_answers_hits_from_bytes_as_the_full_path_would(caplog: pytest.LogCaptureFixture) -> None:
    """N hits: the fast chain never runs the cache's handler, and its metrics, log lines and answers equal the full
    path's for the same queries."""
    rounds = 3
    fast = FakeWireCache(dict(ENTRIES))
    full = FakeWireCache(dict(ENTRIES), fast=False)
    fast_metrics, fast_lines, fast_answers = await run(caplog, fast, rounds)
    full_metrics, full_lines, full_answers = await run(caplog, full, rounds)

    total = rounds * len(QUERIES)
    assert (fast.wire_hits, fast.full_calls) == (total, 0)
    assert (full.wire_hits, full.full_calls) == (0, total)
    assert fast_answers == full_answers
    assert fast_lines == full_lines
    assert len(fast_lines) == total
    assert fast_metrics == full_metrics
    requests = sum(v for (name, _), v in fast_metrics.items() if name == "coredns_dns_requests_total")
    assert requests == total
    responses = {labels: v for (name, labels), v in fast_metrics.items() if name == "coredns_dns_responses_total"}
    assert responses == {
        (("plugin", "fakecache"), ("rcode", "NOERROR"), ("view", ""), ("zone", ".")): 3 * rounds,
        (("plugin", "fakecache"), ("rcode", "NXDOMAIN"), ("view", ""), ("zone", ".")): 2 * rounds,
    }


async def test_loadbalance_shuffles_hits() -> None:
    """Round robin reorders the addresses of hits too: over many hits more than one order is seen."""
    cache = FakeWireCache(dict(ENTRIES))
    orders = set()
    with fake_wire_cache(cache):
        async with run_instance(".:0 {\n loadbalance\n fakecache\n}\n") as inst:
            for _ in range(40):
                r = await inst.query("cached.example.org", "A")
                orders.add(tuple(str(rd) for rd in r.answer[0]))
    assert cache.full_calls == 0
    assert len(orders) > 1
    assert all(sorted(o) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"] for o in orders)


GUARDED = """.:0 {
    acl example.org {
        block type TXT net 127.0.0.0/8
    }
    rewrite name exact renamed.example.org cached.example.org
    any
    fakecache
    whoami
}
"""


def acl_count(name: str, server: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(f"coredns_acl_{name}_requests_total", {"server": server, **labels})
    return value or 0.0


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_plugins_that_must_act_send_only_their_queries_down_the_full_path(proto: str) -> None:
    """acl blocking, a matching rewrite and any for ANY take the full path; a plain hit still comes from bytes."""
    cache = FakeWireCache(dict(ENTRIES))
    with fake_wire_cache(cache):
        async with run_instance(GUARDED) as inst:
            server = f"dns://:{inst.port}"
            allowed = acl_count("allowed", server, view="")

            hit = await inst.query("cached.example.org", "A", proto=proto)
            assert sorted(str(rd) for rd in hit.answer[0]) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
            assert (cache.wire_hits, cache.full_calls) == (1, 0)
            assert acl_count("allowed", server, view="") == allowed + 1

            blocked = await inst.query("cached.example.org", "TXT", proto=proto)
            assert blocked.rcode() == dns.rcode.REFUSED
            assert (cache.wire_hits, cache.full_calls) == (1, 0)  # acl answered: the cache saw nothing
            assert acl_count("blocked", server, zone="example.org.", view="") == 1
            assert acl_count("allowed", server, view="") == allowed + 1

            renamed = await inst.query("renamed.example.org", "A", proto=proto)
            assert renamed.answer[0].name.to_text() == "renamed.example.org."
            assert len(renamed.answer[0]) == 3
            assert (cache.wire_hits, cache.full_calls) == (1, 1)  # answered by the cache's full handler
            assert acl_count("allowed", server, view="") == allowed + 2

            any_reply = await inst.query("cached.example.org", "ANY", proto=proto)
            assert any_reply.answer[0].rdtype == dns.rdatatype.HINFO
            assert (cache.wire_hits, cache.full_calls) == (1, 1)  # any answered before the cache

            again = await inst.query("cached.example.org", "A", proto=proto)
            assert again.rcode() == dns.rcode.NOERROR
            assert (cache.wire_hits, cache.full_calls) == (2, 1)
