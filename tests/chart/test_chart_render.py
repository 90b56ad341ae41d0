"""Assertions on the objects `helm template` renders from charts/kdns, mode by mode."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdns.config.parser import parse
from kdns.nodelocal import template as nodelocal_template
from kdns.nodelocal.agent import parse_args as nodelocal_args

from .conftest import (
    CASES,
    CHART,
    FULLNAME,
    MONITORING,
    NAMESPACE,
    ROOT,
    Helm,
    Obj,
    container,
    docs,
    find,
    kinds,
    pod_spec,
)

WORKLOADS = ("Deployment", "DaemonSet")


def kdns_workload(objs: list[Obj]) -> Obj:
    return next(o for o in objs if o["kind"] in WORKLOADS and o["metadata"]["name"] == FULLNAME)


def corefile_text(objs: list[Obj], key: str = "Corefile") -> str:
    text: str = find(objs, "ConfigMap", FULLNAME)["data"][key]
    return text


def corefile_ports(text: str) -> tuple[set[int], int | None]:
    """The DNS ports of the Corefile's server blocks and the prometheus port, read with kdns's own parser."""
    dns: set[int] = set()
    metrics = None
    for block in parse(text, "Corefile").blocks:
        for key in block.keys:
            m = re.search(r":(\d+)$", key)
            dns.add(int(m.group(1)) if m else 53)
        for d in block.directives:
            if d.name == "prometheus":
                metrics = int((d.args[0] if d.args else ":9153").rsplit(":", 1)[1])
    return dns, metrics


def ports_by_name(c: Obj) -> dict[str, Obj]:
    return {p["name"]: p for p in c["ports"]}


@pytest.mark.parametrize("case", ["clusterDNS", "rawCorefile", "twoServers", "sysctl"])
def test_ports_follow_the_corefile(helm: Helm, case: str) -> None:
    """Container ports are the Corefile's server ports (UDP+TCP) plus its prometheus port, and the
    Service maps each servicePort to the container port by name; the metrics Service serves the
    prometheus port."""
    objs = helm.case(case)
    dns, metrics = corefile_ports(corefile_text(objs))
    ports = container(kdns_workload(objs))["ports"]
    assert {p["containerPort"] for p in ports if p["name"] != "metrics"} == dns
    assert {p["containerPort"] for p in ports if p["name"] == "metrics"} == {metrics}
    by_name = {p["name"]: p for p in ports}
    svc = find(objs, "Service", FULLNAME)
    assert svc["spec"]["ports"], "the Service has ports"
    for sp in svc["spec"]["ports"]:
        target = by_name[sp["targetPort"]]
        assert target["protocol"] == sp["protocol"]
    assert {by_name[sp["targetPort"]]["containerPort"] for sp in svc["spec"]["ports"]} == dns
    metrics_svc = find(objs, "Service", f"{FULLNAME}-metrics")
    expected = [{"name": "metrics", "port": metrics, "targetPort": "metrics", "protocol": "TCP"}]
    assert metrics_svc["spec"]["ports"] == expected
    assert metrics_svc["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert metrics_svc["metadata"]["annotations"]["prometheus.io/port"] == str(metrics)


def test_default_serves_53_from_1053(helm: Helm) -> None:
    """By default kdns listens on 1053 in the container and the Service offers 53 (UDP and TCP)."""
    objs = helm.case("clusterDNS")
    by_name = ports_by_name(container(kdns_workload(objs)))
    assert (by_name["dns"]["containerPort"], by_name["dns"]["protocol"]) == (1053, "UDP")
    assert (by_name["dns-tcp"]["containerPort"], by_name["dns-tcp"]["protocol"]) == (1053, "TCP")
    svc_ports = {(p["port"], p["protocol"], p["targetPort"]) for p in find(objs, "Service", FULLNAME)["spec"]["ports"]}
    assert svc_ports == {(53, "UDP", "dns"), (53, "TCP", "dns-tcp")}
    assert "sysctls" not in pod_spec(kdns_workload(objs))["securityContext"]


def test_servers_sharing_and_mapping_ports(helm: Helm) -> None:
    """Servers on the same port share one container port pair; each port keeps its own servicePort."""
    objs = helm.case("twoServers")
    ports = sorted((p["name"], p["containerPort"], p["protocol"]) for p in container(kdns_workload(objs))["ports"])
    assert ports == [
        ("dns", 1053, "UDP"),
        ("dns-1054", 1054, "UDP"),
        ("dns-tcp", 1053, "TCP"),
        ("dns-tcp-1054", 1054, "TCP"),
        ("metrics", 9153, "TCP"),
    ]
    svc = {(p["port"], p["protocol"], p["targetPort"]) for p in find(objs, "Service", FULLNAME)["spec"]["ports"]}
    assert svc == {(53, "UDP", "dns"), (53, "TCP", "dns-tcp"), (54, "UDP", "dns-1054"), (54, "TCP", "dns-tcp-1054")}


def test_sysctl_option(helm: Helm) -> None:
    """unprivilegedPortSysctl sets net.ipv4.ip_unprivileged_port_start=0 so uid 65532 binds :53 itself."""
    objs = helm.case("sysctl")
    spec = pod_spec(kdns_workload(objs))
    assert spec["securityContext"]["sysctls"] == [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]
    assert {p["containerPort"] for p in container(kdns_workload(objs))["ports"] if p["name"] != "metrics"} == {53}
    assert container(kdns_workload(objs))["securityContext"]["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize("case", ["clusterDNS", "podsVerified", "noKubernetes", "twoServers", "rawCorefile"])
def test_rendered_corefile_sets_up_in_kdns(helm: Helm, case: str, tmp_path: Path) -> None:
    """The ConfigMap's Corefile passes `kdns -check` (parsed and set up by kdns itself)."""
    path = tmp_path / "Corefile"
    path.write_text(corefile_text(helm.case(case)))
    p = subprocess.run(
        [sys.executable, "-m", "kdns", "-conf", str(path), "-check"], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0, p.stderr


def rbac_rules(objs: list[Obj]) -> dict[str, set[str]]:
    role = find(objs, "ClusterRole", next(o["metadata"]["name"] for o in objs if o["kind"] == "ClusterRole"))
    out: dict[str, set[str]] = {}
    for rule in role["rules"]:
        assert set(rule["verbs"]) == {"list", "watch"}, rule
        for group in rule["apiGroups"]:
            out.setdefault(group, set()).update(rule["resources"])
    return out


def test_rbac_without_pods(helm: Helm) -> None:
    """With `pods insecure` kdns may list/watch services, namespaces and endpointslices, and nothing else."""
    objs = helm.case("clusterDNS")
    assert rbac_rules(objs) == {"": {"services", "namespaces"}, "discovery.k8s.io": {"endpointslices"}}
    binding = find(objs, "ClusterRoleBinding")
    sa = find(objs, "ServiceAccount")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": NAMESPACE}]
    assert pod_spec(kdns_workload(objs))["serviceAccountName"] == sa["metadata"]["name"]
    assert pod_spec(kdns_workload(objs))["automountServiceAccountToken"] is True


@pytest.mark.parametrize("case", ["podsVerified", "rawCorefile"])
def test_rbac_pods_verified(helm: Helm, case: str) -> None:
    """`pods verified` (in servers or in a raw Corefile) adds list/watch on pods."""
    assert rbac_rules(helm.case(case)) == {
        "": {"services", "namespaces", "pods"},
        "discovery.k8s.io": {"endpointslices"},
    }


@pytest.mark.parametrize("case", ["noKubernetes", "nodeLocal", "sidecar"])
def test_no_rbac_without_kubernetes_plugin(helm: Helm, case: str) -> None:
    """Without a kubernetes plugin (and always in nodeLocal and sidecar mode) there is no ClusterRole,
    no binding and no mounted API token."""
    objs = helm.case(case)
    assert not [o for o in objs if o["kind"] in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")]
    for o in objs:
        if o["kind"] in WORKLOADS:
            assert pod_spec(o)["automountServiceAccountToken"] is False


def probes(c: Obj) -> tuple[Obj, Obj]:
    return c["livenessProbe"]["httpGet"], c["readinessProbe"]["httpGet"]


@pytest.mark.parametrize("case", ["clusterDNS", "nodeLocal"])
def test_probes(helm: Helm, case: str) -> None:
    """Liveness is GET /health on 8080, readiness GET /ready on 8181 (on the local IP in nodeLocal mode),
    and the Corefile has the health and ready plugins that serve them."""
    objs = helm.case(case)
    live, ready = probes(container(kdns_workload(objs)))
    assert (live["path"], live["port"], ready["path"], ready["port"]) == ("/health", 8080, "/ready", 8181)
    key = "Corefile.base" if case == "nodeLocal" else "Corefile"
    names = {d.name for b in parse(corefile_text(objs, key), "Corefile").blocks for d in b.directives}
    assert {"health", "ready"} <= names
    if case == "nodeLocal":
        assert live["host"] == ready["host"] == "169.254.20.10"
    else:
        assert "host" not in live


def assert_restricted(c: Obj) -> None:
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["runAsUser"] == 65532
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize("case", ["clusterDNS", "autoscaler", "hpa", "takeover"])
def test_security_context_cluster_dns(helm: Helm, case: str) -> None:
    """Every container runs as non-root uid 65532 with no capabilities, a read-only root filesystem,
    no privilege escalation and the RuntimeDefault seccomp profile."""
    objs = helm.case(case)
    for o in objs:
        if o["kind"] in WORKLOADS:
            spec = pod_spec(o)
            assert spec["securityContext"]["runAsNonRoot"] is True
            assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            assert "hostNetwork" not in spec
            for c in spec["containers"]:
                assert_restricted(c)


def test_net_admin_only_in_node_local(helm: Helm) -> None:
    """NET_ADMIN (and NET_BIND_SERVICE) are added in nodeLocal mode only; nothing else is."""
    for case in CASES:
        if case == "serviceMonitorNoCRD":
            continue
        for o in helm.case(case):
            if o["kind"] not in WORKLOADS:
                continue
            for c in pod_spec(o)["containers"]:
                added = c["securityContext"]["capabilities"].get("add", [])
                if case == "nodeLocal":
                    assert sorted(added) == ["NET_ADMIN", "NET_BIND_SERVICE"]
                    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
                    assert c["securityContext"]["allowPrivilegeEscalation"] is False
                    assert c["securityContext"]["readOnlyRootFilesystem"] is True
                else:
                    assert added == [], (case, c["name"])


def test_cluster_dns_deployment(helm: Helm) -> None:
    """clusterDNS: a Deployment (2 replicas, maxUnavailable 1), dnsPolicy Default, system-cluster-critical,
    topology spread over hosts and zones, a PDB, the Corefile mounted read-only, and a checksum/config
    annotation equal to the sha256 of the rendered ConfigMap."""
    objs = helm.case("clusterDNS")
    assert kinds(objs) == sorted(
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "ConfigMap",
            "Deployment",
            "PodDisruptionBudget",
            "Service",
            "Service",
            "ServiceAccount",
        ]
    )
    dep = kdns_workload(objs)
    spec = pod_spec(dep)
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 1
    assert spec["dnsPolicy"] == "Default"
    assert spec["priorityClassName"] == "system-cluster-critical"
    assert {t["topologyKey"] for t in spec["topologySpreadConstraints"]} == {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    }
    selector = dep["spec"]["selector"]["matchLabels"]
    for t in spec["topologySpreadConstraints"]:
        assert t["labelSelector"]["matchLabels"] == selector
    pdb = find(objs, "PodDisruptionBudget")
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": selector}}
    c = container(dep)
    assert c["args"][:2] == ["-conf", "/etc/kdns/Corefile"]
    mount = next(m for m in c["volumeMounts"] if m["name"] == "config")
    assert mount == {"name": "config", "mountPath": "/etc/kdns", "readOnly": True}
    assert re.fullmatch(r"[0-9a-f]{64}", dep["spec"]["template"]["metadata"]["annotations"]["checksum/config"])


def test_checksum_changes_with_the_corefile(helm: Helm) -> None:
    """A different Corefile gives a different checksum/config (so the pods roll); the same values the same."""

    def checksum(case: str) -> str:
        value: str = kdns_workload(helm.case(case))["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        return value

    assert checksum("clusterDNS") != checksum("podsVerified")
    again = docs(helm.template_text(CASES["clusterDNS"].values, name="again"))
    assert kdns_workload(again)["spec"]["template"]["metadata"]["annotations"]["checksum/config"] == checksum(
        "clusterDNS"
    )


def test_takeover_of_kube_dns(helm: Helm) -> None:
    """The Service can take the kube-dns name and ClusterIP, and k8sAppLabelOverride makes its selector
    (and the pods' labels) carry k8s-app: kube-dns, as the kube-dns Service's immutable selector needs."""
    objs = helm.case("takeover")
    svc = find(objs, "Service", "kube-dns")
    assert svc["spec"]["clusterIP"] == "10.96.0.10"
    assert svc["spec"]["selector"]["k8s-app"] == "kube-dns"
    labels = kdns_workload(objs)["spec"]["template"]["metadata"]["labels"]
    assert all(labels[k] == v for k, v in svc["spec"]["selector"].items())
    assert find(objs, "ClusterRole")["metadata"]["name"] == "system:kdns"


def test_hpa(helm: Helm) -> None:
    """hpa.enabled: an autoscaling/v2 HPA on the Deployment, which then has no replicas field."""
    objs = helm.case("hpa")
    hpa = find(objs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": FULLNAME}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    assert "replicas" not in kdns_workload(objs)["spec"]


def test_proportional_autoscaler(helm: Helm) -> None:
    """autoscaler.enabled: a cluster-proportional-autoscaler Deployment whose ConfigMap holds the linear
    parameters and whose RBAC is nodes list/watch plus get/update of this one Deployment's scale."""
    objs = helm.case("autoscaler")
    name = f"{FULLNAME}-autoscaler"
    assert "replicas" not in kdns_workload(objs)["spec"]
    cpa = find(objs, "Deployment", name)
    args = container(cpa, "autoscaler")["args"]
    assert f"--configmap={name}" in args
    assert f"--target=deployment/{FULLNAME}" in args
    assert f"--namespace={NAMESPACE}" in args
    linear = json.loads(find(objs, "ConfigMap", name)["data"]["linear"])
    assert linear == {
        "coresPerReplica": 256,
        "nodesPerReplica": 16,
        "min": 2,
        "max": 20,
        "preventSinglePointFailure": True,
        "includeUnschedulableNodes": False,
    }
    assert find(objs, "ClusterRole", name)["rules"] == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "watch"]}
    ]
    role_rules = find(objs, "Role", name)["rules"]
    scale = {"apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": [FULLNAME]}
    assert {**scale, "verbs": ["get", "update"]} in role_rules
    assert pod_spec(cpa)["serviceAccountName"] == name


