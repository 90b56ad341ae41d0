"""The fallthrough zone set."""

from __future__ import annotations

import pytest

from kdns.errors import ConfigError
from kdns.pkg.fall import NEVER, ROOT, Fall, in_zones, match_zone
from kdns.testing import controller


@pytest.mark.parametrize(
    ("args", "zones"),
    [
        ([], (".",)),
        (["example.org"], ("example.org.",)),
        (["Example.ORG.", "example.net"], ("example.org.", "example.net.")),
        (["example.org", "example.org."], ("example.org.",)),
        (["10.0.0.0/24"], ("0.0.10.in-addr.arpa.",)),
        (["in-addr.arpa", "ip6.arpa"], ("in-addr.arpa.", "ip6.arpa.")),
    ],
)
def test_parse(args: list[str], zones: tuple[str, ...]) -> None:
    """No argument means every zone; names are normalised, CIDRs become reverse zones, repeats go."""
    assert Fall.parse(args).zones == zones


@pytest.mark.parametrize(
    ("fall", "qname", "want"),
    [
        (NEVER, "example.org.", False),
        (ROOT, "example.org.", True),
        (ROOT, ".", True),
        (Fall(("example.org.",)), "example.org.", True),
        (Fall(("example.org.",)), "a.b.example.org.", True),
        (Fall(("example.org.",)), "badexample.org.", False),
        (Fall(("example.org.",)), "example.net.", False),
        (Fall(("example.org.", "in-addr.arpa.")), "1.0.0.10.in-addr.arpa.", True),
    ],
)
def test_through(fall: Fall, qname: str, want: bool) -> None:
    """A name falls through when it is in (or equal to) one of the zones; NEVER never does."""
    assert fall.through(qname) is want


def test_enabled() -> None:
    """Only a set with zones lets anything through."""
    assert not NEVER.enabled
    assert ROOT.enabled
    assert Fall.parse([]) == ROOT


def test_from_directive_locates_errors() -> None:
    """A bad zone in a fallthrough line is a ConfigError at that line, for the calling plugin."""
    c = controller("hosts {\n fallthrough 10.0.0.0/99\n}")
    d = c.once().block
    assert d is not None
    with pytest.raises(ConfigError, match=r"Corefile:2: plugin/hosts: fallthrough: "):
        Fall.from_directive(c, d[0])


@pytest.mark.parametrize(
    ("zones", "qname", "want"),
    [
        ((".",), "example.org.", "."),
        ((".", "example.org."), "www.example.org.", "example.org."),
        (("org.", "example.org."), "www.example.org.", "example.org."),
        (("example.org.",), "example.net.", None),
    ],
)
def test_match_zone(zones: tuple[str, ...], qname: str, want: str | None) -> None:
    """The longest zone holding the name wins; None when none does."""
    assert match_zone(zones, qname) == want
    assert in_zones(zones, qname) is (want is not None)
