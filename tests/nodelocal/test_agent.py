"""The agent without a network: flags, the rule list, rule/interface steps with a fake runner, re-rendering."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from kdns.metrics import REGISTRY
from kdns.nodelocal import metrics, netsetup, template
from kdns.nodelocal.agent import Agent, AgentError, Options, parse_args

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "tests" / "config" / "corefiles" / "nodelocaldns.Corefile.base").read_text()


def test_flags_defaults() -> None:
    """Only -localip is required; the rest default as node-cache's flags do."""
    o = parse_args(["-localip", "169.254.20.10,10.96.0.10"])
    assert o.local_ips == ["169.254.20.10", "10.96.0.10"]
    assert (o.base_corefile, o.conf, o.upstream_svc, o.kubedns_cm) == (
        "/etc/coredns/Corefile.base",
        "/etc/Corefile",
        "kube-dns",
        "/etc/kube-dns",
    )
    assert (o.setup_interface, o.interface_name, o.setup_iptables, o.skip_teardown) == (
        True,
        "nodelocaldns",
        True,
        False,
    )
    assert (o.sync_interval, o.health_port, o.metrics_addr, o.port) == (60.0, 8080, "0.0.0.0:9353", 53)


def test_flags_go_style_booleans_and_passthrough() -> None:
    """-flag=false, bare -flag meaning true, and the CoreDNS flags -conf/-dns.port/-pidfile are accepted."""
    o = parse_args(
        [
            "-localip=169.254.20.10",
            "-setupinterface=false",
            "-setupiptables=0",
            "-skipteardown",
            "-reloadwithsignal=true",
            "-health-port",
            "8081",
            "-dns.port",
            "5353",
            "-pidfile",
            "/run/x.pid",
            "-corefile",
            "/tmp/Corefile",
            "-syncinterval",
            "2.5",
        ]
    )
    assert (o.setup_interface, o.setup_iptables, o.skip_teardown, o.reload_with_signal) == (False, False, True, True)
    assert (o.health_port, o.port, o.pidfile, o.conf, o.sync_interval) == (
        8081,
        5353,
        "/run/x.pid",
        "/tmp/Corefile",
        2.5,
    )


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["-localip", "nope"],
        ["-localip", "169.254.20.10,fd00::10"],
        ["-localip", "169.254.20.10", "-setupiptables=maybe"],
        ["-localip", "169.254.20.10", "-syncinterval", "0"],
    ],
)
def test_flags_rejected(argv: list[str]) -> None:
    """Missing or invalid local IPs, mixed families, bad booleans and intervals stop the agent (exit 2)."""
    with pytest.raises(SystemExit) as e:
        parse_args(argv)
    assert e.value.code == 2


def test_rules_per_ip() -> None:
    """Per IP: NOTRACK/ACCEPT both ways on port 53 for UDP and TCP, queries from the node, and the health port."""
    rs = netsetup.rules(["169.254.20.10"], 53, 8080)
    got = {(r.table, r.chain, r.args[1], r.args[2], r.args[4], r.args[5], r.args[7]) for r in rs}
    want = set()
    for p in ("tcp", "udp"):
        want |= {
            ("raw", "PREROUTING", p, "-d", "--dport", "53", "NOTRACK"),
            ("filter", "INPUT", p, "-d", "--dport", "53", "ACCEPT"),
            ("raw", "OUTPUT", p, "-s", "--sport", "53", "NOTRACK"),
            ("filter", "OUTPUT", p, "-s", "--sport", "53", "ACCEPT"),
            ("raw", "OUTPUT", p, "-d", "--dport", "53", "NOTRACK"),
        }
    want |= {
        ("raw", "OUTPUT", "tcp", "-d", "--dport", "8080", "NOTRACK"),
        ("raw", "OUTPUT", "tcp", "-s", "--sport", "8080", "NOTRACK"),
    }
    assert got == want
    assert len(rs) == 12
    assert {r.args[-1] for r in rs} == {netsetup.SKIP_CONNTRACK, netsetup.ALLOW_DNS}
    assert all(r.args[-1] == netsetup.ALLOW_DNS for r in rs if r.args[7] == "ACCEPT")
    assert rs[0].cmd("-I")[:7] == ["iptables", "-w", netsetup.LOCK_WAIT, "-t", "raw", "-I", "PREROUTING"]
    assert netsetup.rules(["fd00::10"], 53, 8080)[0].cmd("-C")[0] == "ip6tables"


class FakeCommands:
    """Answers commands from a table of (a word in the command -> (status, stderr)), recording every call."""

    def __init__(self, answers: dict[str, tuple[int, str]]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, cmd: list[str]) -> tuple[int, str]:
        self.calls.append(cmd)
        for word, out in self.answers.items():
            if word in cmd:
                return out
        return 0, ""


def test_ensure_rules_adds_only_missing() -> None:
    """A rule whose check (-C) fails with status 1 is inserted (-I, first in the chain); present ones are left."""
    rs = netsetup.rules(["169.254.20.10"], 53, 8080)[:2]
    run = FakeCommands({"PREROUTING": (0, "")})  # the PREROUTING rules exist...
    assert netsetup.ensure_rules(rs, run) == []
    run = FakeCommands({"-C": (1, "iptables: Bad rule (does a matching rule exist in that chain?).")})
    assert netsetup.ensure_rules(rs, run) == rs
    assert [c[5] for c in run.calls] == ["-C", "-I", "-C", "-I"]


