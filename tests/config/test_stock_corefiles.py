"""The stock Corefiles (kubeadm, k3s, managed, autopath, sidecar, node-local-dns) under -check.

Copies of ../shared/corefiles live in tests/config/corefiles. Each must parse and set up; the only
errors allowed are 'not supported by kdns yet' for directives that later issues implement.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pytest

from kdns.cli import check
from kdns.config.parser import Directive, parse_file

HERE = Path(__file__).parent / "corefiles"

#: the plugins kdns has; every other directive is still "not supported yet"
SUPPORTED = {
    "whoami", "log", "errors", "health", "ready", "prometheus", "bind", "reload", "hosts",
    "loadbalance", "rewrite", "any", "local", "minimal", "acl", "loop", "cache", "forward",
    "kubernetes", "autopath",
}  # fmt: skip

#: pinned: exactly these directives of each Corefile are reported as not supported
UNSUPPORTED = {
    "kubeadm.Corefile": set(),
    "k3s.Corefile": set(),
    "managed.Corefile": set(),
    "autopath.Corefile": set(),
    "sidecar.Corefile": set(),
    "nodelocaldns.Corefile": set(),
}

PILLARS = {
    "__PILLAR__DNS__DOMAIN__": "cluster.local",
    "__PILLAR__LOCAL__DNS__": "127.0.0.1",
    "__PILLAR__DNS__SERVER__": "127.0.0.2",
    "__PILLAR__CLUSTER__DNS__": "127.0.0.3",
    "__PILLAR__UPSTREAM__SERVERS__": "127.0.0.4",
}

LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?:plugin/(?P<plugin>[a-z0-9_]+): )?(?P<msg>.*)$")


def corefile(name: str, tmp_path: Path) -> Path:
    """The stock Corefile ``name``; node-local-dns with its placeholders set to loopback addresses."""
    if name != "nodelocaldns.Corefile":
        return HERE / name
    text = (HERE / "nodelocaldns.Corefile.base").read_text()
    for pillar, value in PILLARS.items():
        text = text.replace(pillar, value)
    assert "__PILLAR__" not in text
    path = tmp_path / name
    path.write_text(text)
    return path


def unsupported_lines(path: Path) -> set[tuple[int, str]]:
    """(line, name) of every directive of ``path`` outside SUPPORTED."""
    out: set[tuple[int, str]] = set()
    for sb in parse_file(str(path)).blocks:
        ds: list[Directive] = sb.directives
        out |= {(d.line, d.name) for d in ds if d.name not in SUPPORTED}
    return out


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_check_reports_exactly_the_unsupported_directives(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-check on a stock Corefile prints one 'not supported yet' line per later-issue directive, nothing else."""
    path = corefile(name, tmp_path)
    expected = unsupported_lines(path)
    assert {n for _, n in expected} == UNSUPPORTED[name]
    code = check(lambda: parse_file(str(path)), 53)
    err = capsys.readouterr().err.splitlines()
    got = set()
    for line in err:
        m = LINE.match(line)
        assert m, f"not a FILE:LINE error line: {line!r}"
        assert (m["file"], m["msg"]) == (str(path), "not supported by kdns yet"), line
        got.add((int(m["line"]), m["plugin"]))
    assert len(err) == len(got)
    assert got == expected
    assert code == (1 if expected else 0)


@pytest.mark.parametrize("name", ["k3s.Corefile", "managed.Corefile"])
def test_empty_import_globs_only_warn(name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """k3s and managed import globs that match nothing here: warnings naming the line, not errors."""
    path = HERE / name
    with caplog.at_level(logging.WARNING, logger="kdns"):
        cf = parse_file(str(path))
    assert len(cf.warnings) == 2
    assert all(w.startswith(f"{path}:") and "import: no files match" in w for w in cf.warnings)
    assert [r.getMessage() for r in caplog.records if "import:" in r.getMessage()] == cf.warnings


def test_managed_imports_customer_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """managed.Corefile pulls custom/*.override into its block and custom/*.server as extra blocks."""
    shutil.copy(HERE / "managed.Corefile", tmp_path / "Corefile")
    (tmp_path / "custom").mkdir()
    (tmp_path / "custom" / "a.override").write_text("minimal\n")
    (tmp_path / "custom" / "b.server").write_text("example.org:1053 {\n    whoami\n}\n")
    cf = parse_file(str(tmp_path / "Corefile"))
    assert [b.keys for b in cf.blocks] == [[".:53"], ["example.org:1053"]]
    assert cf.blocks[0].directives[-1].name == "minimal"
    assert cf.warnings == []
    code = check(lambda: parse_file(str(tmp_path / "Corefile")), 53)
    err = capsys.readouterr().err.splitlines()
    assert sorted(line.rsplit(": ", 2)[1] for line in err) == sorted(
        f"plugin/{n}" for n in UNSUPPORTED["managed.Corefile"]
    )
    assert code == (1 if err else 0)
