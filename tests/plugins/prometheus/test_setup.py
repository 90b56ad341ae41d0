"""Parsing ``prometheus [ADDRESS] { runtime_metrics }``."""

from __future__ import annotations

import pytest

from kdns.errors import ConfigError
from kdns.plugins.prometheus.setup import PrometheusOptions, parse
from kdns.testing import controller


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("prometheus", PrometheusOptions("localhost:9153")),
        ("prometheus localhost:53", PrometheusOptions("localhost:53")),
        ("prometheus :9153", PrometheusOptions(":9153")),
        ("prometheus 127.0.0.1:0", PrometheusOptions("127.0.0.1:0")),
        ("prometheus [::1]:9253", PrometheusOptions("[::1]:9253")),
        ("prometheus {\n runtime_metrics\n}", PrometheusOptions("localhost:9153")),
        ("prometheus localhost:53 {\n runtime_metrics\n}", PrometheusOptions("localhost:53")),
    ],
)
def test_parse(text: str, want: PrometheusOptions) -> None:
    """The address defaults to localhost:9153; runtime_metrics is accepted."""
    assert parse(controller(text)) == want


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("prometheus {}", "missing port"),
        ("prometheus {\n runtime_metrics extra_arg\n}", "wrong argument count"),
        ("prometheus /foo", "missing port"),
        ("prometheus localhost", "missing port"),
        ("prometheus localhost:http", "invalid address or port"),
        ("prometheus localhost:70000", "invalid address or port"),
        ("prometheus ::1:9153", "too many colons"),
        ("prometheus a b c", "wrong argument count"),
        ("prometheus {\n tls /etc/web.yml\n}", "tls is not supported"),
        ("prometheus {\n bogus\n}", "unknown option: bogus"),
        ("prometheus\nprometheus :9154", "only be used once"),
    ],
)
def test_parse_errors(text: str, match: str) -> None:
    """Bad addresses, extra arguments, unknown options and a second line are located errors."""
    with pytest.raises(ConfigError, match=match) as e:
        parse(controller(text))
    assert str(e.value).startswith("Corefile:")
    assert "plugin/prometheus:" in str(e.value)
