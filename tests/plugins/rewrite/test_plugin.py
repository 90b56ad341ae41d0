"""Case tables against the rewrite handler, with a backend that answers the rewritten query."""

from __future__ import annotations

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import pytest

from kdns.errors import PluginError
from kdns.plugins.rewrite.plugin import Rewrite
from kdns.plugins.rewrite.setup import parse
from kdns.request import Request
from kdns.testing import Case, FakeWriter, Recorder, controller, error_handler, next_handler, rr
from kdns.writer import ResponseWriter


class Backend:
    """Answers (qname, type) from zone-file text; keeps what it was asked and what it wrote."""

    name = "backend"

    def __init__(self, records: dict[tuple[str, str], list[str]] | None = None, rcode: int = 0) -> None:
        self.records = records or {}
        self.rcode = rcode
        self.asked: list[tuple[str, str, str]] = []
        self.sent: list[tuple[dns.message.Message, str]] = []

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        self.asked.append((req.qname, req.type_text, req.class_text))
        reply = req.reply()
        reply.flags |= dns.flags.AA
        reply.set_rcode(dns.rcode.Rcode.make(self.rcode))
        reply.answer = [rr(t) for t in self.records.get((req.qname, req.type_text), [])]
        self.sent.append((reply, reply.to_text()))
        await w.write_msg(reply)
        return self.rcode


def handler(corefile: str, nxt: object) -> Rewrite:
    return Rewrite(rules=parse(controller(corefile)).rules, next=nxt)  # type: ignore[arg-type]


RECORDS = {
    ("b.example.org.", "A"): ["b.example.org. 300 IN A 10.0.0.1"],
    ("db.corp.example.com.", "A"): ["db.corp.example.com. 300 IN A 10.0.0.2"],
    ("www.corp.example.com.", "A"): [
        "www.corp.example.com. 300 IN CNAME db.corp.example.com.",
        "db.corp.example.com. 300 IN A 10.0.0.2",
    ],
    ("bar.example.org.", "A"): ["bar.example.org. 300 IN A 10.0.0.3"],
    ("ftp.service.us-west-1.example.net.", "A"): ["ftp.service.us-west-1.example.net. 60 IN A 10.0.0.4"],
    ("mail.example.net.", "MX"): ["mail.example.net. 300 IN MX 10 mx1.example.net."],
    ("_sip._udp.example.net.", "SRV"): ["_sip._udp.example.net. 300 IN SRV 0 0 5060 sip.example.net."],
    ("example.org.", "HINFO"): ['example.org. 300 IN HINFO "ANY" "obsoleted"'],
    ("example.org.", "A"): ["example.org. 5 IN A 10.0.0.5", 'example.org. 5000 IN TXT "t"'],
}

