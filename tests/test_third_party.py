"""Third-party plugins: registration rules, entry-point loading, and the example package installed with pip."""

from __future__ import annotations

import logging
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from kdns.config.controller import Controller
from kdns.config.directives import DIRECTIVES
from kdns.config.registry import Registry, RegistryError, Spec, place
from kdns.testing import free_port

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "kdns-example-plugin"


def _setup_in(module: str) -> Callable[[Controller], None]:
    """A setup function that looks as if it were defined in ``module``."""

    def setup(c: Controller) -> None:
        pass

    setup.__module__ = module
    return setup


@dataclass
class FakeEntryPoint:
    """Stands in for importlib.metadata.EntryPoint: ``load`` runs ``action`` (the module's import)."""

    name: str
    value: str
    action: Callable[[], None]

    def load(self) -> object:
        self.action()
        return None


def _registry(eps: list[FakeEntryPoint] | None = None, in_tree: tuple[str, ...] = ("whoami",)) -> Registry:
    """A registry whose installed entry points are ``eps`` (read when it loads), with in-tree ``in_tree``."""
    found = eps if eps is not None else []
    reg = Registry(entry_points=lambda: found)
    for name in in_tree:
        reg.register(Spec(name, _setup_in(f"kdns.plugins.{name}.setup"), f"kdns.plugins.{name}.setup"))
    return reg


def _plugin(reg: Registry, name: str, module: str, **where: str) -> Callable[[], None]:
    """The import of a third-party module that registers ``name`` in ``reg``."""

    def run() -> None:
        reg.directive(name, **where)(_setup_in(module))

    return run


# -- registration rules -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "where", "match"),
    [
        ("acme", {}, "not in the chain order"),
        ("acme", {"before": "cache", "after": "log"}, "not both"),
        ("cache", {"before": "log"}, "already has a place"),
        ("acme", {"before": "acme"}, "next to itself"),
        ("Acme Plugin", {"before": "cache"}, "not a valid directive name"),
        ("import", {"before": "cache"}, "not a valid directive name"),
    ],
)
def test_register_rejects_malformed(name: str, where: dict[str, str], match: str) -> None:
    """A plugin must have a valid name and exactly one place: DIRECTIVES' or one neighbour."""
    reg = _registry()
    with pytest.raises(RegistryError, match=match):
        reg.directive(name, **where)(_setup_in("acme.setup"))


def test_third_party_may_implement_a_listed_directive() -> None:
    """A name in DIRECTIVES with no in-tree plugin (e.g. etcd) can come from a package, in its listed place."""
    reg = _registry([FakeEntryPoint("etcd", "acme_etcd", lambda: None)])
    reg.directive("etcd")(_setup_in("acme_etcd.setup"))
    reg.load()
    assert reg.order() == list(DIRECTIVES)
    spec = reg.get("etcd")
    assert spec is not None
    assert spec.external


# -- placement ---------------------------------------------------------------------------


def test_place_relative_to_another_third_party_plugin_in_any_load_order() -> None:
    """A plugin placed after another third-party plugin is placed even when it loads first."""
    eps: list[FakeEntryPoint] = []
    reg = _registry(eps)
    eps += [
        FakeEntryPoint("aaa", "aaa", _plugin(reg, "aaa", "aaa.setup", after="zzz")),
        FakeEntryPoint("zzz", "zzz", _plugin(reg, "zzz", "zzz.setup", before="cache")),
    ]
    reg.load()
    order = reg.order()
    i = order.index("cache")
    assert order[i - 2 : i + 1] == ["zzz", "aaa", "cache"]
    assert reg.problems == []


def test_place_shares_a_neighbour_in_name_order() -> None:
    """Plugins naming the same neighbour sit in name order on that side of it."""
    specs = [
        Spec("b", _setup_in("b"), "b", before="cache", external=True),
        Spec("a", _setup_in("a"), "a", before="cache", external=True),
        Spec("d", _setup_in("d"), "d", after="log", external=True),
        Spec("c", _setup_in("c"), "c", after="log", external=True),
    ]
    names, unplaced = place(DIRECTIVES, specs)
    assert unplaced == []
    assert names[names.index("cache") - 2 : names.index("cache") + 1] == ["a", "b", "cache"]
    assert names[names.index("log") : names.index("log") + 3] == ["log", "c", "d"]
    assert len(names) == len(DIRECTIVES) + 4