def test_hpa_and_autoscaler_exclusive(helm: Helm) -> None:
    """hpa and autoscaler together are refused with a message."""
    p = helm.run("template", *helm.args({"hpa": {"enabled": True}, "autoscaler": {"enabled": True}}, name="both"))
    assert p.returncode != 0
    assert "mutually exclusive" in p.stderr


def test_raw_corefile_needs_ports(helm: Helm) -> None:
    """A raw corefile without `ports` is refused, since the ports cannot be derived from it."""
    p = helm.run("template", *helm.args({"corefile": ".:53 {\n    whoami\n}\n"}, name="rawnoports"))
    assert p.returncode != 0
    assert "needs `ports`" in p.stderr


def test_node_local(helm: Helm) -> None:
    """nodeLocal: a hostNetwork DaemonSet (dnsPolicy Default, maxUnavailable 10%, system-node-critical,
    every taint tolerated) running `kdns nodelocal` with node-cache's flags, the xtables lock mounted from
    the host, the kube-dns-upstream Service and a headless metrics Service on 9253."""
    objs = helm.case("nodeLocal")
    ds = find(objs, "DaemonSet", FULLNAME)
    spec = pod_spec(ds)
    assert spec["hostNetwork"] is True
    assert spec["dnsPolicy"] == "Default"
    assert spec["priorityClassName"] == "system-node-critical"
    assert ds["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] == "10%"
    tolerated = {(t.get("key"), t.get("effect"), t["operator"]) for t in spec["tolerations"]}
    assert {(None, "NoExecute", "Exists"), (None, "NoSchedule", "Exists")} <= tolerated
    c = container(ds)
    assert c["command"] == ["kdns", "nodelocal"]
    assert c["image"].endswith("-nodelocal"), "the image target with ip and iptables (Dockerfile)"
    opts = nodelocal_args(c["args"])
    assert opts.local_ips == ["169.254.20.10", "10.96.0.10"]
    assert opts.base_corefile == "/etc/coredns/Corefile.base"
    assert opts.upstream_svc == "kube-dns-upstream"
    assert opts.setup_interface is True
    assert opts.setup_iptables is True
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts["config"] == "/etc/coredns"
    assert Path(opts.conf).parent.as_posix() == mounts["run"], "the rendered Corefile goes to a writable volume"
    assert mounts["xtables-lock"] == "/run/xtables.lock"
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["xtables-lock"]["hostPath"] == {"path": "/run/xtables.lock", "type": "FileOrCreate"}
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    up = find(objs, "Service", "kube-dns-upstream")
    assert up["spec"]["selector"] == {"k8s-app": "kube-dns"}
    assert {(p["port"], p["protocol"]) for p in up["spec"]["ports"]} == {(53, "UDP"), (53, "TCP")}
    metrics = find(objs, "Service", f"{FULLNAME}-metrics")
    assert metrics["spec"]["clusterIP"] == "None"
    assert metrics["spec"]["ports"][0]["port"] == 9253
    annotations = ds["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == "9253"
    ports = {(p["containerPort"], p["hostPort"], p["protocol"]) for p in c["ports"]}
    assert ports == {(53, 53, "UDP"), (53, 53, "TCP"), (9253, 9253, "TCP")}


def test_node_local_template_renders_and_loads(helm: Helm, tmp_path: Path) -> None:
    """The Corefile.base the chart ships has the chart's addresses filled in, keeps the two placeholders
    `kdns nodelocal` fills, and once filled by kdns's own template code passes `kdns -check`."""
    objs = helm.case("nodeLocal")
    base = corefile_text(objs, "Corefile.base")
    assert "__PILLAR__CLUSTER__DNS__" in base
    assert "__PILLAR__UPSTREAM__SERVERS__" in base
    assert "__PILLAR__LOCAL__DNS__" not in base
    assert "__PILLAR__DNS__DOMAIN__" not in base
    assert base.startswith("cluster.local:53 {")
    assert "bind 169.254.20.10 10.96.0.10" in base
    opts = nodelocal_args(container(find(objs, "DaemonSet", FULLNAME))["args"])
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 192.0.2.53\n")
    text = nodelocal_template.render(
        base, opts.local_ips, cluster_dns="10.96.0.11", kubedns=nodelocal_template.KubeDNS(), resolv_conf=str(resolv)
    )
    assert "__PILLAR__" not in text
    path = tmp_path / "Corefile"
    path.write_text(text)
    p = subprocess.run(
        [sys.executable, "-m", "kdns", "-conf", str(path), "-check"], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0, p.stderr


def test_sidecar_mode_renders_only_the_configmap(helm: Helm) -> None:
    """sidecar: the chart on its own renders just the Corefile ConfigMap (a loopback forwarder)."""
    objs = helm.case("sidecar")
    assert kinds(objs) == ["ConfigMap"]
    cm = objs[0]
    assert cm["metadata"]["name"] == "r-kdns-sidecar"
    names = [d.name for b in parse(cm["data"]["Corefile"], "Corefile").blocks for d in b.directives]
    assert "kubernetes" not in names
    assert {"bind", "health", "ready", "forward", "cache"} <= set(names)


def sidecar_app(helm: Helm, values: Obj | None = None) -> subprocess.CompletedProcess[str]:
    app = helm.tmp / "sidecar-app"
    if not app.exists():
        shutil.copytree(ROOT / "tests" / "chart" / "sidecar-app", app)
        shutil.copytree(CHART, app / "charts" / "kdns")
    return helm.run("template", *helm.args(values or {}, name="app"), chart=app)


def test_sidecar_helper_in_an_application_chart(helm: Helm) -> None:
    """An application chart with kdns as a subchart (mode sidecar) gets, from `include "kdns.sidecar"`,
    a kdns container (probes, restricted security context, the chart's appVersion as tag) and a volume
    for the ConfigMap the subchart renders."""
    p = sidecar_app(helm)
    assert p.returncode == 0, p.stderr
    objs = docs(p.stdout)
    dep = find(objs, "Deployment", "r-app")
    c = container(dep, "kdns")
    assert c["image"] == "kdns:0.1.0"
    live, ready = probes(c)
    assert (live["path"], live["port"], ready["path"], ready["port"]) == ("/health", 8080, "/ready", 8181)
    assert_restricted(c)
    mount = c["volumeMounts"][0]
    vol = next(v for v in pod_spec(dep)["volumes"] if v["name"] == mount["name"])
    cm = find(objs, "ConfigMap", vol["configMap"]["name"])
    assert "forward . 10.96.0.10" in cm["data"]["Corefile"]
    assert mount["mountPath"] == "/etc/kdns"
    assert c["args"][:2] == ["-conf", "/etc/kdns/Corefile"]


def test_sidecar_refuses_kubernetes_plugin(helm: Helm) -> None:
    """A sidecar Corefile with the kubernetes plugin is refused: the sidecar has no RBAC."""
    servers = CASES["podsVerified"].values["servers"]
    p = sidecar_app(helm, {"kdns": {"mode": "sidecar", "sidecar": {"servers": servers}}})
    assert p.returncode != 0
    assert "no RBAC" in p.stderr


def test_service_monitor_needs_the_crd(helm: Helm) -> None:
    """ServiceMonitor and PrometheusRule render only when the cluster serves monitoring.coreos.com/v1."""
    assert not [o for o in helm.case("serviceMonitorNoCRD") if o["apiVersion"] == MONITORING]
    objs = helm.case("serviceMonitor")
    sm = find(objs, "ServiceMonitor")
    metrics = find(objs, "Service", f"{FULLNAME}-metrics")
    main = find(objs, "Service", FULLNAME)
    selector = sm["spec"]["selector"]["matchLabels"]
    assert all(metrics["metadata"]["labels"].get(k) == v for k, v in selector.items())
    assert not all(main["metadata"]["labels"].get(k) == v for k, v in selector.items()), "selects only metrics"
    assert sm["spec"]["endpoints"][0]["port"] == "metrics"
    assert [p["name"] for p in metrics["spec"]["ports"]] == ["metrics"]
    assert set(sm["spec"]) == {"selector", "endpoints"}
    assert set(sm["spec"]["endpoints"][0]) <= {"port", "path", "interval", "scrapeTimeout", "honorLabels"}


def alert_rules_from_docs() -> list[Obj]:
    text = (ROOT / "docs" / "alerts.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block, "docs/alerts.md has a yaml block"
    groups: list[Obj] = yaml.safe_load(block.group(1))["groups"]
    return groups


def test_prometheus_rule(helm: Helm, tmp_path: Path) -> None:
    """The PrometheusRule's alerts pass `promtool check rules`, cover down / latency / errors / forward
    health on CoreDNS's metric names, and are the ones docs/alerts.md lists (with job=kdns there)."""
    rule = find(helm.case("serviceMonitor"), "PrometheusRule")
    groups = rule["spec"]["groups"]
    alerts = {r["alert"]: r["expr"] for g in groups for r in g["rules"]}
    assert "absent(up{" in alerts["KdnsDown"]
    assert "coredns_dns_request_duration_seconds_bucket" in alerts["KdnsLatencyHigh"]
    assert 'rcode="SERVFAIL"' in alerts["KdnsErrorsHigh"]
    assert "coredns_forward_healthcheck_broken_total" in alerts["KdnsForwardHealthcheckBrokenCount"]
    assert "coredns_proxy_request_duration_seconds_bucket" in alerts["KdnsForwardLatencyHigh"]
    assert all(f'job="{FULLNAME}-metrics"' in e for e in alerts.values())
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (scripts/test.sh installs the prometheus package)")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    p = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    documented = alert_rules_from_docs()
    expected = json.loads(json.dumps(groups).replace(f'job=\\"{FULLNAME}-metrics\\"', 'job=\\"kdns\\"'))
    assert documented == expected
    docs_path = tmp_path / "docs-rules.yaml"
    docs_path.write_text(yaml.safe_dump({"groups": documented}))
    p = subprocess.run([promtool, "check", "rules", str(docs_path)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def resolve(node: Obj, defs: Obj) -> Obj:
    """The schema node, following $ref."""
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[1]]
    return node


def test_schema_covers_every_value() -> None:
    """values.schema.json describes every key of values.yaml (no value goes unchecked), and every
    object it describes with fixed properties rejects unknown keys."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    defs = schema["$defs"]
    missing: list[str] = []

    def walk(value: Any, node: Obj, path: str) -> None:
        node = resolve(node, defs)
        if isinstance(value, dict) and "properties" in node:
            assert node.get("additionalProperties") is False, path
            for k, v in value.items():
                if k not in node["properties"]:
                    missing.append(f"{path}.{k}")
                else:
                    walk(v, node["properties"][k], f"{path}.{k}")
        elif isinstance(value, list) and "items" in node:
            for i, v in enumerate(value):
                walk(v, node["items"], f"{path}[{i}]")

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    walk(values, schema, "")
    assert missing == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mode": "daemonset"}, "/mode"),
        ({"servce": {}}, "servce"),
        ({"servers": [{"zones": [{"zone": "."}], "port": 70000, "plugins": []}]}, "/servers/0/port"),
        ({"servers": [{"zones": [{"zone": "."}], "plugins": [{"nam": "x"}]}]}, "/servers/0/plugins/0"),
        ({"securityContext": "yes"}, "/securityContext"),
        ({"nodeLocal": {"interfaceName": "a-very-long-interface-name"}}, "/nodeLocal/interfaceName"),
    ],
)
def test_schema_rejects_bad_values(helm: Helm, values: Obj, message: str) -> None:
    """helm refuses values the schema does not allow, naming the offending path."""
    p = helm.run("template", *helm.args(values, name="bad"))
    assert p.returncode != 0
    assert message in p.stderr
