"""The loadbalance handler wraps the writer of the next plugins."""

from __future__ import annotations

import dns.message
import dns.rcode
import dns.rrset
import pytest

from kdns.errors import NoNextPlugin
from kdns.plugins.loadbalance.plugin import LoadBalance
from kdns.plugins.loadbalance.shuffle import Policy
from kdns.request import Request
from kdns.testing import Case, FakeWriter, Recorder, rr
from kdns.writer import ResponseWriter


class Answer:
    """A next plugin answering with fixed RRs, keeping the message it wrote."""

    name = "answer"

    def __init__(self, *rrs: dns.rrset.RRset) -> None:
        self.rrs = rrs
        self.written: dns.message.Message | None = None

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        m = req.reply()
        m.answer = list(self.rrs)
        self.written = m
        await w.write_msg(m)
        return dns.rcode.NOERROR


CASES = [
    Case(
        "www.example.org.",
        "A",
        ordered=True,
        answer=[
            "www.example.org. 300 IN CNAME example.org.",
            "example.org. 300 IN A 10.0.0.3",
            "example.org. 300 IN A 10.0.0.2",
            "example.org. 300 IN A 10.0.0.1",
        ],
    ),
]


async def test_reply_is_reordered_and_original_kept() -> None:
    """The client gets the reordered copy; the next plugin's message is not changed."""
    nxt = Answer(
        dns.rrset.from_text("example.org.", 300, "IN", "A", "10.0.0.1", "10.0.0.2", "10.0.0.3"),
        rr("www.example.org. 300 IN CNAME example.org."),
    )
    lb = LoadBalance(policy=Policy(shuffle=lambda items: items.reverse()), next=nxt)
    rec = Recorder(FakeWriter())
    tc = CASES[0]
    rcode = await lb.serve_dns(rec, tc.request())
    tc.check(rcode, rec.msg)
    assert nxt.written is not None
    assert rec.msg is not nxt.written
    assert [rd.to_text() for rd in nxt.written.answer[0]] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


async def test_without_next_fails() -> None:
    """loadbalance alone in a chain is SERVFAIL (no next plugin)."""
    with pytest.raises(NoNextPlugin):
        await LoadBalance().serve_dns(Recorder(FakeWriter()), Case("example.org.").request())