@pytest.mark.parametrize(
    "plugins",
    [
        [("lost", {"before": "nosuchplugin"})],
        [("ping", {"after": "pong"}), ("pong", {"before": "ping"})],
    ],
    ids=["unknown-neighbour", "cycle"],
)
def test_unplaceable_plugins_are_left_out_and_logged(
    plugins: list[tuple[str, dict[str, str]]], caplog: pytest.LogCaptureFixture
) -> None:
    """A plugin whose neighbour does not exist (or a cycle) is dropped with an error; the rest still works."""
    eps: list[FakeEntryPoint] = []
    reg = _registry(eps)
    eps += [FakeEntryPoint(n, n, _plugin(reg, n, f"{n}.setup", **w)) for n, w in plugins]
    eps.append(FakeEntryPoint("good", "good", _plugin(reg, "good", "good.setup", before="whoami")))
    with caplog.at_level(logging.ERROR, logger="kdns.registry"):
        reg.load()
        order = reg.order()
    assert order.index("good") == order.index("whoami") - 1
    for name, _ in plugins:
        assert name not in order
        assert reg.get(name) is None
    assert len(reg.problems) == len(plugins)
    assert all("cannot place plugin" in p for p in reg.problems)
    assert "cannot place plugin" in caplog.text


# -- loading -----------------------------------------------------------------------------


def test_broken_entry_point_is_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    """An entry point whose import fails is logged; the plugins that did load are registered."""
    eps: list[FakeEntryPoint] = []
    reg = _registry(eps)

    def broken() -> None:
        raise ImportError("No module named 'acme_missing'")

    eps += [
        FakeEntryPoint("broken", "acme_missing", broken),
        FakeEntryPoint("good", "good", _plugin(reg, "good", "good.setup", before="cache")),
    ]
    with caplog.at_level(logging.ERROR, logger="kdns.registry"):
        reg.load()
    assert reg.get("good") is not None
    assert reg.problems == ["cannot load plugin broken (acme_missing): ImportError: No module named 'acme_missing'"]
    assert "cannot load plugin broken" in caplog.text


def test_entry_point_registering_nothing_is_reported() -> None:
    """An entry point whose module registers no directive is reported (a wrong module name, usually)."""
    reg = _registry([FakeEntryPoint("quiet", "acme.nothing", lambda: None)])
    reg.load()
    assert reg.problems == ["plugin quiet (acme.nothing) registered no directive"]


def test_entry_point_of_an_already_imported_module_is_fine() -> None:
    """An entry point whose module was imported before (its directive already registered) is no problem."""
    reg = _registry([FakeEntryPoint("acme-greeting", "acme_x", lambda: None)])
    reg.directive("greeting", before="cache")(_setup_in("acme_x.setup"))
    reg.load()
    assert reg.problems == []
    assert reg.get("greeting") is not None


def test_clash_with_in_tree_plugin_is_rejected() -> None:
    """A third-party plugin named like an in-tree one is rejected with a clear message; in-tree stays."""
    eps: list[FakeEntryPoint] = []
    reg = _registry(eps)
    eps.append(FakeEntryPoint("whoami", "acme_whoami", _plugin(reg, "whoami", "acme_whoami.setup")))
    reg.load()
    spec = reg.get("whoami")
    assert spec is not None
    assert spec.module == "kdns.plugins.whoami.setup"
    assert len(reg.problems) == 1
    assert "clashes with the in-tree plugin of the same name in kdns.plugins.whoami.setup" in reg.problems[0]


def test_in_tree_plugin_wins_when_third_party_was_imported_first() -> None:
    """If a third-party module registered an in-tree name first, the in-tree plugin replaces it."""
    reg = _registry(in_tree=())
    reg.directive("whoami")(_setup_in("acme_whoami.setup"))
    reg.directive("whoami")(_setup_in("kdns.plugins.whoami.setup"))
    spec = reg.get("whoami")
    assert spec is not None
    assert not spec.external
    assert "clashes with the in-tree one: ignored" in reg.problems[0]


def test_clash_between_two_third_party_plugins() -> None:
    """Two packages registering the same new name: the second one is rejected, the first kept."""
    eps: list[FakeEntryPoint] = []
    reg = _registry(eps)
    eps += [
        FakeEntryPoint("a", "acme_a", _plugin(reg, "dup", "acme_a.setup", before="cache")),
        FakeEntryPoint("b", "acme_b", _plugin(reg, "dup", "acme_b.setup", before="cache")),
    ]
    reg.load()
    spec = reg.get("dup")
    assert spec is not None
    assert spec.module == "acme_a.setup"
    assert "clashes with the plugin of the same name in acme_a.setup" in reg.problems[0]


