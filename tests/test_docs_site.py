"""The documentation site: mkdocs --strict builds it, every plugin has a page, the dashboard is sound.

mkdocs is installed by scripts/docs.sh into .tools/mkdocs; the build tests skip only when that
install fails outside CI (no package index), and fail in CI.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import kdns.plugins
from kdns.config.parser import parse
from kdns.core.instance import Instance
from kdns.errors import ConfigError
from kdns.metrics import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PLUGINS = ROOT / "kdns" / "plugins"
DASHBOARD = DOCS / "dashboards" / "kdns.json"
PLUGIN_NAMES = sorted(p.name for p in PLUGINS.iterdir() if p.is_dir() and not p.name.startswith("_"))

#: PromQL functions, aggregations and keywords the dashboard may use; any other name must be a metric.
PROMQL_WORDS = {
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "rate",
    "irate",
    "increase",
    "histogram_quantile",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "clamp_min",
    "clamp_max",
    "topk",
    "bottomk",
    "abs",
}


def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts" / "docs_hooks.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


hooks = _hooks()


@pytest.fixture(scope="module")
def mkdocs() -> str:
    """The mkdocs executable, installed by scripts/docs.sh if needed."""
    r = subprocess.run(["bash", "scripts/docs.sh", "install"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"scripts/docs.sh install failed in CI:\n{r.stdout}\n{r.stderr}")
        pytest.skip(f"mkdocs cannot be installed here: {r.stderr.strip().splitlines()[-1:]}")
    return str(ROOT / r.stdout.strip().splitlines()[-1])


def _build(mkdocs: str, config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [mkdocs, "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _config_for(docs: Path) -> Path:
    """A config next to `docs` that inherits the repository's mkdocs.yml (hooks by absolute path)."""
    config = docs.parent / "mkdocs.yml"
    hook = ROOT / "scripts" / "docs_hooks.py"
    config.write_text(f"INHERIT: {ROOT / 'mkdocs.yml'}\ndocs_dir: {docs}\nhooks: [{hook}]\n")
    return config


@pytest.fixture(scope="module")
def site(mkdocs: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built from the repository's mkdocs.yml, in strict mode."""
    out = tmp_path_factory.mktemp("site")
    r = _build(mkdocs, ROOT / "mkdocs.yml", out)
    assert r.returncode == 0, f"mkdocs build --strict failed:\n{r.stderr}"
    return out


def test_site_builds_strict(site: Path) -> None:
    """mkdocs build --strict succeeds and writes the home page, the roles and the reference pages."""
    for page in ("index.html", "quickstart/index.html", "roles/index.html", "migrating/index.html"):
        assert (site / page).is_file(), page
    for page in ("corefile", "metrics", "operations", "plugin", "architecture", "dashboards"):
        assert (site / page / "index.html").is_file(), page
    assert json.loads((site / "dashboards" / "kdns.json").read_text()) == json.loads(DASHBOARD.read_text())


@pytest.mark.parametrize("name", PLUGIN_NAMES)
def test_every_plugin_has_a_page(site: Path, name: str) -> None:
    """Each kdns/plugins/NAME folder has a generated page in the site, listed in the nav and the index."""
    page = site / "plugins" / name / "index.html"
    assert page.is_file(), f"no page for plugin {name}"
    assert f"Generated from <code>kdns/plugins/{name}/README.md</code>" in page.read_text()
    assert f"plugins/{name}.md" in (ROOT / "mkdocs.yml").read_text()
    assert f'href="{name}/"' in (site / "plugins" / "index.html").read_text()


def test_strict_build_fails_on_broken_links_and_orphan_pages(mkdocs: str, tmp_path: Path) -> None:
    """Each of these is a warning, which fails the strict build: a link to a missing page, a missing
    anchor in another page, a link to a missing repository file, and a page no nav entry lists."""
    for entry in ROOT.iterdir():  # the repository around the copied docs, so links out of docs/ resolve
        if entry.name not in ("docs", "mkdocs.yml"):
            (tmp_path / entry.name).symlink_to(entry)
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs, ignore=shutil.ignore_patterns("plugins"))
    broken = {
        "[gone](no-such-page.md)": "contains a link 'no-such-page.md'",
        "[bad anchor](corefile.md#no-such-section)": "does not contain an anchor '#no-such-section'",
        "[missing file](../no/such/file.py)": "link to '../no/such/file.py': no such file in the repository",
    }
    with (docs / "quickstart.md").open("a") as f:
        f.write("\n" + "\n\n".join(broken) + "\n")
    (docs / "orphan.md").write_text("# Orphan\n")
    r = _build(mkdocs, _config_for(docs), tmp_path / "site")
    assert r.returncode != 0
    warnings = [line for line in r.stderr.splitlines() if line.startswith("WARNING")]
    for message in broken.values():
        assert any(message in line for line in warnings), f"no warning with {message!r} in:\n{r.stderr}"
    assert 'exist in the docs directory, but are not included in the "nav"' in r.stderr
    assert "\n  - orphan.md\n" in r.stderr


