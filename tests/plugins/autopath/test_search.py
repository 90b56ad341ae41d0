"""The search-list logic of autopath, without sockets: lists, base names, candidates and the CNAME."""

from __future__ import annotations

import dns.name
import pytest

from kdns.plugins.autopath import search
from kdns.testing import rr

RESOLV = [
    ("search a.example b.example\nnameserver 10.0.0.1\n", ["a.example.", "b.example."]),
    ("domain x.example\n", ["x.example."]),
    ("search a.example\ndomain x.example\n", ["x.example."]),
    ("domain x.example\nsearch A.Example. b.example # comment\n", ["a.example.", "b.example."]),
    ("nameserver 127.0.0.1\noptions ndots:5\n", []),
    ("search\n; search c.example\n", []),
]


@pytest.mark.parametrize(("text", "want"), RESOLV)
def test_resolv_search(text: str, want: list[str]) -> None:
    """The last search or domain line gives the search domains, lower-cased FQDNs; comments ignored."""
    assert search.resolv_search(text) == want


def test_kube_list() -> None:
    """A pod's list: NS.svc.ZONE, svc.ZONE, ZONE, kdns's own domains (repeats dropped), then ''."""
    host = ("prod.svc.cluster.local.", "corp.example.")
    assert search.kube_list("Prod", "cluster.local.", host) == (
        "prod.svc.cluster.local.",
        "svc.cluster.local.",
        "cluster.local.",
        "corp.example.",
        "",
    )


def test_kube_list_root_zone() -> None:
    """With the root zone the elements are NS.svc., svc. and the root."""
    assert search.kube_list("prod", ".") == ("prod.svc.", "svc.", ".", "")


def test_static_list() -> None:
    """The RESOLV-CONF form's list is its domains and the sentinel ''."""
    assert search.static_list(["a.example", "B.example."]) == ("a.example.", "b.example.", "")


ZONES = [
    ("web.prod.svc.cluster.local.", ("cluster.local.", "svc.cluster.local."), "svc.cluster.local."),
    ("cluster.local.", ("cluster.local.",), "cluster.local."),
    ("github.com.", ("cluster.local.",), None),
    ("xcluster.local.", ("cluster.local.",), None),
    ("github.com.", (".", "cluster.local."), "."),
]


@pytest.mark.parametrize(("qname", "zones", "want"), ZONES)
def test_zone_of(qname: str, zones: tuple[str, ...], want: str | None) -> None:
    """The longest zone holding the name, on label boundaries; None when no zone holds it."""
    assert search.zone_of(qname, zones) == want


BASE = [
    ("github.com.prod.svc.cluster.local.", "prod.svc.cluster.local.", "github.com"),
    ("web.prod.svc.cluster.local.", "prod.svc.cluster.local.", "web"),
    ("prod.svc.cluster.local.", "prod.svc.cluster.local.", ""),
    ("web.svc.cluster.local.", "prod.svc.cluster.local.", ""),
    ("webprod.svc.cluster.local.", "prod.svc.cluster.local.", ""),
    ("github.com.", "prod.svc.cluster.local.", ""),
]


@pytest.mark.parametrize(("qname", "first", "base"), BASE)
def test_base(qname: str, first: str, base: str) -> None:
    """The base is what is left of a name strictly under the first element; '' for anything else."""
    assert qname[: search.base_len(qname, first)] == base


def test_candidates() -> None:
    """Each element gives base.element, the sentinel gives the base itself; repeats dropped."""
    lst = ("prod.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", ".", "")
    assert search.candidates("GitHub.com", lst) == [
        "GitHub.com.prod.svc.cluster.local.",
        "GitHub.com.svc.cluster.local.",
        "GitHub.com.cluster.local.",
        "GitHub.com.",
    ]


def test_add_cname_in_front() -> None:
    """A CNAME from the question's name to the answer's owner goes first, with the answer's TTL."""
    original = dns.name.from_text("github.com.prod.svc.cluster.local.")
    answer = [rr("github.com. 42 IN A 192.0.2.1")]
    out = search.add_cname(answer, original)
    assert [r.to_text() for r in out] == [
        "github.com.prod.svc.cluster.local. 42 IN CNAME github.com.",
        "github.com. 42 IN A 192.0.2.1",
    ]


def test_add_cname_follows_first_other_owner() -> None:
    """Records already owned by the question's name (any case) are skipped to find the target."""
    original = dns.name.from_text("Web.prod.svc.cluster.local.")
    answer = [rr("web.prod.svc.cluster.local. 5 IN CNAME docs.example.org."), rr("docs.example.org. 7 IN A 192.0.2.9")]
    out = search.add_cname(answer, original)
    assert out[0].to_text() == "Web.prod.svc.cluster.local. 7 IN CNAME docs.example.org."
    assert out[1:] == answer


def test_add_cname_nothing_to_point_at() -> None:
    """An empty answer (NODATA) gets no CNAME."""
    assert search.add_cname([], dns.name.from_text("x.prod.svc.cluster.local.")) == []
