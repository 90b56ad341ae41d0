"""rewrite in a whole server, queried over real UDP and TCP on 127.0.0.1."""

from __future__ import annotations

import dns.rcode
import dns.rdatatype
import pytest

from kdns.testing import run_instance

SIDECAR = """.:0 {
    rewrite name suffix .corp.internal .corp.example.com answer auto
    whoami
}
"""


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_sidecar_suffix_rewrite_is_invisible(proto: str) -> None:
    """The suffix rewrite with answer auto: whoami answers the rewritten name, the client sees its own."""
    async with run_instance(SIDECAR) as inst:
        r = await inst.query("db.corp.internal", "A", proto=proto)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.question[0].name.to_text() == "db.corp.internal."
    owners = sorted(x.name.to_text() for x in r.additional)
    assert owners == ["_" + proto + ".db.corp.internal.", "db.corp.internal."]
    a = next(x for x in r.additional if x.rdtype == dns.rdatatype.A)
    assert a[0].address == "127.0.0.1"


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_without_answer_rewrite_owners_stay_rewritten(proto: str) -> None:
    """Without answer options only the question is restored; record owners keep the rewritten name."""
    corefile = ".:0 {\n rewrite name suffix .corp.internal .corp.example.com\n whoami\n}\n"
    async with run_instance(corefile) as inst:
        r = await inst.query("db.corp.internal", "A", proto=proto)
    assert r.question[0].name.to_text() == "db.corp.internal."
    a = next(x for x in r.additional if x.rdtype == dns.rdatatype.A)
    assert a.name.to_text() == "db.corp.example.com."


async def test_exact_rule_is_always_reverted_and_others_untouched() -> None:
    """An exact rule maps the reply back by itself; names it does not match go through unchanged."""
    corefile = "example.org:0 {\n rewrite name exact www.example.org web.example.org\n whoami\n}\n"
    async with run_instance(corefile) as inst:
        r = await inst.query("www.example.org", "A")
        other = await inst.query("ftp.example.org", "A", proto="tcp")
    assert [x.name.to_text() for x in r.additional if x.rdtype == dns.rdatatype.A] == ["www.example.org."]
    assert [x.name.to_text() for x in other.additional if x.rdtype == dns.rdatatype.A] == ["ftp.example.org."]


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_invalid_rewritten_name_is_servfail(proto: str) -> None:
    """A rewrite to an invalid name is answered SERVFAIL with the client's question."""
    corefile = ".:0 {\n rewrite name regex (.*)\\.example\\.org {1}..example.net\n whoami\n}\n"
    async with run_instance(corefile) as inst:
        r = await inst.query("a.example.org", "A", proto=proto)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert r.question[0].name.to_text() == "a.example.org."
    assert not r.additional


async def test_type_rewrite_restores_question_type() -> None:
    """A type rewrite asks the chain for the new type; the reply's question keeps the asked type."""
    corefile = ".:0 {\n rewrite type ANY HINFO\n whoami\n}\n"
    async with run_instance(corefile) as inst:
        r = await inst.query("example.org", "ANY")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.question[0].rdtype == dns.rdatatype.ANY