# (corefile, case, what the backend must have been asked)
CASES = [
    (
        "rewrite name a.example.org b.example.org",
        Case("a.example.org.", answer=["a.example.org. 300 IN A 10.0.0.1"]),
        ("b.example.org.", "A", "IN"),
    ),
    (
        "rewrite name suffix .corp.internal .corp.example.com answer auto",
        Case("db.corp.internal.", answer=["db.corp.internal. 300 IN A 10.0.0.2"]),
        ("db.corp.example.com.", "A", "IN"),
    ),
    (
        "rewrite name suffix .corp.internal .corp.example.com answer auto",
        Case(
            "www.corp.internal.",
            answer=["www.corp.internal. 300 IN CNAME db.corp.internal.", "db.corp.internal. 300 IN A 10.0.0.2"],
        ),
        ("www.corp.example.com.", "A", "IN"),
    ),
    (
        "rewrite name suffix .corp.internal .corp.example.com",
        Case("db.corp.internal.", answer=["db.corp.example.com. 300 IN A 10.0.0.2"]),
        ("db.corp.example.com.", "A", "IN"),
    ),
    (
        "rewrite name prefix foo bar answer auto",
        Case("foo.example.org.", answer=["foo.example.org. 300 IN A 10.0.0.3"]),
        ("bar.example.org.", "A", "IN"),
    ),
    (
        "rewrite name substring corp.internal corp.example.com answer auto",
        Case("db.corp.internal.", answer=["db.corp.internal. 300 IN A 10.0.0.2"]),
        ("db.corp.example.com.", "A", "IN"),
    ),
    (
        r"rewrite name regex (.*)-(us-west-1)\.example\.org {1}.service.{2}.example.net answer auto",
        Case("ftp-us-west-1.example.org.", answer=["ftp-us-west-1.example.org. 60 IN A 10.0.0.4"]),
        ("ftp.service.us-west-1.example.net.", "A", "IN"),
    ),
    (
        "rewrite stop {\n name regex (.*)-(us-west-1)\\.example\\.org {1}.service.{2}.example.net\n"
        " answer name (.*)\\.service\\.(us-west-1)\\.example\\.net {1}-{2}.example.org\n}",
        Case("ftp-us-west-1.example.org.", answer=["ftp-us-west-1.example.org. 60 IN A 10.0.0.4"]),
        ("ftp.service.us-west-1.example.net.", "A", "IN"),
    ),
    (
        r"rewrite name regex (.*)\.example\.org {1}.example.net answer name (.*)\.example\.net {1}.example.org "
        r"answer value (.*)\.example\.net {1}.example.org",
        Case("mail.example.org.", "MX", answer=["mail.example.org. 300 IN MX 10 mx1.example.org."]),
        ("mail.example.net.", "MX", "IN"),
    ),
    (
        r"rewrite name suffix .example.org .example.net answer auto",
        Case("_sip._udp.example.org.", "SRV", answer=["_sip._udp.example.org. 300 IN SRV 0 0 5060 sip.example.org."]),
        ("_sip._udp.example.net.", "SRV", "IN"),
    ),
    (
        "rewrite name suffix .example.org .example.net answer auto",
        Case("nothing.example.org.", rcode=dns.rcode.NXDOMAIN),
        ("nothing.example.net.", "A", "IN"),
    ),
    (
        "rewrite type ANY HINFO",
        Case("example.org.", "ANY", answer=['example.org. 300 IN HINFO "ANY" "obsoleted"']),
        ("example.org.", "HINFO", "IN"),
    ),
    (
        "rewrite class CH IN",
        Case("b.example.org.", "A", qclass="CH", answer=["b.example.org. 300 IN A 10.0.0.1"]),
        ("b.example.org.", "A", "IN"),
    ),
    (
        "rewrite ttl example.org 15",
        Case("example.org.", answer=["example.org. 15 IN A 10.0.0.5", 'example.org. 15 IN TXT "t"']),
        ("example.org.", "A", "IN"),
    ),
    (
        "rewrite ttl suffix .org 30-300",
        Case("example.org.", answer=["example.org. 30 IN A 10.0.0.5", 'example.org. 300 IN TXT "t"']),
        ("example.org.", "A", "IN"),
    ),
    (
        "rewrite continue name a.example.org example.org\nrewrite ttl example.org 60",
        Case("a.example.org.", answer=["a.example.org. 60 IN A 10.0.0.5", 'a.example.org. 60 IN TXT "t"']),
        ("example.org.", "A", "IN"),
    ),
    (
        "rewrite name a.example.org example.org\nrewrite ttl example.org 60",
        Case("a.example.org.", answer=["a.example.org. 5 IN A 10.0.0.5", 'a.example.org. 5000 IN TXT "t"']),
        ("example.org.", "A", "IN"),
    ),
    (
        "rewrite continue type AAAA A\nrewrite name c.example.org b.example.org",
        Case("c.example.org.", "AAAA", answer=["c.example.org. 300 IN A 10.0.0.1"]),
        ("b.example.org.", "A", "IN"),
    ),
    (
        "rewrite name other.example.org b.example.org",
        Case("b.example.org.", answer=["b.example.org. 300 IN A 10.0.0.1"]),
        ("b.example.org.", "A", "IN"),
    ),
]


@pytest.mark.parametrize(("corefile", "tc", "asked"), CASES, ids=[f"{c.splitlines()[0]}|{t}" for c, t, _ in CASES])
async def test_rewrite(corefile: str, tc: Case, asked: tuple[str, str, str]) -> None:
    """The backend sees the rewritten query; the client gets the reply to its own question."""
    backend = Backend(RECORDS, rcode=dns.rcode.NXDOMAIN if tc.rcode == dns.rcode.NXDOMAIN else 0)
    rec = Recorder(FakeWriter())
    req = tc.request()
    tc.check(await handler(corefile, backend).serve_dns(rec, req), rec.msg)
    assert backend.asked == [asked]
    assert rec.msg is not None
    assert rec.msg.question == req.msg.question
    for sent, text in backend.sent:
        assert sent.to_text() == text, "the backend's reply must not be changed"


async def test_question_keeps_client_case() -> None:
    """The reply's question is the client's, letter case included; the backend sees lower case."""
    backend = Backend(RECORDS)
    rec = Recorder(FakeWriter())
    req = Case("A.Example.ORG.").request()
    await handler("rewrite name a.example.org b.example.org", backend).serve_dns(rec, req)
    assert rec.msg is not None
    assert rec.msg.question[0].name.to_text() == "A.Example.ORG."
    assert backend.asked == [("b.example.org.", "A", "IN")]
    assert [r.name.to_text() for r in rec.msg.answer] == ["a.example.org."]


async def test_no_match_hands_on_unchanged() -> None:
    """Without a matching rule the next plugin gets the very same request and writer."""
    seen: list[tuple[object, object]] = []

    class Spy:
        name = "spy"

        async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
            seen.append((w, req))
            return dns.rcode.SERVFAIL

    w = FakeWriter()
    req = Case("example.net.").request()
    rc = await handler("rewrite name a.example.org b.example.org", Spy()).serve_dns(w, req)
    assert rc == dns.rcode.SERVFAIL
    assert seen == [(w, req)]


