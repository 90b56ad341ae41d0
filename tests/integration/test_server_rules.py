"""Server-level rules over real UDP and TCP: zone routing, error replies, OPT, truncation, panics."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rrset
import pytest

from kdns.config.controller import Controller
from kdns.errors import PluginError
from kdns.metrics import REGISTRY
from kdns.plugin import Handler, next_or_failure
from kdns.request import Request
from kdns.testing.instance import run_instance, test_plugin
from kdns.writer import ResponseWriter

PROTOS = ["udp", "tcp"]


@dataclass(slots=True)
class Probe:
    """Test plugin. The qname's first label says what to do; otherwise answer TXT with ``tag``.

    ``panic``: raise a bug; ``perrN``: raise PluginError with rcode N; ``rcodeN``: return N without
    writing; ``bigN``: N A records; ``next``: hand off to the next plugin.
    """

    tag: str
    next: Handler | None
    name: str = "probe"

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        label = req.qname.split(".", 1)[0]
        if label == "panic":
            raise RuntimeError("probe panic")
        if label.startswith("perr"):
            raise PluginError("probe", "known failure", int(label[4:]))
        if label.startswith("rcode"):
            return int(label[5:])
        if label == "next":
            return await next_or_failure(self.name, self.next, w, req)
        reply = req.reply()
        owner = req.msg.question[0].name
        if label.startswith("big"):
            rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.A)
            for i in range(int(label[3:])):
                addr = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
                rrset.add(dns.rdtypes.IN.A.A(dns.rdataclass.IN, dns.rdatatype.A, addr))
            reply.answer = [rrset]
        else:
            rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.TXT)
            rrset.add(dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [self.tag.encode()]))
            reply.answer = [rrset]
        await w.write_msg(reply)
        return dns.rcode.NOERROR


def _setup(c: Controller) -> None:
    d = c.once()
    tag = d.args[0] if d.args else "-"
    c.add_plugin(lambda nxt: Probe(tag, nxt))


@pytest.fixture(autouse=True)
def _probe() -> Iterator[None]:
    with test_plugin("probe", _setup):
        yield


def tag_of(r: dns.message.Message) -> str:
    assert r.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(r.rcode())
    return r.answer[0][0].strings[0].decode()


ROUTED = """
example.org:0 {
    probe org
}
sub.example.org:0 {
    probe sub
}
.:0 {
    probe root
}
"""


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize(
    ("qname", "qtype", "tag"),
    [
        ("www.example.org.", "A", "org"),
        ("example.org.", "A", "org"),
        ("WWW.Example.ORG.", "A", "org"),
        ("a.sub.example.org.", "A", "sub"),
        ("sub.example.org.", "A", "sub"),
        ("notsub.example.org.", "A", "org"),
        ("example.net.", "A", "root"),
        (".", "NS", "root"),
        ("sub.example.org.", "DS", "org"),  # DS at a zone cut: the parent's block
        ("example.org.", "DS", "root"),
        ("a.sub.example.org.", "DS", "sub"),  # below the cut: the zone's own block
    ],
)
async def test_longest_zone_wins(proto: str, qname: str, qtype: str, tag: str) -> None:
    """The block of the longest zone holding the name answers, '.' catches the rest, DS goes to the parent."""
    async with run_instance(ROUTED) as inst:
        r = await inst.query(qname, qtype, proto=proto)
    assert tag_of(r) == tag


@pytest.mark.parametrize("proto", PROTOS)
async def test_no_zone_and_no_root_is_refused(proto: str) -> None:
    """Without a '.' block, a name outside every zone is REFUSED; DS of the zone apex falls back to its own block."""
    async with run_instance("example.org:0 {\n probe org\n}\n") as inst:
        r = await inst.query("example.net", "A", proto=proto)
        ds = await inst.query("example.org", "DS", proto=proto)
    assert r.rcode() == dns.rcode.REFUSED
    assert r.question[0].name == dns.name.from_text("example.net")
    assert tag_of(ds) == "org"


@pytest.mark.parametrize("proto", PROTOS)
async def test_block_without_plugins_is_refused(proto: str) -> None:
    """A zone whose block has no plugins answers REFUSED; it does not fall back to '.'."""
    async with run_instance("example.org:0 {\n}\n.:0 {\n probe root\n}\n") as inst:
        r = await inst.query("www.example.org", "A", proto=proto)
        other = await inst.query("example.net", "A", proto=proto)
    assert r.rcode() == dns.rcode.REFUSED
    assert tag_of(other) == "root"


@pytest.mark.parametrize("proto", PROTOS)
async def test_class_other_than_in_is_refused(proto: str) -> None:
    """A CH query to a block with neither chaos nor forward is REFUSED."""
    async with run_instance(".:0 {\n probe root\n}\n") as inst:
        r = await inst.query("version.bind", "TXT", proto=proto, rdclass=dns.rdataclass.CH)
    assert r.rcode() == dns.rcode.REFUSED


@pytest.mark.parametrize("proto", PROTOS)
async def test_bad_edns_version_is_badvers(proto: str) -> None:
    """EDNS version 1 gets BADVERS (an extended rcode, so the reply has an OPT of version 0)."""
    async with run_instance(".:0 {\n probe root\n}\n") as inst:
        r = await inst.query("example.org", "A", proto=proto, use_edns=1, payload=1400)
    assert r.rcode() == dns.rcode.BADVERS
    assert r.edns == 0
    assert not r.answer


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize(("payload", "do"), [(1400, True), (4096, False), (512, True)])
async def test_opt_is_mirrored(proto: str, payload: int, do: bool) -> None:
    """The reply's OPT carries version 0, the query's UDP size and its DO bit."""
    async with run_instance(".:0 {\n probe root\n}\n") as inst:
        r = await inst.query("example.org", "A", proto=proto, use_edns=0, payload=payload, want_dnssec=do)
    assert tag_of(r) == "root"
    assert r.edns == 0
    assert r.payload == payload
    assert bool(r.ednsflags & dns.flags.DO) == do


@pytest.mark.parametrize("proto", PROTOS)
async def test_no_opt_without_edns(proto: str) -> None:
    """A query without EDNS gets a reply without OPT."""
    async with run_instance(".:0 {\n probe root\n}\n") as inst:
        r = await inst.query("example.org", "A", proto=proto, use_edns=False)
    assert tag_of(r) == "root"
    assert r.edns == -1


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("rcode", [dns.rcode.SERVFAIL, dns.rcode.REFUSED, dns.rcode.FORMERR, dns.rcode.NOTIMP])
async def test_server_writes_unwritten_error(proto: str, rcode: int) -> None:
    """A chain returning SERVFAIL/REFUSED/FORMERR/NOTIMP without writing gets that reply from the server, with OPT."""
    async with run_instance(".:0 {\n probe root\n}\n") as inst:
        r = await inst.query(f"rcode{rcode}.example.org", "A", proto=proto, use_edns=0, payload=1232)
    assert r.rcode() == rcode
    assert r.question[0].name == dns.name.from_text(f"rcode{rcode}.example.org")
    assert r.edns == 0
    assert r.payload == 1232


@pytest.mark.parametrize("proto", PROTOS)
async def test_plugin_error_rcode_is_answered(proto: str) -> None:
    """A PluginError is answered with its rcode and is not counted as a panic."""
    before = REGISTRY.get_sample_value("coredns_panics_total") or 0.0
    async with run_instance(".:0 {\n probe root\n}\n") as inst:
        refused = await inst.query("perr5.example.org", "A", proto=proto)
        servfail = await inst.query("perr0.example.org", "A", proto=proto)  # "success" rcode, nothing written
    assert refused.rcode() == dns.rcode.REFUSED
    assert servfail.rcode() == dns.rcode.SERVFAIL
    assert (REGISTRY.get_sample_value("coredns_panics_total") or 0.0) == before


@pytest.mark.parametrize("proto", PROTOS)
async def test_no_next_plugin_is_servfail(proto: str) -> None:
    """The last plugin handing off gets SERVFAIL."""
    async with run_instance(".:0 {\n probe root\n}\n") as inst:
        r = await inst.query("next.example.org", "A", proto=proto)
    assert r.rcode() == dns.rcode.SERVFAIL


@pytest.mark.parametrize("proto", PROTOS)
async def test_panic_is_servfail_and_counted(proto: str, caplog: pytest.LogCaptureFixture) -> None:
    """An exception in a plugin answers SERVFAIL, adds one to coredns_panics_total, and the server goes on."""
    before = REGISTRY.get_sample_value("coredns_panics_total") or 0.0
    async with run_instance(".:0 {\n probe root\n}\n") as inst:
        r = await inst.query("panic.example.org", "A", proto=proto)
        after = await inst.query("example.org", "A", proto=proto)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert REGISTRY.get_sample_value("coredns_panics_total") == before + 1
    assert tag_of(after) == "root"
    assert "probe panic" in caplog.text


async def _raw_udp(port: int, wire: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        s.connect(("127.0.0.1", port))
        await loop.sock_sendall(s, wire)
        async with asyncio.timeout(2):
            return await loop.sock_recv(s, 65535)


A_RR = 16  # one A record with a compressed owner name


@pytest.mark.parametrize(("edns", "limit"), [(None, 512), (1232, 1232), (4000, 4000)])
async def test_udp_truncates_to_client_size(edns: int | None, limit: int) -> None:
    """Over UDP a large answer keeps as many whole RRs as fit the client's size and sets TC."""
    q = dns.message.make_query("big400.example.org", "A", use_edns=edns is not None, payload=edns or 0)
    async with run_instance(".:0 {\n probe root\n}\n") as inst:
        wire = await _raw_udp(inst.port, q.to_wire())
    r = dns.message.from_wire(wire)
    assert r.flags & dns.flags.TC
    assert len(wire) <= limit
    assert len(wire) + A_RR > limit  # not one more RR would have fit
    assert 0 < len(r.answer[0]) < 400
    assert (r.edns == 0) == (edns is not None)


async def test_tcp_does_not_truncate_below_64k() -> None:
    """Over TCP the same answer comes whole, without TC."""
    async with run_instance(".:0 {\n probe root\n}\n") as inst:
        r = await inst.query("big400.example.org", "A", proto="tcp")
    assert not r.flags & dns.flags.TC
    assert len(r.answer[0]) == 400


async def test_tcp_truncates_at_64k() -> None:
    """Over TCP an answer beyond 64 KiB is cut to fit 65535 bytes, with TC."""
    async with run_instance(".:0 {\n probe root\n}\n") as inst:
        r = await inst.query("big5000.example.org", "A", proto="tcp", use_edns=0, payload=1232)
    assert r.flags & dns.flags.TC
    n = len(r.answer[0])
    assert 4000 < n < 5000
    assert len(r.to_wire()) <= 65535
    assert r.edns == 0


async def test_small_answer_fits_without_tc() -> None:
    """An answer that fits is sent whole over UDP with TC clear."""
    async with run_instance(".:0 {\n probe root\n}\n") as inst:
        r = await inst.query("big3.example.org", "A")
    assert not r.flags & dns.flags.TC
    assert len(r.answer[0]) == 3
