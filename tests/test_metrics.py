"""Lint every metric kdns registers: CoreDNS naming, help, label names; and the core set exactly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Metric

import kdns.plugins  # noqa: F401  (every in-tree plugin registers its metrics on import)
from kdns.metrics import NAMESPACE, REGISTRY, LoopMetric, report

#: collectors of the Python client standing in for the Go client's go_*/process_* metrics
STANDARD = ("process_", "python_")
NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
LABEL = re.compile(r"^[a-z][a-z0-9_]*$")


def _families() -> list[Metric]:
    return list(REGISTRY.collect())


def _ids(families: list[Metric]) -> list[str]:
    return [m.name for m in families]


FAMILIES = _families()


@pytest.mark.parametrize("m", FAMILIES, ids=_ids(FAMILIES))
def test_metric_is_well_formed(m: Metric) -> None:
    """coredns_ prefix in snake case, help text, counters end _total, valid label names, histograms end +Inf."""
    assert NAME.match(m.name), m.name
    if not m.name.startswith(STANDARD):
        assert m.name.startswith(NAMESPACE + "_"), m.name
    assert m.documentation.strip(), f"{m.name} has no help"
    assert m.type in ("counter", "gauge", "histogram", "info", "summary"), m.type
    if m.type != "counter":
        assert not m.name.endswith("_total"), f"{m.name}: only counters end in _total"
    for s in m.samples:
        if m.type == "counter":
            assert s.name == m.name + "_total", s.name
        for label in s.labels:
            assert LABEL.match(label), f"{m.name}: bad label {label!r}"
    if m.type == "histogram":
        les = [s.labels["le"] for s in m.samples if s.name.endswith("_bucket")]
        assert not les or les[-1] == "+Inf"


def _exported() -> dict[str, tuple[str, tuple[str, ...]]]:
    """name -> (type, label names) as scraped, after one query was reported (so labelled series exist)."""
    report("dns://lint:0", ".", "", "udp", "1", 1, True, 40, 0, "whoami", 60, 0.0, clock=lambda: 0.001)
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for m in REGISTRY.collect():
        labels = tuple(k for k in m.samples[0].labels if k != "le") if m.samples else ()
        out[m.name] = (m.type, labels)
    return out


CORE = {
    "coredns_build_info": ("gauge", ("version", "revision", "goversion")),
    "coredns_panics": ("counter", ()),
    "coredns_dns_requests": ("counter", ("server", "zone", "view", "proto", "family", "type")),
    "coredns_dns_request_duration_seconds": ("histogram", ("server", "zone", "view")),
    "coredns_dns_request_size_bytes": ("histogram", ("server", "zone", "view", "proto")),
    "coredns_dns_response_size_bytes": ("histogram", ("server", "zone", "view", "proto")),
    "coredns_dns_responses": ("counter", ("server", "zone", "view", "rcode", "plugin")),
    "coredns_dns_do_requests": ("counter", ("server", "zone", "view")),
    "coredns_health_request_duration_seconds": ("histogram", ()),
    "coredns_health_request_failures": ("counter", ()),
}


@pytest.mark.parametrize(("name", "want"), CORE.items(), ids=list(CORE))
def test_core_metric_names_types_labels(name: str, want: tuple[str, tuple[str, ...]]) -> None:
    """The core metrics (and health's) have CoreDNS's names, types and label names, in order.

    (coredns_plugin_enabled's labels are checked on a running server, in tests/plugins/prometheus.)
    """
    assert _exported()[name] == want


def test_metric_names_unique() -> None:
    """No two collectors export the same family name."""
    names = _ids(FAMILIES)
    assert len(names) == len(set(names))


def test_every_metric_documented() -> None:
    """docs/metrics.md names every metric family kdns registers (with _total for counters)."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "metrics.md").read_text()
    missing = [
        m.name + ("_total" if m.type == "counter" else "")
        for m in FAMILIES
        if f"`{m.name}{'_total' if m.type == 'counter' else ''}`" not in doc
    ]
    assert not missing, f"not in docs/metrics.md: {missing}"


def test_loop_histogram_buckets_are_cumulative_and_inclusive() -> None:
    """A LoopMetric histogram counts a value equal to a bound in that bound's bucket; buckets are cumulative."""
    reg = CollectorRegistry()
    h = LoopMetric("lint_seconds", "A test histogram.", ["server"], buckets=(0.5, 1, 2), registry=reg)
    child = h.labels("a")
    for v in (0.1, 0.5, 1.5, 2, 3):
        child.observe(v)

    def get(name: str, **labels: str) -> float | None:
        return reg.get_sample_value(name, {"server": "a", **labels})

    assert [get("coredns_lint_seconds_bucket", le=le) for le in ("0.5", "1.0", "2.0", "+Inf")] == [2, 2, 4, 5]
    assert get("coredns_lint_seconds_count") == 5
    assert get("coredns_lint_seconds_sum") == 7.1
    with pytest.raises(ValueError, match="expected labels"):
        h.labels("a", "b")


def test_loop_counter_series_and_clear() -> None:
    """A LoopMetric counter keeps one series per label values, exported with _total; clear() drops them."""
    reg = CollectorRegistry()
    c = LoopMetric("lint", "A test counter.", ["rcode"], registry=reg)
    c.labels("NOERROR").inc()
    c.labels("NOERROR").inc(2)
    c.labels("SERVFAIL").inc()
    assert reg.get_sample_value("coredns_lint_total", {"rcode": "NOERROR"}) == 3
    assert reg.get_sample_value("coredns_lint_total", {"rcode": "SERVFAIL"}) == 1
    c.clear()
    assert reg.get_sample_value("coredns_lint_total", {"rcode": "NOERROR"}) is None