@pytest.mark.parametrize(
    ("status", "err", "kind"),
    [
        (4, "Another app is currently holding the xtables lock. Stopped waiting after 5s.", "iptables_lock"),
        (2, "iptables v1.8.9 (nf_tables): Couldn't load match `comment'", "iptables"),
        (127, "No such file or directory: 'iptables'", "iptables"),
    ],
)
def test_ensure_rules_error_types(status: int, err: str, kind: str) -> None:
    """Failures are SetupErrors labelled iptables_lock (lock held) or iptables (anything else)."""
    run = FakeCommands({"-C": (status, err)})
    with pytest.raises(netsetup.SetupError) as e:
        netsetup.ensure_rules(netsetup.rules(["169.254.20.10"], 53, 8080), run)
    assert e.value.errortype == kind


def test_remove_interface_tolerates_absence() -> None:
    """Removing an interface that is already gone is not an error; another failure is reported."""
    assert netsetup.remove_interface("x", FakeCommands({"ip": (1, 'Cannot find device "x"')})) is None
    assert (
        netsetup.remove_interface("x", FakeCommands({"ip": (2, "Operation not permitted")}))
        == "Operation not permitted"
    )


def _opts(tmp_path: Path, **kw: object) -> Options:
    (tmp_path / "Corefile.base").write_text(BASE.replace("__PILLAR__DNS__DOMAIN__", "cluster.local"))
    (tmp_path / "cm").mkdir(exist_ok=True)
    o = Options(
        local_ips=["169.254.20.10"],
        base_corefile=str(tmp_path / "Corefile.base"),
        conf=str(tmp_path / "Corefile"),
        upstream_svc="kube-dns-upstream",
        kubedns_cm=str(tmp_path / "cm"),
        env={"KUBE_DNS_UPSTREAM_SERVICE_HOST": "10.96.0.11"},
    )
    for k, v in kw.items():
        setattr(o, k, v)
    return o


async def test_agent_rerenders_on_configmap_change(tmp_path: Path) -> None:
    """The Corefile is written once, not rewritten when nothing changed, and rewritten when a ConfigMap key changes."""
    agent = Agent(_opts(tmp_path))
    assert agent.render() is True
    first = (tmp_path / "Corefile").read_text()
    assert "forward . 10.96.0.11 {" in first
    assert agent.render() is False
    inputs = agent._digest()
    (tmp_path / "cm" / template.STUB_DOMAINS).write_text('{"acme.local": ["1.2.3.4"]}')
    assert agent._digest() != inputs
    assert agent.render() is True
    assert "acme.local:53 {" in (tmp_path / "Corefile").read_text()


async def test_agent_bad_configmap_counts_error(tmp_path: Path) -> None:
    """A broken ConfigMap key counts a configmap setup error and keeps the last good ConfigMap."""
    agent = Agent(_opts(tmp_path))
    (tmp_path / "cm" / template.UPSTREAM_NAMESERVERS).write_text('["8.8.8.8"]')
    agent.render()
    labels = {"errortype": "configmap"}
    before = REGISTRY.get_sample_value("coredns_nodecache_setup_errors_total", labels) or 0.0
    (tmp_path / "cm" / template.UPSTREAM_NAMESERVERS).write_text("[")
    assert agent.render() is False
    assert REGISTRY.get_sample_value("coredns_nodecache_setup_errors_total", labels) == before + 1
    assert "forward . 8.8.8.8" in (tmp_path / "Corefile").read_text()


async def test_agent_needs_cluster_dns(tmp_path: Path) -> None:
    """Without the upstream Service's _SERVICE_HOST variable the template cannot be filled: AgentError."""
    agent = Agent(_opts(tmp_path, env={}))
    with pytest.raises(AgentError, match=r"\$KUBE_DNS_UPSTREAM_SERVICE_HOST is not set"):
        agent.render()


def test_metric_documented() -> None:
    """The agent's metric and every error type are in docs/metrics.md; all types exist at zero after init."""
    metrics.init()
    doc = (ROOT / "docs" / "metrics.md").read_text()
    assert "`coredns_nodecache_setup_errors_total`" in doc
    for t in metrics.ERROR_TYPES:
        assert f"`{t}`" in doc
        assert REGISTRY.get_sample_value("coredns_nodecache_setup_errors_total", {"errortype": t}) is not None


async def test_agent_watch_rewrites_and_signals(tmp_path: Path) -> None:
    """A changed ConfigMap file gets the Corefile rewritten and, with -reloadwithsignal, a SIGUSR1 sent."""
    agent = Agent(_opts(tmp_path, config_poll=0.05, reload_with_signal=True))
    agent.render()
    loop = asyncio.get_running_loop()
    signalled = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, signalled.set)
    task = loop.create_task(agent._watch_config())
    try:
        (tmp_path / "cm" / template.STUB_DOMAINS).write_text('{"acme.local": ["1.2.3.4"]}')
        await asyncio.wait_for(signalled.wait(), 5)
        assert "acme.local:53 {" in (tmp_path / "Corefile").read_text()
    finally:
        task.cancel()
        loop.remove_signal_handler(signal.SIGUSR1)
