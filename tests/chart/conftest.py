"""Shared helpers for the Helm chart tests: the tools in .tools/ and `helm template` of named value cases."""

from __future__ import annotations

import copy
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "kdns"
TOOLS = ROOT / ".tools"
HELM = TOOLS / "helm" / "helm"
CHART_VENV_BIN = TOOLS / "chart-venv" / "bin"
CHECKOV = TOOLS / "checkov-venv" / "bin" / "checkov"
HERE = Path(__file__).resolve().parent
KUBE_VERSION = "1.33.0"
NAMESPACE = "kube-system"
RELEASE = "r"
FULLNAME = "r-kdns"
MONITORING = "monitoring.coreos.com/v1"

Obj = dict[str, Any]


def need(path: Path) -> Path:
    """The tool at ``path``; skip (fail under CI, where scripts/chart-tools.sh must have installed it) if absent."""
    if not path.exists():
        msg = f"{path.relative_to(ROOT)} is missing: run scripts/chart-tools.sh"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def chart_values() -> Obj:
    """The chart's default values.yaml."""
    with (CHART / "values.yaml").open() as f:
        data: Obj = yaml.safe_load(f)
    return data


def servers_with(kubernetes_block: str | None) -> list[Obj]:
    """The default clusterDNS servers with the kubernetes plugin's block replaced (None: plugin removed)."""
    servers: list[Obj] = copy.deepcopy(chart_values()["servers"])
    plugins = servers[0]["plugins"]
    if kubernetes_block is None:
        servers[0]["plugins"] = [p for p in plugins if p["name"] != "kubernetes"]
    else:
        for p in plugins:
            if p["name"] == "kubernetes":
                p["configBlock"] = kubernetes_block
    return servers


RAW_COREFILE = """\
.:5353 {
    errors
    health :8080
    ready :8181
    prometheus :9300
    kubernetes cluster.local {
        pods verified
    }
    forward . /etc/resolv.conf
    cache 30
}
"""


@dataclass(frozen=True)
class Case:
    values: Obj = field(default_factory=dict)
    api_versions: tuple[str, ...] = ()


CASES: dict[str, Case] = {
    "clusterDNS": Case(),
    "takeover": Case(
        {
            "service": {"name": "kube-dns", "clusterIP": "10.96.0.10"},
            "k8sAppLabelOverride": "kube-dns",
            "rbac": {"clusterRoleName": "system:kdns"},
        }
    ),
    "nodeLocal": Case({"mode": "nodeLocal", "nodeLocal": {"kubeDNSClusterIP": "10.96.0.10"}}),
    "sidecar": Case({"mode": "sidecar"}),
    "hpa": Case({"hpa": {"enabled": True}}),
    "autoscaler": Case({"autoscaler": {"enabled": True, "max": 20}}),
    "rawCorefile": Case(
        {
            "corefile": RAW_COREFILE,
            "ports": [
                {"name": "dns", "containerPort": 5353, "servicePort": 53, "protocol": "UDP"},
                {"name": "dns-tcp", "containerPort": 5353, "servicePort": 53, "protocol": "TCP"},
                {"name": "metrics", "containerPort": 9300, "protocol": "TCP"},
            ],
        }
    ),
    "podsVerified": Case({"servers": servers_with("pods verified\nfallthrough in-addr.arpa ip6.arpa")}),
    "noKubernetes": Case({"servers": servers_with(None)}),
    "twoServers": Case(
        {
            "servers": [
                *servers_with("pods insecure"),
                {
                    "zones": [{"zone": "example.org"}, {"zone": "example.net"}],
                    "port": 1054,
                    "servicePort": 54,
                    "plugins": [{"name": "whoami"}],
                },
                {"zones": [{"zone": "example.com", "scheme": "dns://"}], "port": 1054, "plugins": [{"name": "whoami"}]},
            ]
        }
    ),
    "sysctl": Case(
        {
            "unprivilegedPortSysctl": True,
            "servers": [{**servers_with("pods insecure")[0], "port": 53, "servicePort": 53}],
        }
    ),
    "serviceMonitor": Case(
        {"prometheus": {"monitor": {"enabled": True}, "rules": {"enabled": True}}},
        api_versions=(MONITORING,),
    ),
    "serviceMonitorNoCRD": Case({"prometheus": {"monitor": {"enabled": True}, "rules": {"enabled": True}}}),
}


class Helm:
    """Runs helm on the chart with values written to a temporary directory."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self._cache: dict[str, str] = {}

    def args(self, values: Obj, api_versions: tuple[str, ...] = (), name: str = "values") -> list[str]:
        path = self.tmp / f"{name}.yaml"
        path.write_text(yaml.safe_dump(values))
        out = ["-f", str(path), "--kube-version", KUBE_VERSION, "--namespace", NAMESPACE]
        for v in api_versions:
            out += ["--api-versions", v]
        return out

    def run(self, *argv: str, chart: Path = CHART) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(need(HELM)), *argv[:1], *([RELEASE] if argv[0] == "template" else []), str(chart), *argv[1:]],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def template_text(self, values: Obj, api_versions: tuple[str, ...] = (), name: str = "values") -> str:
        p = self.run("template", *self.args(values, api_versions, name))
        assert p.returncode == 0, p.stderr
        return p.stdout

    def case_text(self, case: str) -> str:
        if case not in self._cache:
            c = CASES[case]
            self._cache[case] = self.template_text(c.values, c.api_versions, case)
        return self._cache[case]

    def case(self, case: str) -> list[Obj]:
        return docs(self.case_text(case))

    def rendered_file(self, case: str) -> Path:
        path = self.tmp / f"rendered-{case}.yaml"
        path.write_text(self.case_text(case))
        return path


def docs(text: str) -> list[Obj]:
    return [d for d in yaml.safe_load_all(text) if d]


def find(objs: list[Obj], kind: str, name: str | None = None) -> Obj:
    """The one object of ``kind`` (and ``name``)."""
    found = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"{len(found)} {kind} {name or ''} in {[(o['kind'], o['metadata']['name']) for o in objs]}"
    return found[0]


def kinds(objs: list[Obj]) -> list[str]:
    return sorted(o["kind"] for o in objs)


def pod_spec(obj: Obj) -> Obj:
    spec: Obj = obj["spec"]["template"]["spec"]
    return spec


def container(obj: Obj, name: str = "kdns") -> Obj:
    return next(c for c in pod_spec(obj)["containers"] if c["name"] == name)


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(tmp_path_factory.mktemp("chart"))
