"""The Dockerfile: hadolint clean, the properties a cluster relies on, and the Corefile it bakes in.

scripts/image-check.sh builds and runs the image for real with podman; these tests need no container engine.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import dns.rcode
import dns.rdatatype
import pytest

from kdns.cli import check
from kdns.config.parser import parse
from kdns.testing import run_instance

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = ROOT / ".tools" / "hadolint" / "bin" / "hadolint"


@dataclass(frozen=True)
class Instr:
    """One Dockerfile instruction: keyword (upper case), the rest of the line (continuations joined)."""

    cmd: str
    args: str


def instructions(text: str) -> list[list[Instr]]:
    """The instructions of each build stage (a stage starts at FROM), comments dropped."""
    logical: list[str] = []
    buf = ""
    for line in text.splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if buf and line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        logical.append(buf + line)
        buf = ""
    stages: list[list[Instr]] = []
    for item in logical:
        cmd, _, args = item.strip().partition(" ")
        if cmd.upper() == "FROM":
            stages.append([])
        stages[-1].append(Instr(cmd.upper(), args.strip()))
    return stages


STAGES = instructions(DOCKERFILE.read_text())
FINAL = STAGES[-1]


def final(cmd: str) -> list[str]:
    """The arguments of every ``cmd`` instruction of the runtime (last) stage."""
    return [i.args for i in FINAL if i.cmd == cmd]


def baked_corefile() -> str:
    """The default Corefile as the build stage's ``printf '%s\\n' 'line' ... > /etc/kdns/Corefile`` writes it."""
    runs = [i.args for i in STAGES[0] if i.cmd == "RUN" and "/etc/kdns/Corefile" in i.args]
    assert len(runs) == 1, runs
    m = re.search(r"printf '%s\\n' (.*?) > /etc/kdns/Corefile", runs[0])
    assert m is not None, runs[0]
    return "".join(line + "\n" for line in shlex.split(m.group(1)))


def hadolint() -> Path:
    """The hadolint binary that scripts/image-check.sh installs; skip (fail under CI) when it is missing."""
    path = HADOLINT if HADOLINT.exists() else Path(shutil.which("hadolint") or HADOLINT)
    if not path.exists():
        msg = "hadolint is missing: run `bash scripts/image-check.sh --lint-only`"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def lint(text: str, tmp_path: Path) -> tuple[int, list[str]]:
    """hadolint's exit code and the rule codes it reports for a Dockerfile text."""
    f = tmp_path / "Dockerfile"
    f.write_text(text)
    p = subprocess.run([hadolint(), "-f", "json", str(f)], capture_output=True, text=True, timeout=30, check=False)
    return p.returncode, [r["code"] for r in json.loads(p.stdout or "[]")]


def test_hadolint_clean(tmp_path: Path) -> None:
    """hadolint reports nothing on the Dockerfile (exit 0, no finding of any level)."""
    assert lint(DOCKERFILE.read_text(), tmp_path) == (0, [])


def test_hadolint_flags_latest_and_shell_form(tmp_path: Path) -> None:
    """The lint gate can fail: an untagged base and a shell-form CMD are reported (DL3006/DL3007-style, DL3025)."""
    bad = DOCKERFILE.read_text().replace("FROM python:3.12-slim AS build", "FROM python:latest AS build")
    bad = bad.replace('CMD ["-conf", "/etc/kdns/Corefile"]', "CMD kdns -conf /etc/kdns/Corefile")
    rc, codes = lint(bad, tmp_path)
    assert rc == 1
    assert "DL3007" in codes
    assert "DL3025" in codes


def test_multi_stage_on_a_pinned_slim_base() -> None:
    """Build, nodelocal and runtime stages, all FROM python:3.12-slim by tag (never latest or untagged);
    the runtime (default target, last) copies only the venv."""
    froms = [s[0].args.split()[0] for s in STAGES]
    assert froms == ["python:3.12-slim", "python:3.12-slim", "python:3.12-slim"]
    assert STAGES[0][0].args.endswith("AS build")
    assert STAGES[1][0].args.endswith("AS nodelocal")
    copies = final("COPY")
    assert "--from=build /opt/venv /opt/venv" in copies
    assert all(c.startswith("--from=build ") for c in copies), copies  # no sources in the runtime stage
    assert not final("RUN"), "the runtime stage needs no RUN (no compilers, no package installs)"


def test_venv_installs_kdns_with_uvloop_without_pip_cache() -> None:
    """The build stage makes /opt/venv and installs the kdns wheel with the `fast` extra, --no-cache-dir."""
    run = next(i.args for i in STAGES[0] if i.cmd == "RUN" and "venv" in i.args)
    assert "python3 -m venv /opt/venv" in run
    install = re.search(r"pip install (.*?) &&", run)
    assert install is not None
    assert "--no-cache-dir" in install.group(1)
    assert "kdns-*.whl)[fast]" in install.group(1)


