"""Corefile errors found while setting up an instance: keys, duplicates, unknown directives."""

from __future__ import annotations

import pytest

from kdns.config.parser import parse
from kdns.core.instance import Instance
from kdns.errors import ConfigError


def setup_errors(text: str) -> list[str]:
    """Every error a check-only setup of ``text`` finds, as printed."""
    inst = Instance(parse(text, "C"), default_port=53, check_only=True)
    try:
        inst.setup()
    except ConfigError:
        pass
    return [str(e) for e in inst.errors]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("example.org:1053 {\n whoami\n}\nexample.org:1053 {\n whoami\n}\n", id="same-key"),
        pytest.param("Example.ORG {\n whoami\n}\nexample.org. {\n whoami\n}\n", id="normalised"),
        pytest.param("10.0.0.0/24 {\n whoami\n}\n0.0.10.in-addr.arpa {\n whoami\n}\n", id="cidr"),
        pytest.param("10.0.0.0/23 {\n whoami\n}\n1.0.10.in-addr.arpa {\n whoami\n}\n", id="cidr-split"),
        pytest.param("a.org {\n whoami\n}\nb.org dns://a.org:53 {\n whoami\n}\n", id="second-key"),
    ],
)
def test_duplicate_zone_and_port_is_an_error(text: str) -> None:
    """The same zone on the same port in two blocks is 'already defined', at the second block."""
    errors = setup_errors(text)
    assert len(errors) == 1
    assert errors[0].startswith("C:4: cannot serve dns://")
    assert errors[0].endswith("- it is already defined")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a.org {\n whoami\n}\na.org:1053 {\n whoami\n}\n", id="other-port"),
        pytest.param("a.org {\n whoami\n}\nb.a.org {\n whoami\n}\n", id="subzone"),
        pytest.param("a.org a.org {\n whoami\n}\n", id="same-block"),
        pytest.param("10.0.0.0/24 {\n whoami\n}\n10.0.1.0/24 {\n whoami\n}\n", id="cidrs"),
    ],
)
def test_distinct_zones_or_ports_are_fine(text: str) -> None:
    """Different ports, sub-zones and repeats inside one block are not duplicates."""
    assert setup_errors(text) == []


@pytest.mark.parametrize("scheme", ["tls", "https", "grpc", "quic", "https3"])
def test_unsupported_scheme_is_located(scheme: str) -> None:
    """A key with a transport kdns does not serve is a clear 'not supported yet' error at its block."""
    errors = setup_errors(f". {{\n whoami\n}}\n\n{scheme}://example.org {{\n whoami\n}}\n")
    assert errors == [f"C:5: {scheme}:// servers are not supported yet (only dns://)"]


def test_bad_zone_is_located() -> None:
    """An invalid zone in a key is an error at its block's line."""
    errors = setup_errors("\n\na..b {\n whoami\n}\n")
    assert errors == ["C:3: invalid zone 'a..b': A DNS label is empty."]


def test_unknown_and_unsupported_directives() -> None:
    """Unknown names and CoreDNS directives kdns lacks are reported per line, all of them."""
    errors = setup_errors(". {\n whoami\n nosuchplugin\n etcd\n}\n")
    assert errors == ["C:3: unknown directive 'nosuchplugin'", "C:4: plugin/etcd: not supported by kdns yet"]


def test_env_directive_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A directive name from the environment sets up like a written one."""
    monkeypatch.setenv("KDNS_PLUGIN", "whoami")
    monkeypatch.setenv("KDNS_BAD", "nosuch")
    assert setup_errors(". {\n {$KDNS_PLUGIN}\n}\n") == []
    assert setup_errors(". {\n {$KDNS_BAD}\n}\n") == ["C:2: unknown directive 'nosuch'"]


def test_normal_setup_stops_at_first_error() -> None:
    """Outside -check, setup raises the first error."""
    inst = Instance(parse(". {\n nosuch\n etcd\n}\n", "C"))
    with pytest.raises(ConfigError, match=r"^C:2: unknown directive 'nosuch'$"):
        inst.setup()


def test_bind_separates_same_zone_and_port() -> None:
    """Blocks that bind different addresses may serve the same zone on the same port."""
    text = "a.org {\n bind 127.0.0.1\n whoami\n}\na.org {\n bind 127.0.0.2\n whoami\n}\n"
    assert setup_errors(text) == []
    same = "a.org {\n bind 127.0.0.1\n whoami\n}\na.org {\n bind 127.0.0.1\n whoami\n}\n"
    (err,) = setup_errors(same)
    assert err.startswith("C:5: cannot serve dns://a.org.")
    assert err.endswith(" - it is already defined")