def test_links_leaving_docs_are_rewritten(tmp_path: Path) -> None:
    """Plugin README links become plugin pages, other repository files code paths; URLs and code stay."""
    docs = tmp_path / "docs"
    docs.mkdir()
    src = PLUGINS / "cache" / "README.md"
    out = docs / "plugins" / "cache.md"
    text = (
        "[forward](../forward/README.md#syntax) and [web](https://example.org/x.md) and "
        "[pyproject](../../../pyproject.toml)\n"
        "~~~ txt\n[in code](../forward/README.md)\n~~~\n"
    )
    got = hooks.rewrite_links(text, src, out, docs)
    assert "[forward](forward.md#syntax)" in got
    assert "[web](https://example.org/x.md)" in got
    assert "pyproject (`pyproject.toml`)" in got
    assert "[in code](../forward/README.md)" in got
    page = DOCS / "cluster-dns.md"
    assert hooks.rewrite_links("[k](../kdns/plugins/kubernetes/README.md)", page, page, DOCS) == (
        "[k](plugins/kubernetes.md)"
    )
    assert hooks.rewrite_links("[m](metrics.md#labels)", page, page, DOCS) == "[m](metrics.md#labels)"


def test_nested_readme_lists_are_indented_for_markdown() -> None:
    """READMEs indent nested items by 2-3 spaces; the generated pages use 4 so they stay nested."""
    assert hooks.nest_lists("* a\n   * b\n  - c\n* d\n") == "* a\n    * b\n    - c\n* d\n"


def test_plugin_index_summaries() -> None:
    """The plugin index takes each plugin's one-line description from its README's Name section."""
    assert hooks.summary("# x\n\n## Name\n\n*x* - does a thing\nover two lines.\n\n## Description\n") == (
        "does a thing over two lines."
    )
    for name in PLUGIN_NAMES:
        assert hooks.summary((PLUGINS / name / "README.md").read_text()), f"{name}: README has no Name line"


def test_quickstart_shows_the_demo_corefile_and_the_readme_commands() -> None:
    """The quickstart's Corefile is examples/demo.Corefile, and it gives the README's set-up command."""
    quick = (DOCS / "quickstart.md").read_text()
    demo = (ROOT / "examples" / "demo.Corefile").read_text()
    demo_block = "\n".join(line for line in demo.splitlines() if not line.startswith("#")).strip()
    shown = re.search(r"```corefile\n(.*?)```", quick, re.S)
    assert shown is not None
    assert shown.group(1).strip() == demo_block
    readme = (ROOT / "README.md").read_text()
    setup = re.search(r"^python3 -m venv .*$", readme, re.M)
    assert setup is not None
    assert setup.group(0) in quick
    for query in re.findall(r"^dig .*?(?=\s+#|$)", readme, re.M):
        assert query in quick, query


OWN_PAGES = ("index.md", "quickstart.md", "roles.md", "migrating.md", "operations.md", "dashboards.md")
COREFILES = [
    (page, n, text)
    for page in OWN_PAGES
    for n, text in enumerate(re.findall(r"```corefile\n(.*?)```", (DOCS / page).read_text(), re.S), 1)
]


def test_pages_show_corefiles() -> None:
    """The quickstart and the roles page show Corefiles (so the check below is not vacuous)."""
    assert {page for page, _, _ in COREFILES} >= {"quickstart.md", "roles.md"}


@pytest.mark.parametrize(("page", "n", "text"), COREFILES, ids=[f"{p}-{n}" for p, n, _ in COREFILES])
def test_page_corefiles_set_up(page: str, n: int, text: str) -> None:
    """Every ```corefile example on these pages parses and sets up under -check (no sockets)."""
    inst = Instance(parse(text, str(ROOT / "examples" / f"{page}#{n}")), check_only=True)
    try:
        inst.setup()
    except ConfigError:
        pass
    assert [str(e) for e in inst.errors] == []
    assert inst.blocks


# --- the Grafana dashboard ---------------------------------------------------------------------