@pytest.mark.parametrize(
    "corefile",
    [
        r"rewrite name regex (.*)\.example\.org {1}..example.net",
        "rewrite name prefix a " + "x" * 64,
    ],
)
async def test_invalid_name_is_an_error(corefile: str) -> None:
    """A rewrite that yields an invalid name fails with SERVFAIL and never reaches the next plugin."""
    backend = Backend(RECORDS)
    w = FakeWriter()
    with pytest.raises(PluginError, match="invalid name after rewrite") as e:
        await handler(corefile, backend).serve_dns(w, Case("a.example.org.").request())
    assert e.value.rcode == dns.rcode.SERVFAIL
    assert backend.asked == []
    assert w.msg is None


async def test_rcode_rewrite_of_written_reply() -> None:
    """An rcode rule changes the rcode of a reply the chain wrote."""
    rec = Recorder(FakeWriter())
    h = handler("rewrite rcode example.org NXDOMAIN NOERROR", next_handler(dns.rcode.NXDOMAIN))
    rc = await h.serve_dns(rec, Case("example.org.").request())
    Case("example.org.").check(rc, rec.msg)


@pytest.mark.parametrize("nxt", [next_handler(dns.rcode.SERVFAIL), error_handler("upstream down")], ids=str)
async def test_rcode_rewrite_of_unwritten_error(nxt: object) -> None:
    """An error the chain leaves to the server is written by rewrite with the new rcode."""
    rec = Recorder(FakeWriter())
    h = handler("rewrite rcode suffix .org SERVFAIL NOERROR", nxt)
    rc = await h.serve_dns(rec, Case("example.org.").request())
    assert rc == dns.rcode.NOERROR
    Case("example.org.").check(rc, rec.msg)


async def test_unmapped_error_passes_through() -> None:
    """Errors no rcode rule maps are left to the server (nothing written, error raised)."""
    w = FakeWriter()
    h = handler("rewrite rcode example.org NXDOMAIN NOERROR", error_handler("boom", dns.rcode.SERVFAIL))
    with pytest.raises(PluginError, match="boom"):
        await h.serve_dns(w, Case("example.org.").request())
    assert w.msg is None


async def test_cname_target_rewrite() -> None:
    """A cname rule points the CNAME elsewhere and answers with the new target's records."""
    backend = Backend(
        {
            ("a.example.org.", "A"): [
                "a.example.org. 300 IN CNAME x.cdn.example.net.",
                "x.cdn.example.net. 300 IN A 192.0.2.1",
            ],
            ("x.other.example.org.", "A"): ["x.other.example.org. 60 IN A 198.51.100.1"],
        }
    )
    rec = Recorder(FakeWriter())
    h = handler("rewrite cname suffix .cdn.example.net .other.example.org", backend)
    tc = Case(
        "a.example.org.",
        answer=["a.example.org. 300 IN CNAME x.other.example.org.", "x.other.example.org. 60 IN A 198.51.100.1"],
    )
    tc.check(await h.serve_dns(rec, tc.request()), rec.msg)
    assert backend.asked == [("a.example.org.", "A", "IN"), ("x.other.example.org.", "A", "IN")]


async def test_cname_rule_without_matching_target() -> None:
    """A reply without a matching CNAME target is passed on as written."""
    backend = Backend(RECORDS)
    rec = Recorder(FakeWriter())
    h = handler("rewrite cname suffix .cdn.example.net .other.example.org", backend)
    tc = Case("b.example.org.", answer=["b.example.org. 300 IN A 10.0.0.1"])
    tc.check(await h.serve_dns(rec, tc.request()), rec.msg)
    assert backend.asked == [("b.example.org.", "A", "IN")]


async def test_edns_and_flags_survive() -> None:
    """The copied reply keeps the backend's flags, rcode and EDNS options."""

    class EdnsBackend:
        name = "edns"

        async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
            reply = req.reply()
            reply.flags |= dns.flags.AA | dns.flags.RA
            reply.use_edns(0, options=[dns.edns.EDEOption(dns.edns.EDECode.STALE_ANSWER)])
            reply.set_rcode(dns.rcode.NXDOMAIN)
            await w.write_msg(reply)
            return dns.rcode.NXDOMAIN

    rec = Recorder(FakeWriter())
    req = Case("a.example.org.", do=True).request()
    await handler("rewrite name a.example.org b.example.org", EdnsBackend()).serve_dns(rec, req)
    assert rec.msg is not None
    assert rec.msg.flags & dns.flags.AA
    assert rec.msg.flags & dns.flags.RA
    assert rec.msg.rcode() == dns.rcode.NXDOMAIN
    assert [o.otype for o in rec.msg.options] == [dns.edns.OptionType.EDE]
    assert rec.msg.question == req.msg.question
