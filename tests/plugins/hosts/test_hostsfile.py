"""Hosts-file parsing and lookup tables (no sockets), and the file re-read on change."""

from __future__ import annotations

import os
from pathlib import Path

import dns.rdatatype
import pytest

from kdns.plugins.hosts.hostsfile import HostsFile, Tables, parse, parse_ip, reverse_name
from kdns.testing import StepSleep

A = dns.rdatatype.A
AAAA = dns.rdatatype.AAAA

HOSTS = """
# comment line
127.0.0.1 localhost localhost.domain
::1 localhost localhost.domain   # trailing comment
10.0.0.1 example.org Alias.Example.ORG
::FFFF:10.0.0.2 example.com
fe80::1%eth0 scoped.example.org
10.0.0.3
not-an-ip bad.example.org
256.0.0.1 bad2.example.org
10.0.0.4 ok.example.org bad..name.example.org
"""


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("10.0.0.1", (4, "10.0.0.1")),
        ("::1", (6, "::1")),
        ("::FFFF:10.0.0.2", (4, "10.0.0.2")),
        ("fe80::1%eth0", (6, "fe80::1")),
        ("2001:DB8::0001", (6, "2001:db8::1")),
        ("010.0.0.1", None),
        ("example.org", None),
        ("", None),
    ],
)
def test_parse_ip(text: str, want: tuple[int, str] | None) -> None:
    """IPv4-mapped IPv6 is IPv4, IPv6 zones are dropped, addresses are canonical, junk is None."""
    assert parse_ip(text) == want


def test_parse_skips_comments_and_bad_lines() -> None:
    """Comments, lines without a name, bad addresses and bad names are skipped; names lower-cased."""
    m = parse(HOSTS)
    assert list(m.names) == [
        "localhost.",
        "localhost.domain.",
        "example.org.",
        "alias.example.org.",
        "example.com.",
        "scoped.example.org.",
        "ok.example.org.",
    ]
    assert m.names["localhost."].v4 == ["127.0.0.1"]
    assert m.names["localhost."].v6 == ["::1"]
    assert m.names["example.com."].v4 == ["10.0.0.2"]
    assert m.names["scoped.example.org."].v6 == ["fe80::1"]
    assert len(m) == 9


def test_parse_keeps_only_origin_names() -> None:
    """Names outside the origins are dropped at parse time."""
    m = parse(HOSTS, origins=("example.org.",))
    assert list(m.names) == ["example.org.", "alias.example.org.", "scoped.example.org.", "ok.example.org."]


def test_reverse_name() -> None:
    """IPv4 and IPv6 reverse names, IPv6 in full nibbles."""
    assert reverse_name("10.0.0.1") == "1.0.0.10.in-addr.arpa."
    assert reverse_name("::1") == "1." + "0." * 31 + "ip6.arpa."


def test_tables_answers_and_ptr() -> None:
    """A/AAAA RRsets carry the TTL; PTR lists every name of an address in file order."""
    t = Tables(parse(HOSTS), parse(""), ttl=60)
    a = t.address("example.org.", A)
    assert a is not None
    assert a.ttl == 60
    assert [r.to_text() for r in a] == ["10.0.0.1"]
    assert t.address("example.org.", AAAA) is None
    assert t.exists("example.org.")
    assert not t.exists("nope.example.org.")
    ptr = t.reverse("1.0.0.127.in-addr.arpa.")
    assert ptr is not None
    assert [r.to_text() for r in ptr] == ["localhost.", "localhost.domain."]
    assert t.reverse("9.9.9.9.in-addr.arpa.") is None


def test_tables_inline_overrides_file_per_name() -> None:
    """An inline name replaces the file's addresses for that name (both families); others stay."""
    file = parse("10.0.0.1 example.org\n::1 example.org\n10.0.0.5 other.example.org\n")
    t = Tables(file, parse("10.0.0.2 example.org\n"))
    a = t.address("example.org.", A)
    assert a is not None
    assert [r.to_text() for r in a] == ["10.0.0.2"]
    assert t.address("example.org.", AAAA) is None
    assert t.address("other.example.org.", A) is not None
    assert t.reverse("1.0.0.10.in-addr.arpa.") is None
    assert t.reverse("2.0.0.10.in-addr.arpa.") is not None


