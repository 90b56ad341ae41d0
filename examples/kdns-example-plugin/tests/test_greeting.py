"""greeting's tests, written with kdns.testing as any third-party plugin's would be."""

from __future__ import annotations

import re
from pathlib import Path

import dns.rcode
import pytest
from kdns_greeting.plugin import Greeting
from kdns_greeting.setup import Options, parse, txt_rrset

from kdns.config.parser import parse as parse_corefile
from kdns.core.instance import Instance
from kdns.errors import ConfigError
from kdns.testing import Case, FakeWriter, Recorder, controller, next_handler, run_instance


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("greeting hello.example.org", Options("hello.example.org.")),
        ('greeting Hello.Example.ORG. "hi there" again', Options("hello.example.org.", ("hi there", "again"))),
        ("greeting hello.example.org {\n ttl 30\n}", Options("hello.example.org.", ttl=30)),
    ],
)
def test_parse(text: str, want: Options) -> None:
    """NAME is normalised; TEXT strings and ttl are kept; defaults fill the rest."""
    assert parse(controller(text)) == want


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("greeting", "wrong argument count"),
        ("greeting hello.example.org {\n ttl\n}", "wrong argument count"),
        ("greeting hello.example.org {\n ttl soon\n}", "ttl must be a number"),
        ("greeting hello.example.org {\n colour blue\n}", "unknown property 'colour'"),
        ("greeting a.example.org\ngreeting b.example.org", "only be used once"),
    ],
)
def test_parse_errors(text: str, match: str) -> None:
    """Malformed lines are located config errors naming the plugin."""
    with pytest.raises(ConfigError, match=match) as e:
        parse(controller(text))
    assert "plugin/greeting" in str(e.value)


def test_name_outside_zones() -> None:
    """A NAME that no zone of the block holds is an error: it could never be asked."""
    with pytest.raises(ConfigError, match="not in the zones"):
        parse(controller("greeting hello.example.net", zones=("example.org.",)))


OPTS = Options("hello.example.org.", ("hi",), 60)
CASES = [
    Case("hello.example.org.", "TXT", authoritative=True, answer=['hello.example.org. 60 IN TXT "hi"']),
    Case("HELLO.example.org.", "TXT", authoritative=True, answer=['hello.example.org. 60 IN TXT "hi"']),
    Case("hello.example.org.", "A", rcode=dns.rcode.NXDOMAIN),
    Case("other.example.org.", "TXT", rcode=dns.rcode.NXDOMAIN),
]


@pytest.mark.parametrize("tc", CASES, ids=str)
async def test_lookup(tc: Case) -> None:
    """TXT for NAME (any case) is answered; anything else goes to the next plugin (NXDOMAIN here)."""
    h = Greeting(OPTS.owner, txt_rrset(OPTS), next=next_handler(dns.rcode.NXDOMAIN))
    rec = Recorder(FakeWriter())
    tc.check(await h.serve_dns(rec, tc.request()), rec.msg)


async def test_server() -> None:
    """A whole kdns with greeting in front of whoami answers TXT itself and hands A queries on."""
    async with run_instance('.:0 {\n greeting hello.example.org "hi"\n whoami\n}\n') as inst:
        txt = await inst.query("hello.example.org", "TXT")
        a = await inst.query("hello.example.org", "A")
    assert [r.to_text() for r in txt.answer[0]] == ['"hi"']
    assert a.rcode() == dns.rcode.NOERROR
    assert not a.answer
    assert a.additional  # whoami's client address


def test_readme_example_sets_up() -> None:
    """The Corefile in README.md parses and sets up (no sockets)."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    blocks = re.findall(r"^```corefile\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    assert blocks
    for block in blocks:
        inst = Instance(parse_corefile(block, "README.md"), check_only=True)
        inst.setup()
        assert inst.errors == []
        assert "greeting" in inst.blocks[0].handlers
