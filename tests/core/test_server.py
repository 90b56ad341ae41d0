"""Server rules in-process (no sockets): zone routing table and the class/question/EDNS checks."""

from __future__ import annotations

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from kdns.core.server import Route, Server
from kdns.request import Request
from kdns.testing import FakeWriter, next_handler


def server(*zones: str, any_class: bool = False) -> Server:
    return Server("dns://:53", {z: Route(z, next_handler(), any_class) for z in zones})


@pytest.mark.parametrize(
    ("zones", "qname", "qtype", "zone"),
    [
        (("example.org.", "."), "www.example.org.", dns.rdatatype.A, "example.org."),
        (("example.org.", "."), "example.net.", dns.rdatatype.A, "."),
        (("example.org.", "sub.example.org."), "a.b.sub.example.org.", dns.rdatatype.A, "sub.example.org."),
        (("example.org.", "sub.example.org."), "xsub.example.org.", dns.rdatatype.A, "example.org."),
        (("example.org.", "sub.example.org."), "sub.example.org.", dns.rdatatype.DS, "example.org."),
        (("sub.example.org.",), "sub.example.org.", dns.rdatatype.DS, "sub.example.org."),  # no parent: own block
        (("example.org.",), "example.net.", dns.rdatatype.A, None),
        ((".",), ".", dns.rdatatype.DS, "."),
    ],
)
def test_route(zones: tuple[str, ...], qname: str, qtype: int, zone: str | None) -> None:
    """The longest zone holding the name wins, '.' catches the rest, DS at a cut prefers the parent."""
    r = server(*zones).route(qname, qtype)
    assert (r.zone if r else None) == zone


async def test_no_question_is_servfail() -> None:
    """A message without a question (only possible in-process) gets SERVFAIL."""
    w = FakeWriter()
    await server(".").serve(w, Request(dns.message.Message(id=7)))
    assert w.msg is not None
    assert w.msg.rcode() == dns.rcode.SERVFAIL
    assert w.msg.id == 7


@pytest.mark.parametrize(("any_class", "rcode"), [(False, dns.rcode.REFUSED), (True, dns.rcode.NOERROR)])
async def test_class_chaos(any_class: bool, rcode: int) -> None:
    """A CH query is REFUSED unless the block has a plugin for other classes (chaos, forward)."""
    w = FakeWriter()
    q = dns.message.make_query("version.bind.", "TXT", rdclass=dns.rdataclass.CH)
    await server(".", any_class=any_class).serve(w, Request(q))
    assert w.msg is not None
    assert w.msg.rcode() == rcode


async def test_route_sets_zone_and_server_label() -> None:
    """The request carries the matched zone and the listener's label into the chain."""
    seen: list[tuple[str, str]] = []

    class Spy:
        name = "spy"

        async def serve_dns(self, w: FakeWriter, req: Request) -> int:
            seen.append((req.zone, req.server))
            return dns.rcode.REFUSED

    s = Server("dns://:1053", {"example.org.": Route("example.org.", Spy(), False)})  # type: ignore[dict-item]
    w = FakeWriter()
    await s.serve(w, Request(dns.message.make_query("a.example.org.", "A")))
    assert seen == [("example.org.", "dns://:1053")]
    assert w.msg is not None
    assert w.msg.rcode() == dns.rcode.REFUSED