def test_tables_no_reverse() -> None:
    """Without auto reverse there are no PTR answers and the count has only forward entries."""
    t = Tables(parse("10.0.0.1 a.example.org b.example.org\n"), parse(""), auto_reverse=False)
    assert t.reverse("1.0.0.10.in-addr.arpa.") is None
    assert t.count == 2
    assert Tables(parse("10.0.0.1 a.example.org b.example.org\n"), parse("")).count == 4


@pytest.mark.parametrize(
    ("qname", "want"),
    [
        ("apps.example.com.", "192.168.1.10"),
        ("a.example.com.", "192.168.1.11"),
        ("example.com.", None),
        ("deep.apps.example.com.", None),
    ],
)
def test_wildcard_matches_one_label(qname: str, want: str | None) -> None:
    """A leftmost '*' matches exactly one label; explicit names win; the apex is not matched."""
    t = Tables(parse("192.168.1.10 *.example.com\n192.168.1.11 a.example.com\n"), parse(""))
    rrset = t.address(qname, A)
    if want is None:
        assert rrset is None
    else:
        assert rrset is not None
        assert rrset.name.to_text() == qname
        assert [r.to_text() for r in rrset] == [want]


def test_wildcard_has_no_ptr() -> None:
    """Wildcard entries do not generate PTR records."""
    t = Tables(parse("192.168.1.10 *.example.com\n"), parse(""))
    assert t.reverse("10.1.168.192.in-addr.arpa.") is None


def test_explicit_name_blocks_wildcard_for_other_type() -> None:
    """A name with only an A entry is NODATA for AAAA even if a wildcard has AAAA."""
    t = Tables(parse("::1 *.example.com\n10.0.0.1 a.example.com\n"), parse(""))
    assert t.address("a.example.com.", AAAA) is None
    assert t.exists("a.example.com.")
    assert t.address("b.example.com.", AAAA) is not None


def test_read_only_when_changed(tmp_path: Path) -> None:
    """read() swaps tables when size or mtime changed, and keeps them when the file is gone."""
    path = tmp_path / "hosts"
    path.write_text("10.0.0.1 example.org\n")
    h = HostsFile(str(path), inline="10.0.0.9 inline.example.org")
    assert h.read() is True
    assert h.read() is False
    assert h.tables.exists("example.org.")
    assert h.tables.exists("inline.example.org.")
    path.write_text("10.0.0.2 example.net\n")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert h.read() is True
    assert not h.tables.exists("example.org.")
    assert h.tables.exists("example.net.")
    path.unlink()
    assert h.read() is False
    assert h.tables.exists("example.net.")


def test_from_text() -> None:
    """from_text builds tables without a file, inline entries laid over."""
    h = HostsFile.from_text("10.0.0.1 example.org\n", inline="10.0.0.2 example.org", ttl=5)
    a = h.tables.address("example.org.", A)
    assert a is not None
    assert [r.to_text() for r in a] == ["10.0.0.2"]
    assert a.ttl == 5


async def test_reload_task_polls_with_injected_sleep(tmp_path: Path) -> None:
    """The reload task re-reads the file after each sleep of ``reload`` seconds; stop() ends it."""
    path = tmp_path / "hosts"
    path.write_text("10.0.0.1 example.org\n")
    sleep = StepSleep()
    h = HostsFile(str(path), reload=5.0, sleep=sleep)
    await h.start()
    assert h.tables.exists("example.org.")
    assert await sleep.next_delay() == 5.0
    path.write_text("10.0.0.2 example.net.longer\n")
    version = h.version
    sleep.step()
    assert await sleep.next_delay() == 5.0  # next sleep: the read is done
    assert h.version == version + 1
    assert h.tables.exists("example.net.longer.")
    await h.stop()
    assert h.poller.task is None


async def test_reload_zero_starts_no_task(tmp_path: Path) -> None:
    """reload 0 reads once and polls never."""
    path = tmp_path / "hosts"
    path.write_text("10.0.0.1 example.org\n")
    h = HostsFile(str(path), reload=0)
    await h.start()
    assert h.poller.task is None
    assert h.tables.exists("example.org.")
    await h.stop()