def _exported_metric_names() -> set[str]:
    """Every sample name kdns can export: all plugins and their metrics modules imported."""
    assert kdns.plugins.__all__
    for name in PLUGIN_NAMES:
        if (PLUGINS / name / "metrics.py").exists():
            importlib.import_module(f"kdns.plugins.{name}.metrics")
    if (ROOT / "kdns" / "nodelocal" / "metrics.py").exists():
        importlib.import_module("kdns.nodelocal.metrics")
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "summary": ["_sum", "_count"]}
    names: set[str] = set()
    for family in REGISTRY.collect():
        for suffix in suffixes.get(family.type, [""]):
            names.add(family.name + suffix)
    return names


def _targets(dash: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target


def _metric_names_in(expr: str) -> set[str]:
    """Names in a PromQL expression that are neither functions nor labels (label matchers, by (...),
    range selectors, strings and Grafana variables removed first)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\$\{?\w+\}?", "", expr)
    words = set(re.findall(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return words - PROMQL_WORDS


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def test_dashboard_is_a_grafana_dashboard(dashboard: dict[str, Any]) -> None:
    """The JSON has a title, uid and schema version, unique panel ids, a grid position and targets per panel."""
    assert dashboard["title"]
    assert dashboard["uid"]
    assert dashboard["schemaVersion"] >= 30
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "job", "instance"} <= variables
    for panel in dashboard["panels"]:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            refs = [t["refId"] for t in panel["targets"]]
            assert refs, panel["title"]
            assert len(refs) == len(set(refs)), panel["title"]
            assert all('instance=~"$instance"' in t["expr"] for t in panel["targets"]), panel["title"]


def test_dashboard_has_the_required_panels(dashboard: dict[str, Any]) -> None:
    """Requests by rcode and type, latency p50/p99, cache hit ratio, forward latency and health,
    panics and kubernetes programming latency are all queried."""
    exprs = "\n".join(t["expr"] for _, t in _targets(dashboard))
    for needle in (
        "sum by (rcode) (rate(coredns_dns_responses_total",
        "sum by (type) (rate(coredns_dns_requests_total",
        "histogram_quantile(0.5, sum by (le) (rate(coredns_dns_request_duration_seconds_bucket",
        "histogram_quantile(0.99, sum by (le) (rate(coredns_dns_request_duration_seconds_bucket",
        "coredns_cache_hits_total",
        "coredns_cache_requests_total",
        "coredns_proxy_request_duration_seconds_bucket",
        "coredns_proxy_healthcheck_failures_total",
        "coredns_forward_healthcheck_broken_total",
        "coredns_panics_total",
        "coredns_kubernetes_dns_programming_duration_seconds_bucket",
    ):
        assert needle in exprs, needle


def test_dashboard_queries_only_metrics_kdns_exports(dashboard: dict[str, Any]) -> None:
    """Every metric name in every panel query and variable query is one in kdns's registry."""
    exported = _exported_metric_names()
    assert "coredns_kubernetes_dns_programming_duration_seconds_bucket" in exported
    used: dict[str, str] = {}
    for title, target in _targets(dashboard):
        for name in _metric_names_in(target["expr"]):
            used[name] = title
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            m = re.match(r"label_values\((\w+)", var["definition"])
            assert m is not None
            used[m.group(1)] = f"variable {var['name']}"
    assert len(used) >= 20
    unknown = {name: where for name, where in used.items() if name not in exported}
    assert unknown == {}


def test_metric_name_extraction() -> None:
    """The extraction keeps metric names and drops functions, labels, ranges and Grafana variables."""
    expr = 'histogram_quantile(0.99, sum by (le, to) (rate(x_bucket{a="b{c}", i=~"$i"}[$__rate_interval]))) / y'
    assert _metric_names_in(expr) == {"x_bucket", "y"}


def test_dashboard_queries_are_valid_promql(dashboard: dict[str, Any], tmp_path: Path) -> None:
    """promtool accepts every query (as recording rules, with the Grafana variables filled in)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool missing in CI (scripts/test.sh installs the prometheus package)")
        pytest.skip("promtool is not installed (Debian package prometheus)")
    fill = {"$__rate_interval": "5m", "$__range": "1h", "$job": ".*", "$instance": ".*"}
    rules = []
    for n, (_, target) in enumerate(_targets(dashboard)):
        expr = target["expr"]
        for var, value in fill.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, expr
        rules.append({"record": f"dashboard:query{n}", "expr": expr})
    path = tmp_path / "rules.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))  # JSON is YAML
    r = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {len(rules)} rules found" in r.stdout
