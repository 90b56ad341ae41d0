"""Pure rule logic: matches, templates and the inverse rewriters used for answer auto."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kdns.plugins.rewrite.rules import Match, RemapRewriter, SuffixRewriter, Template

LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
NAMES = st.lists(LABEL, min_size=1, max_size=5).map(lambda labels: ".".join(labels))


@given(NAMES)
def test_suffix_auto_round_trips(host: str) -> None:
    """A suffix rewrite followed by its inverse gives back the asked name."""
    m = Match.make("suffix", ".corp.internal", ".corp.example.com")
    name = host + ".corp.internal."
    new = m.replace(name)
    assert new == host + ".corp.example.com."
    assert SuffixRewriter(m.to, m.frm).rewrite(new) == name


@given(NAMES)
def test_remap_maps_name_and_names_below(host: str) -> None:
    """The per-query inverse maps the rewritten name and names under it; others are left alone."""
    back = RemapRewriter("web.example.org.", "www.example.org.")
    assert back.rewrite("web.example.org.") == "www.example.org."
    assert back.rewrite(host + ".web.example.org.") == host + ".www.example.org."
    assert back.rewrite(host + ".example.net.") == host + ".example.net."


@pytest.mark.parametrize(
    ("kind", "frm", "to", "name", "want"),
    [
        ("exact", "a.example.org", "b.example.org", "a.example.org.", "b.example.org."),
        ("exact", "a.example.org", "b.example.org", "x.a.example.org.", None),
        ("prefix", "foo", "bar", "foo.example.org.", "bar.example.org."),
        ("prefix", "foo", "bar", "food.example.org.", None),
        ("substring", "us-west-1.example.org", "consul", "ftp.us-west-1.example.org.", "ftp.consul."),
        ("regex", r"^(.*)-(us-west-1)\.example\.org\.$", "{1}.service.{2}.consul", "ftp-us-west-1.example.org.",
         "ftp.service.us-west-1.consul."),
        ("regex", r"(a)|(b)", "x{2}y.example.org", "a.", "xy.example.org."),
        ("regex", r"zzz", "{0}.example.org", "a.", None),
    ],
)  # fmt: skip
def test_match_replace(kind: str, frm: str, to: str, name: str, want: str | None) -> None:
    """Each match type rewrites the lower-case FQDN as CoreDNS does; unmatched groups are empty."""
    assert Match.make(kind, frm, to).replace(name) == want


def test_template_parts() -> None:
    """A template is split once into literals and group numbers."""
    assert Template("{1}.x.{12}").parts == (1, ".x.", 12)
    assert Template("{1}.x.{12}").max_group == 12
