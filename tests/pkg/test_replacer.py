"""kdns.pkg.replacer: log templates filled in from the request and the recorded reply."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import pytest

from kdns.pkg.replacer import COMBINED_LOG_FORMAT, COMMON_LOG_FORMAT, Replacer, format_duration
from kdns.request import Request
from kdns.testing import FakeWriter, Recorder


def request(
    remote: tuple[str, int] = ("10.240.0.1", 40212),
    local: tuple[str, int] = ("127.0.0.1", 53),
    proto: str = "udp",
    edns: bool = False,
) -> Request:
    if edns:
        q = dns.message.make_query("Example.ORG.", "A", use_edns=0, payload=4096, want_dnssec=True)
    else:
        q = dns.message.make_query("Example.ORG.", "A")
    q.id = 29008
    return Request(q, remote=remote, local=local, proto=proto)


async def recorded(req: Request, rcode: int = dns.rcode.NOERROR, flags: int = 0) -> Recorder:
    rec = Recorder(FakeWriter())
    reply = req.reply()
    reply.set_rcode(dns.rcode.Rcode.make(rcode))
    reply.flags |= flags
    await rec.write_msg(reply)
    return rec


async def test_common_log_format() -> None:
    """The default format is CoreDNS's Common Log Format, qname lower-cased."""
    req = request()
    rec = await recorded(req, flags=dns.flags.RA)
    line = Replacer(COMMON_LOG_FORMAT).replace(req, rec, 0.0379)
    assert line == '10.240.0.1:40212 - 29008 "A IN example.org. udp 29 false 512" NOERROR qr,rd,ra 29 0.0379s'


async def test_combined_log_format_adds_opcode() -> None:
    """{combined} is the common format plus the quoted query opcode."""
    req = request(remote=("::1", 50759), proto="tcp", edns=True)
    rec = await recorded(req, rcode=dns.rcode.NXDOMAIN)
    line = Replacer(COMBINED_LOG_FORMAT).replace(req, rec, 1.5)
    assert line == '[::1]:50759 - 29008 "A IN example.org. tcp 40 true 65535" NXDOMAIN qr,rd 29 1.5s "0"'


@pytest.mark.parametrize(
    ("fmt", "want"),
    [
        ("{type}", "A"),
        ("{name}", "example.org."),
        ("{class}", "IN"),
        ("{proto}", "udp"),
        ("{size}", "40"),
        ("{remote}", "[2001:db8::1]"),
        ("{port}", "5353"),
        ("{local}", "[::1]"),
        ("{>id}", "29008"),
        ("{>opcode}", "0"),
        ("{>do}", "true"),
        ("{>bufsize}", "4096"),
        ("{rcode}", "SERVFAIL"),
        ("{rsize}", "29"),
        ("{duration}", "0.25s"),
        ("{>rflags}", "qr,aa,rd"),
        ("{proto} Request: {name} {type} {>id}", "udp Request: example.org. A 29008"),
    ],
)
async def test_placeholders(fmt: str, want: str) -> None:
    """Each placeholder reads its value from the request or the recording; IPv6 is bracketed."""
    req = request(remote=("2001:db8::1", 5353), local=("::1", 53), edns=True)
    rec = await recorded(req, rcode=dns.rcode.SERVFAIL, flags=dns.flags.AA)
    assert Replacer(fmt).replace(req, rec, 0.25) == want


@pytest.mark.parametrize(
    ("fmt", "want"),
    [
        ("{host}", "{host}"),
        ("A {unknown} {type}", "A {unknown} A"),
        ("{ {type} }", "{ A }"),
        ("A } {type}", "A } A"),
        ("no labels", "no labels"),
        ("{type", "{type"),
        ("", ""),
    ],
)
def test_literals(fmt: str, want: str) -> None:
    """Unknown placeholders and stray braces stay as written."""
    assert Replacer(fmt).replace(request(), None) == want


def test_reply_values_without_recording() -> None:
    """Without a recording the reply placeholders are '-'."""
    assert Replacer("{rcode} {rsize} {duration} {>rflags}").replace(request(), None) == "- - - -"


async def test_flags_when_nothing_written() -> None:
    """A recording with no message has '-' for its flags."""
    rec = Recorder(FakeWriter())
    assert Replacer("{rcode} {>rflags}").replace(request(), rec, 0.0) == "NOERROR -"


async def test_unknown_rcode_is_a_number() -> None:
    """An rcode without a name prints as its number."""
    req = request()
    rec = await recorded(req)
    rec.rcode = 3841
    assert Replacer("{rcode}").replace(req, rec, 0.0) == "3841"


def test_metadata() -> None:
    """{/LABEL} is the request's metadata value, '-' when it is not set."""
    req = request()
    req.meta["kubernetes/client-namespace"] = lambda: "default"
    line = Replacer("{/kubernetes/client-namespace} {/geoip/city/name}").replace(req, None)
    assert line == "default -"


@pytest.mark.parametrize(
    ("seconds", "want"),
    [
        (0.0, "0s"),
        (0.037990251, "0.037990251s"),
        (1.0, "1s"),
        (1.5, "1.5s"),
        (0.000001, "0.000001s"),
        (12.3456789012, "12.345678901s"),
    ],
)
def test_format_duration(seconds: float, want: str) -> None:
    """Durations print as Go's float seconds: nanosecond precision, never an exponent."""
    assert format_duration(seconds) == want
