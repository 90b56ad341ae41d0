"""kdns.pkg.response: reply types and their classes."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import pytest

from kdns.pkg.response import Class, Type, class_from_string, classify, type_from_string, typify
from kdns.testing import rr

SOA = "example.org. 300 IN SOA ns.example.org. hostmaster.example.org. 1 7200 3600 1209600 300"
NS = "example.org. 300 IN NS ns.example.org."
#: 2020-01-01 .. 2020-02-01
RRSIG = "example.org. 300 IN RRSIG A 8 2 300 20200201000000 20200101000000 12345 example.org. dGVzdHNpZ25hdHVyZQ=="
IN_2020 = 1_579_000_000.0  # 2020-01-14
IN_2021 = 1_610_000_000.0  # 2021-01-07


def reply(
    qtype: str = "A",
    rcode: int = dns.rcode.NOERROR,
    answer: tuple[str, ...] = (),
    ns: tuple[str, ...] = (),
    opcode: int = dns.opcode.QUERY,
) -> dns.message.Message:
    q = dns.message.make_query("example.org.", qtype)
    q.set_opcode(opcode)
    m = dns.message.make_response(q)
    m.set_rcode(dns.rcode.Rcode.make(rcode))
    m.answer = [rr(t) for t in answer]
    m.authority = [rr(t) for t in ns]
    return m


TYPIFY = [
    ("answer", reply(answer=("example.org. 300 IN A 10.0.0.1",)), Type.NOERROR),
    ("cname only for A", reply(answer=("example.org. 300 IN CNAME www.example.net.",)), Type.NODATA),
    ("cname for MX", reply("MX", answer=("example.org. 300 IN CNAME www.example.net.",)), Type.NOERROR),
    ("nxdomain", reply(rcode=dns.rcode.NXDOMAIN, ns=(SOA,)), Type.NXDOMAIN),
    ("nxdomain without soa", reply(rcode=dns.rcode.NXDOMAIN), Type.OTHERERROR),
    ("nodata", reply(ns=(SOA,)), Type.NODATA),
    ("delegation", reply(ns=(NS,)), Type.DELEGATION),
    ("empty noerror", reply(), Type.NOERROR),
    ("servfail", reply(rcode=dns.rcode.SERVFAIL), Type.SERVERERROR),
    ("notimp", reply(rcode=dns.rcode.NOTIMP), Type.SERVERERROR),
    ("refused", reply(rcode=dns.rcode.REFUSED), Type.OTHERERROR),
    ("axfr", reply("AXFR"), Type.META),
    ("ixfr", reply("IXFR"), Type.META),
    ("notify", reply(opcode=dns.opcode.NOTIFY), Type.META),
    ("update", reply(opcode=dns.opcode.UPDATE), Type.UPDATE),
]


@pytest.mark.parametrize(("msg", "want"), [(m, w) for _, m, w in TYPIFY], ids=[i for i, _, _ in TYPIFY])
def test_typify(msg: dns.message.Message, want: Type) -> None:
    """Each reply shape gets CoreDNS's type."""
    assert typify(msg) == want


def test_typify_nothing_written() -> None:
    """No reply at all is OTHERERROR."""
    assert typify(None) == Type.OTHERERROR


def test_expired_signature_is_an_error_only_with_do() -> None:
    """With DO, an RRSIG outside its validity period makes the reply OTHERERROR."""
    m = reply(answer=("example.org. 300 IN A 10.0.0.1", RRSIG))
    assert typify(m, IN_2020, do=True) == Type.NOERROR
    assert typify(m, IN_2021, do=True) == Type.OTHERERROR
    assert typify(m, IN_2021, do=False) == Type.NOERROR
    m.use_edns(0, dns.flags.DO)
    assert typify(m, IN_2021) == Type.OTHERERROR


@pytest.mark.parametrize(
    ("t", "want"),
    [
        (Type.NOERROR, Class.SUCCESS),
        (Type.DELEGATION, Class.SUCCESS),
        (Type.NXDOMAIN, Class.DENIAL),
        (Type.NODATA, Class.DENIAL),
        (Type.SERVERERROR, Class.ERROR),
        (Type.OTHERERROR, Class.ERROR),
        (Type.META, Class.ALL),
        (Type.UPDATE, Class.ALL),
    ],
)
def test_classify(t: Type, want: Class) -> None:
    """Success, denial and error group the types as CoreDNS does; meta and update are in no class."""
    assert classify(t) == want


def test_names_round_trip() -> None:
    """Classes and types parse from the names they print as."""
    for c in Class:
        assert class_from_string(str(c)) == c
    for t in Type:
        assert type_from_string(str(t)) == t
    assert str(Class.DENIAL) == "denial"
    assert str(Type.NXDOMAIN) == "NXDOMAIN"


def test_unknown_names() -> None:
    """An unknown class or type name is a ValueError naming it."""
    with pytest.raises(ValueError, match="invalid Class: abracadabra"):
        class_from_string("abracadabra")
    with pytest.raises(ValueError, match="invalid Type: NOPE"):
        type_from_string("NOPE")