# -- the example package, installed with pip ---------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/kdns-example-plugin installed with pip into a fresh target directory."""
    tmp = tmp_path_factory.mktemp("third-party")
    src = tmp / "src"  # build from a copy: the build leaves build/ and *.egg-info where it runs
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp / "site"
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*cmd, "--target", str(target), str(src)], check=True, capture_output=True, timeout=120)
    return target


def _env(*paths: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _plugins(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kdns", "-plugins"], env=env, capture_output=True, text=True, timeout=30, cwd=ROOT
    )


def test_plugins_lists_installed_plugin_in_chain_order(site: Path) -> None:
    """`kdns -plugins` lists greeting from its package, just before cache, among the in-tree plugins."""
    out = _plugins(_env(site))
    assert out.returncode == 0, out.stderr
    names = [line.split()[0].removeprefix("dns.") for line in out.stdout.splitlines() if line.startswith("  dns.")]
    assert "dns.greeting  (kdns_greeting.setup)" in out.stdout
    assert names.count("greeting") == 1
    cache = DIRECTIVES.index("cache")
    at = names.index("greeting")
    for i, name in enumerate(names):
        if name in DIRECTIVES:
            assert (i < at) == (DIRECTIVES.index(name) < cache), f"{name} on the wrong side of greeting"


def test_bad_entry_points_do_not_stop_kdns(site: Path, tmp_path: Path) -> None:
    """A missing module and a clashing name are reported on stderr; kdns still lists the good plugins."""
    info = tmp_path / "kdns_bad-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kdns-bad\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[kdns.plugins]\nmissing = kdns_no_such_module\nclash = kdns_clash\n")
    (tmp_path / "kdns_clash.py").write_text(
        "from kdns.config.registry import directive\n\n\n@directive('whoami')\ndef setup(c):\n    pass\n"
    )
    out = _plugins(_env(tmp_path, site))
    assert out.returncode == 0, out.stderr
    assert "cannot load plugin missing (kdns_no_such_module): ModuleNotFoundError" in out.stderr
    assert "plugin 'whoami' from kdns_clash clashes with the in-tree plugin" in out.stderr
    assert "dns.greeting  (kdns_greeting.setup)" in out.stdout
    assert out.stdout.count("dns.whoami") == 1
    assert "dns.whoami  (" not in out.stdout


@pytest.fixture
def server(site: Path, tmp_path: Path) -> Iterator[int]:
    """A kdns process serving a Corefile that uses greeting; yields its port once it says it started."""
    port = free_port()
    corefile = tmp_path / "Corefile"
    corefile.write_text(f'example.org:{port} {{\n    greeting hello.example.org "hi" "there"\n    whoami\n}}\n')
    log = tmp_path / "kdns.log"
    with (
        log.open("w") as err,
        subprocess.Popen(
            [sys.executable, "-m", "kdns", "-conf", str(corefile), "-loop", "asyncio"],
            env=_env(site),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            cwd=tmp_path,
        ) as proc,
    ):
        yield _started(proc, port, log)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _started(proc: subprocess.Popen[str], port: int, log: Path) -> int:
    """``port`` once kdns printed its startup line; fails with its log when it does not within 10 s."""
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 10
        line = ""
        while "kdns-" not in line and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
            if not ready:
                break
            line = proc.stdout.readline()
            if not line:  # exited
                break
    except BaseException:
        proc.kill()
        raise
    if "kdns-" not in line:
        proc.kill()
        pytest.fail(f"kdns did not start:\n{log.read_text()}")
    return port


def test_installed_plugin_serves_queries(server: int) -> None:
    """The pip-installed greeting answers TXT for its name over UDP and hands other queries to whoami."""
    q = dns.message.make_query("hello.example.org", "TXT")
    r = dns.query.udp(q, "127.0.0.1", port=server, timeout=3)
    assert r.rcode() == dns.rcode.NOERROR
    assert [rd.to_text() for rd in r.answer[0]] == ['"hi" "there"']
    assert r.answer[0].ttl == 3600
    other = dns.query.udp(dns.message.make_query("www.example.org", "A"), "127.0.0.1", port=server, timeout=3)
    assert other.rcode() == dns.rcode.NOERROR
    assert not other.answer
    a = other.find_rrset(other.additional, other.question[0].name, dns.rdataclass.IN, dns.rdatatype.A)
    assert a[0].address == "127.0.0.1"


def test_example_package_tests_pass_against_installed_kdns(site: Path) -> None:
    """The example's own tests (written with kdns.testing) pass against the installed package."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=EXAMPLE,
        env=_env(site),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert " passed" in out.stdout
