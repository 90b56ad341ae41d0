"""The chart's CI checks: helm lint --strict, kubernetes-validate --strict, yamllint and checkov
on the values, Chart.yaml and what `helm template` renders for each mode and edge case."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from .conftest import CASES, CHART, CHART_VENV_BIN, CHECKOV, HERE, KUBE_VERSION, NAMESPACE, Helm, need

LINT_CASES = [c for c in CASES if c != "serviceMonitorNoCRD"]
# checkov runs per mode with that mode's skips (tests/chart/checkov/*.yaml); the autoscaler case
# covers the cluster-proportional-autoscaler Deployment, "sidecar-app" an application pod.
CHECKOV_CASES = {
    "clusterDNS": "clusterDNS",
    "autoscaler": "clusterDNS",
    "nodeLocal": "nodeLocal",
    "sidecar-app": "sidecar",
}


def run(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.parametrize("case", LINT_CASES)
def test_helm_lint_strict(helm: Helm, case: str) -> None:
    """`helm lint --strict` passes for each mode and edge case (warnings count as failures)."""
    values = CASES[case].values
    args = helm.args(values, name=f"lint-{case}")
    args = [a for a in args if a not in ("--api-versions", *CASES[case].api_versions)]
    p = helm.run("lint", "--strict", *args)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 chart(s) failed" in p.stdout


def test_kubernetes_validate_strict(helm: Helm) -> None:
    """Every rendered object of every case is valid against the Kubernetes schemas, strictly (no
    unknown fields). CRD kinds (ServiceMonitor, PrometheusRule) have no schema there: test_chart_render
    checks them."""
    tool = need(CHART_VENV_BIN / "kubernetes-validate")
    files = [str(helm.rendered_file(c)) for c in LINT_CASES]
    p = run([str(tool), "--strict", "-k", KUBE_VERSION, *files])
    assert p.returncode == 0, p.stdout + p.stderr
    passed = p.stdout.count(" passed for resource ")
    total = sum(len([d for d in yaml.safe_load_all(Path(f).read_text()) if d]) for f in files)
    crds = sum(Path(f).read_text().count("apiVersion: monitoring.coreos.com/v1") for f in files)
    assert passed == total - crds, p.stdout


def test_kubernetes_validate_catches_errors(helm: Helm, tmp_path: Path) -> None:
    """The validation above can fail: an unknown field in a rendered Deployment is reported."""
    tool = need(CHART_VENV_BIN / "kubernetes-validate")
    text = helm.case_text("clusterDNS").replace("revisionHistoryLimit:", "revisionHistoryLimitt:")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    p = run([str(tool), "--strict", "-k", KUBE_VERSION, str(bad)])
    assert p.returncode != 0
    assert "revisionHistoryLimitt" in p.stdout + p.stderr


def test_yamllint(helm: Helm) -> None:
    """yamllint (tests/chart/yamllint.yaml) passes on values.yaml, Chart.yaml and every rendered case."""
    tool = need(CHART_VENV_BIN / "yamllint")
    files = [str(CHART / "values.yaml"), str(CHART / "Chart.yaml"), *(str(helm.rendered_file(c)) for c in LINT_CASES)]
    p = run([str(tool), "--strict", "-c", str(HERE / "yamllint.yaml"), *files])
    assert p.returncode == 0, p.stdout + p.stderr


def skips(mode: str) -> list[str]:
    out: list[str] = []
    for name in ("common", mode):
        with (HERE / "checkov" / f"{name}.yaml").open() as f:
            out += yaml.safe_load(f)["skip-check"] or []
    return out


def sidecar_app_render(helm: Helm) -> Path:
    app = helm.tmp / "checkov-sidecar-app"
    if not app.exists():
        shutil.copytree(HERE / "sidecar-app", app)
        shutil.copytree(CHART, app / "charts" / "kdns")
    p = helm.run("template", "--namespace", NAMESPACE, chart=app)
    assert p.returncode == 0, p.stderr
    out = helm.tmp / "rendered-sidecar-app.yaml"
    out.write_text(p.stdout)
    return out


@pytest.mark.timeout(300)
def test_checkov(helm: Helm) -> None:
    """checkov (kubernetes framework, offline) finds nothing beyond the justified per-mode skips."""
    tool = need(CHECKOV)
    files = {c: sidecar_app_render(helm) if c == "sidecar-app" else helm.rendered_file(c) for c in CHECKOV_CASES}

    def scan(case: str) -> tuple[str, subprocess.CompletedProcess[str]]:
        argv = [str(tool), "-f", str(files[case]), "--framework", "kubernetes", "--compact", "--quiet"]
        argv += ["--skip-download", "--skip-check", ",".join(skips(CHECKOV_CASES[case]))]
        return case, run(argv, timeout=180)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(scan, CHECKOV_CASES))
    failed = {case: p.stdout[-3000:] + p.stderr[-2000:] for case, p in results if p.returncode != 0}
    assert failed == {}


def test_checkov_skips_are_justified() -> None:
    """Each skipped check id in tests/chart/checkov/*.yaml has a comment right above it saying why."""
    for path in sorted((HERE / "checkov").glob("*.yaml")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith("- CKV"):
                above = lines[i - 1].strip()
                assert above.startswith("#") or above.startswith("- CKV"), f"{path.name}:{i + 1} has no reason"