def test_runtime_env_user_and_signals() -> None:
    """Runtime: venv on PATH, unbuffered and no .pyc, numeric non-root USER 65532:65532, STOPSIGNAL SIGTERM."""
    env = " ".join(final("ENV"))
    assert "PATH=/opt/venv/bin:$PATH" in env
    assert "PYTHONUNBUFFERED=1" in env
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    users = final("USER")
    assert users == ["65532:65532"]
    assert all(part.isdigit() and int(part) != 0 for part in users[0].split(":"))
    assert final("STOPSIGNAL") == ["SIGTERM"]


def test_entrypoint_and_cmd_are_exec_form() -> None:
    """ENTRYPOINT ["kdns"] and CMD ["-conf", "/etc/kdns/Corefile"] are JSON arrays (kdns is PID 1 and gets SIGTERM)."""
    assert [json.loads(a) for a in final("ENTRYPOINT")] == [["kdns"]]
    assert [json.loads(a) for a in final("CMD")] == [["-conf", "/etc/kdns/Corefile"]]


def test_healthcheck_execs_python_against_health() -> None:
    """HEALTHCHECK is exec form, runs python3 (slim has no curl) and GETs /health on the health port."""
    (hc,) = final("HEALTHCHECK")
    opts, _, cmd = hc.partition("CMD ")
    assert "--interval=" in opts
    argv = json.loads(cmd)
    assert argv[:2] == ["python3", "-c"]
    assert "http://127.0.0.1:8080/health" in argv[2]


def test_baked_corefile_is_valid_and_matches_expose() -> None:
    """The default Corefile sets up (kdns -check semantics) and EXPOSE lists exactly its DNS and HTTP ports."""
    text = baked_corefile()
    assert check(lambda: parse(text, "/etc/kdns/Corefile"), 53) == 0
    exposed = set(" ".join(final("EXPOSE")).split())
    assert exposed == {"1053/udp", "1053/tcp", "8080/tcp", "8181/tcp", "9153/tcp"}
    assert ".:1053 {" in text
    assert "health :8080" in text
    assert "ready :8181" in text
    assert "prometheus :9153" in text
    assert "lameduck 5s" in text


async def test_baked_corefile_answers_without_a_cluster() -> None:
    """The default Corefile, on 127.0.0.1 ports, answers at once: whoami for any name, hosts for localhost."""
    text = baked_corefile().replace(".:1053", ".:0")
    for port in (":8080", ":8181", ":9153"):
        text = text.replace(f" {port}", " 127.0.0.1:0")
    text = text.replace("lameduck 5s", "lameduck 0s")  # the test stops at once
    async with run_instance(text) as inst:
        who = await inst.query("whoami.example.", "A")
        assert who.rcode() == dns.rcode.NOERROR
        assert [str(rr) for rrset in who.additional for rr in rrset if rrset.rdtype == dns.rdatatype.A] == ["127.0.0.1"]
        local = await inst.query("localhost.", "A")
        assert local.rcode() == dns.rcode.NOERROR
        assert [str(rr) for rrset in local.answer for rr in rrset] == ["127.0.0.1"]


def dockerignore_excludes(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` out of the context: the last pattern matching it or a parent wins."""
    rules: list[tuple[bool, re.Pattern[str]]] = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pat = line.lstrip("!").strip("/")
        source = re.escape(pat).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*")
        rules.append((negate, re.compile(source + "$")))
    parts = path.split("/")
    excluded = False
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        for negate, rx in rules:
            if rx.match(prefix):
                excluded = not negate
    return excluded


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("kdns/cli.py", False),
        ("kdns/plugins/hosts/README.md", False),
        ("pyproject.toml", False),
        ("README.md", False),
        (".tools/wheels/kdns-0.1.0-py3-none-any.whl", False),
        (".venv/bin/python", True),
        (".git/HEAD", True),
        (".tools/helm/helm", True),
        (".tools/image/base.tar", True),
        ("kdns/__pycache__/cli.cpython-311.pyc", True),
        (".pytest_cache/v/cache", True),
        (".mypy_cache/3.11/x.json", True),
        ("benchmarks/out/run.json", True),
        ("tests/test_cli.py", True),
        ("kdns.egg-info/PKG-INFO", True),
    ],
)
def test_dockerignore(path: str, excluded: bool) -> None:
    """.dockerignore lets in only the package sources and prepared wheels; venvs, VCS, caches and tools stay out."""
    assert dockerignore_excludes(path) is excluded
