"""The minimal handler: positive answers lose Authority and Additional; the rest is untouched."""

from __future__ import annotations

from collections.abc import Sequence

import dns.message
import dns.rcode
import pytest

from kdns.plugins.minimal.plugin import Minimal, minimize
from kdns.request import Request
from kdns.testing import Case, FakeWriter, Recorder, rr
from kdns.writer import ResponseWriter

A = "example.org. 300 IN A 192.0.2.1"
CNAME = "example.org. 300 IN CNAME www.example.net."
NS = ("example.org. 300 IN NS ns1.example.org.", "example.org. 300 IN NS ns2.example.org.")
GLUE = ("ns1.example.org. 300 IN A 192.0.2.53", "ns2.example.org. 300 IN AAAA 2001:db8::53")
SOA = "example.org. 300 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 300"


class Writes:
    """A next plugin writing a fixed reply."""

    name = "test"

    def __init__(self, rcode: int, answer: Sequence[str], ns: Sequence[str], extra: Sequence[str]) -> None:
        self.rcode, self.answer, self.ns, self.extra = rcode, answer, ns, extra
        self.sent: dns.message.Message | None = None

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        reply = req.reply()
        reply.set_rcode(dns.rcode.Rcode.make(self.rcode))
        reply.answer = [rr(t) for t in self.answer]
        reply.authority = [rr(t) for t in self.ns]
        reply.additional = [rr(t) for t in self.extra]
        self.sent = reply
        await w.write_msg(reply)
        return self.rcode


CASES = [
    # (case expected after minimal, what the next plugin wrote: answer, ns, extra)
    (Case("example.org.", "A", answer=[A]), ([A], NS, GLUE)),
    (Case("example.org.", "MX", answer=[CNAME]), ([CNAME], NS, GLUE)),
    (Case("example.org.", "A", ns=NS, extra=GLUE), ([], NS, GLUE)),  # delegation keeps glue
    (Case("example.org.", "A", answer=[CNAME], ns=[SOA]), ([CNAME], [SOA], [])),  # NODATA
    (Case("example.org.", "A", ns=[SOA]), ([], [SOA], [])),  # NODATA
    (Case("x.example.org.", "A", rcode=dns.rcode.NXDOMAIN, ns=[SOA]), ([], [SOA], [])),
    (Case("example.org.", "A", rcode=dns.rcode.REFUSED, answer=[A], ns=NS, extra=GLUE), ([A], NS, GLUE)),
]


@pytest.mark.parametrize(("tc", "wrote"), CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CASES)])
async def test_minimal(tc: Case, wrote: tuple[Sequence[str], Sequence[str], Sequence[str]]) -> None:
    """Only NOERROR answers are minimized; delegations, denials and errors keep their sections."""
    nxt = Writes(tc.rcode, *wrote)
    rec = Recorder(FakeWriter())
    rc = await Minimal(next=nxt).serve_dns(rec, tc.request())
    tc.check(rc, rec.msg)
    # the message of the next plugin (which may be a cache's) is never changed
    assert nxt.sent is not None
    assert len(nxt.sent.authority) == len(wrote[1])
    assert len(nxt.sent.additional) == len(wrote[2])


def test_minimize_copies() -> None:
    """minimize returns a copy without Authority/Additional and leaves the original whole."""
    q = dns.message.make_query("example.org.", "A")
    m = dns.message.make_response(q)
    m.answer = [rr(A)]
    m.authority = [rr(t) for t in NS]
    m.additional = [rr(t) for t in GLUE]
    out = minimize(m)
    assert out is not m
    assert out.answer == m.answer
    assert out.id == m.id
    assert out.flags == m.flags
    assert out.authority == []
    assert out.additional == []
    assert len(m.authority) == 2
    assert len(m.additional) == 2


def test_minimize_keeps_what_it_cannot_shrink() -> None:
    """A reply with nothing to drop is passed on as is (no copy)."""
    m = dns.message.make_response(dns.message.make_query("example.org.", "A"))
    m.answer = [rr(A)]
    assert minimize(m) is m
