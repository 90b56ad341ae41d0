"""Differential: what a cache hit returns equals what the miss returned, apart from ID and TTLs.

Each reply is fetched once through the cache (a miss: the next plugin answers and the reply is
stored), then asked again with another spelling of the name; the hit, from the full path and from
the cache-hit (wire) path, must carry the same header flags (AA is always set on hits), the same
question (as the hit's client spelled it), the same records in the same order and the same EDNS.
"""

from __future__ import annotations

from typing import Any

import dns.flags
import dns.message
import dns.rcode
import pytest

SOA = "example.org. 3600 IN SOA ns.example.org. host.example.org. 1 7200 3600 1209600 300"

REPLIES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "A": (
        "www.example.org.",
        "A",
        {"answer": ("www.example.org. 300 IN A 10.0.0.1", "www.example.org. 300 IN A 10.0.0.2")},
    ),
    "AAAA": ("www.example.org.", "AAAA", {"answer": ("www.example.org. 300 IN AAAA 2001:db8::1",)}),
    "CNAME chain": (
        "www.example.org.",
        "A",
        {
            "answer": (
                "www.example.org. 300 IN CNAME a.example.org.",
                "a.example.org. 300 IN CNAME b.example.net.",
                "b.example.net. 60 IN A 10.0.0.3",
            ),
            "aa": False,
        },
    ),
    "NXDOMAIN with SOA": ("nx.example.org.", "A", {"rcode": dns.rcode.NXDOMAIN, "ns": (SOA,)}),
    "NODATA": ("www.example.org.", "TXT", {"ns": (SOA,)}),
    "MX with additional": (
        "example.org.",
        "MX",
        {
            "answer": ("example.org. 300 IN MX 10 mail.example.org.", "example.org. 300 IN MX 20 mx2.example.org."),
            "extra": ("mail.example.org. 300 IN A 10.0.0.9", "mx2.example.org. 300 IN AAAA 2001:db8::9"),
            "ad": True,
        },
    ),
    "big TXT": (
        "txt.example.org.",
        "TXT",
        {"answer": tuple(f'txt.example.org. 300 IN TXT "{i:02d}{"t" * 180}"' for i in range(8))},
    ),
    "SRV": (
        "_sip._udp.example.org.",
        "SRV",
        {"answer": ("_sip._udp.example.org. 300 IN SRV 0 5 5060 sip.example.org.",)},
    ),
}

#: (proto, query options)
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "udp": ("udp", {}),
    "udp edns": ("udp", {"edns": True, "payload": 4096}),
    "udp DO": ("udp", {"do": True, "payload": 4096}),
    "udp CD": ("udp", {"cd": True, "edns": True, "payload": 4096}),
    "tcp": ("tcp", {}),
    "tcp DO CD": ("tcp", {"do": True, "cd": True}),
}


def respell(name: str) -> str:
    """Another case of the same name: every other letter upper-cased."""
    return "".join(c.upper() if i % 2 else c for i, c in enumerate(name))


def view(data: bytes) -> tuple[Any, ...]:
    """Everything of a reply but its ID and TTLs: flags, question (with case), records in order, EDNS."""
    m = dns.message.from_wire(data)
    sections = tuple(
        tuple((r.name.to_text(), r.rdclass, r.rdtype, tuple(rd.to_text() for rd in r)) for r in section)
        for section in (m.answer, m.authority, m.additional)
    )
    question = tuple((q.name.to_text(), q.rdtype, q.rdclass) for q in m.question)
    return m.flags, question, sections, m.edns, m.ednsflags, m.payload, tuple(m.options)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("reply", REPLIES)
async def test_hit_equals_miss(kit: Any, clock: Any, reply: str, variant: str) -> None:
    """Both hit paths give the miss's reply (for the hit's spelling of the name), TTLs decremented."""
    qname, qtype, spec = REPLIES[reply]
    proto, opts = VARIANTS[variant]
    backend = kit.Backend(default=kit.Spec(**spec))
    cache = kit.make_cache("cache", backend, clock)
    _, miss = await kit.full(cache, kit.query(respell(qname), qtype, **opts), proto)
    assert backend.calls == 1

    # The same query, with the hit's spelling, straight to the next plugin: what a miss would give it.
    hit_name = respell(qname).swapcase()
    fresh = kit.make_cache("cache", kit.Backend(default=kit.Spec(**spec)), clock)
    _, want = await kit.full(fresh, kit.query(hit_name, qtype, **opts), proto)

    clock.advance(7)
    _, hit_full = await kit.full(cache, kit.query(hit_name, qtype, **opts), proto)
    hit_wire = kit.wire(cache, kit.query(hit_name, qtype, **opts), proto)
    assert backend.calls == 1

    flags, *rest = view(want)
    for got in (hit_full, hit_wire):
        if got is None:  # too big for a plain UDP client: the full path answered (truncated) instead
            assert reply == "big TXT"
            assert proto == "udp"
            continue
        gflags, *grest = view(got)
        assert gflags == flags | dns.flags.AA
        assert grest == rest
        assert got[12 : 12 + len(hit_name) + 5] == want[12 : 12 + len(hit_name) + 5]  # the question, byte for byte
        assert set(kit.ttls(got)) <= {max(t - 7, 0) for t in kit.ttls(want)}
    if hit_wire is not None:
        assert hit_wire[2:] == hit_full[2:]  # both hit paths give the same bytes
    assert view(miss)[0] == flags  # the first miss had the same header as the reference miss
