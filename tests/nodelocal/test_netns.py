"""`kdns nodelocal` for real, inside a network namespace the test creates (every command runs in it).

The agent creates the interface holding 169.254.20.10, serves DNS there, adds the iptables rules once
it answers, re-adds what goes missing, and removes it all on SIGTERM (unless -skipteardown).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
BASE = (HERE.parent / "config" / "corefiles" / "nodelocaldns.Corefile.base").read_text()
LOCAL_IP = "169.254.20.10"
IFACE = "nodelocaldns"
COMMENT = "NodeLocal DNS Cache"
SKIP = f'-m comment --comment "{COMMENT}: skip conntrack" -j NOTRACK'
DEADLINE = 20.0


def _cannot_run() -> str | None:
    """Why these tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces and iptables)"
    for tool in ("ip", "iptables", "iptables-save"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install iproute2 iptables)"
    return None


def ns_run(ns: str, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` inside the namespace (never on the host's network stack)."""
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], capture_output=True, text=True, timeout=30, check=check)


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh namespace with lo up, where iptables works; deleted afterwards whatever happens."""
    reason = _cannot_run()
    if reason:
        pytest.skip(reason)
    name = f"kdns-nl-{secrets.token_hex(4)}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=30)
    if made.returncode != 0:
        pytest.skip(f"ip netns add failed: {made.stderr.strip()}")
    try:
        ns_run(name, "ip", "link", "set", "lo", "up")
        probe = ns_run(name, "iptables", "-w", "5", "-t", "raw", "-S", check=False)
        if probe.returncode != 0:
            pytest.skip(f"iptables does not work in a network namespace here: {probe.stderr.strip()}")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30, check=False)


def wait_for(what: str, cond: Callable[[], bool], proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``cond`` until true (no event exists for "the kernel state changed"); fail after DEADLINE."""
    end = time.monotonic() + DEADLINE
    while not cond():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"agent exited with {proc.returncode} while waiting for {what}")
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def our_rules(ns: str) -> list[str]:
    """The agent's rules in the namespace (iptables-save lines carrying its comments)."""
    return [line for line in ns_run(ns, "iptables-save").stdout.splitlines() if COMMENT in line or "allow DNS" in line]


def iface_addrs(ns: str) -> list[str] | None:
    """Addresses on the agent's interface, None when it does not exist."""
    out = ns_run(ns, "ip", "-j", "addr", "show", "dev", IFACE, check=False)
    if out.returncode != 0:
        return None
    return [a["local"] for link in json.loads(out.stdout) for a in link.get("addr_info", [])]


def ask(ns: str, name: str, proto: str = "udp") -> tuple[str, list[str]]:
    """Query LOCAL_IP:53 from inside the namespace with dnspython: (rcode name, answer rdata texts)."""
    code = (
        "import dns.message, dns.query, dns.rcode, json, sys\n"
        f"q = dns.message.make_query({name!r}, 'A')\n"
        f"r = dns.query.{proto}(q, {LOCAL_IP!r}, timeout=3)\n"
        "print(json.dumps([dns.rcode.to_text(r.rcode()), [rd.to_text() for rrs in r.answer for rd in rrs]]))\n"
    )
    rcode, answers = json.loads(ns_run(ns, sys.executable, "-c", code).stdout)
    return rcode, answers


class Setup:
    """The fake upstream and the agent, both running inside the namespace."""

    def __init__(self, ns: str, tmp: Path) -> None:
        self.ns = ns
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.log = tmp / "agent.log"
        portfile = tmp / "upstream.port"
        self._spawn([sys.executable, str(HERE / "fake_upstream.py"), str(portfile)], tmp / "upstream.log")
        wait_for("the fake upstream", portfile.exists, self.procs[0])
        self.upstream = f"127.0.0.1:{portfile.read_text()}"
        (tmp / "Corefile.base").write_text(BASE.replace("__PILLAR__DNS__DOMAIN__", "cluster.local"))
        (tmp / "kube-dns").mkdir()
        (tmp / "kube-dns" / "upstreamNameservers").write_text(json.dumps([self.upstream]))

    def _spawn(self, cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            p = subprocess.Popen(["ip", "netns", "exec", self.ns, *cmd], stdout=out, stderr=subprocess.STDOUT, env=env)
        self.procs.append(p)
        return p

    def agent(self, *extra: str) -> subprocess.Popen[bytes]:
        env = dict(os.environ, KUBE_DNS_UPSTREAM_SERVICE_HOST=self.upstream)
        cmd = [sys.executable, "-m", "kdns", "nodelocal", "-localip", LOCAL_IP]
        cmd += ["-basecorefile", str(self.tmp / "Corefile.base"), "-conf", str(self.tmp / "Corefile")]
        cmd += ["-upstreamsvc", "kube-dns-upstream", "-kubednscm", str(self.tmp / "kube-dns"), *extra]
        return self._spawn(cmd, self.log, env)

    def stop(self, p: subprocess.Popen[bytes]) -> int:
        p.send_signal(signal.SIGTERM)
        return p.wait(timeout=DEADLINE)

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=DEADLINE)


@pytest.fixture
def setup(netns: str, tmp_path: Path) -> Iterator[Setup]:
    s = Setup(netns, tmp_path)
    try:
        yield s
    finally:
        s.close()


def test_agent_sets_up_serves_resyncs_and_tears_down(setup: Setup) -> None:
    """Interface + 12 rules appear, DNS is answered on 169.254.20.10, lost rules come back, SIGTERM removes all."""
    ns = setup.ns
    agent = setup.agent("-syncinterval", "0.5")
    wait_for("the iptables rules", lambda: len(our_rules(ns)) == 12, agent)
    assert iface_addrs(ns) == [LOCAL_IP]
    kinds = [
        link["linkinfo"]["info_kind"] for link in json.loads(ns_run(ns, "ip", "-d", "-j", "link", "show", IFACE).stdout)
    ]
    assert kinds in (["dummy"], ["bridge"])  # bridge only where the kernel has no dummy driver
    rules = our_rules(ns)
    assert f"-A PREROUTING -d {LOCAL_IP}/32 -p udp -m udp --dport 53 {SKIP}" in rules
    assert (
        f'-A INPUT -d {LOCAL_IP}/32 -p tcp -m tcp --dport 53 -m comment --comment "allow DNS traffic" -j ACCEPT'
        in rules
    )
    assert f"-A OUTPUT -s {LOCAL_IP}/32 -p tcp -m tcp --sport 8080 {SKIP}" in rules

    # cluster domain -> the cluster DNS (force_tcp), other names -> upstreamNameservers
    assert ask(ns, "kubernetes.default.svc.cluster.local.") == ("NOERROR", ["10.96.0.1"])
    assert ask(ns, "www.example.org.", "tcp") == ("NOERROR", ["192.0.2.80"])
    assert ask(ns, "nope.example.org.") == ("NXDOMAIN", [])
    metrics = ns_run(
        ns,
        sys.executable,
        "-c",
        "import urllib.request as u; print(u.urlopen('http://127.0.0.1:9353/metrics').read().decode())",
    )
    assert 'coredns_nodecache_setup_errors_total{errortype="iptables"} 0.0' in metrics.stdout

    # a rule deleted behind the agent's back is re-added on the next sync
    ns_run(ns, "iptables", "-w", "5", "-t", "raw", "-D", "PREROUTING", "-d", LOCAL_IP, "-p", "udp", "--dport", "53",
           "-m", "comment", "--comment", f"{COMMENT}: skip conntrack", "-j", "NOTRACK")  # fmt: skip
    assert len(our_rules(ns)) == 11
    wait_for("the deleted rule to come back", lambda: len(our_rules(ns)) == 12, agent)

    assert setup.stop(agent) == 0
    assert our_rules(ns) == []
    assert iface_addrs(ns) is None
    assert "stopping" in setup.log.read_text()


def test_skipteardown_keeps_rules_and_interface(setup: Setup) -> None:
    """With -skipteardown, the rules and the interface stay after SIGTERM."""
    ns = setup.ns
    agent = setup.agent("-skipteardown")
    wait_for("the iptables rules", lambda: len(our_rules(ns)) == 12, agent)
    assert setup.stop(agent) == 0
    assert len(our_rules(ns)) == 12
    assert iface_addrs(ns) == [LOCAL_IP]


def test_no_setup_flags_touch_nothing(setup: Setup) -> None:
    """-setupiptables=false -setupinterface=false: no rules, no interface (the server fails to bind, exit 1)."""
    ns = setup.ns
    agent = setup.agent("-setupiptables=false", "-setupinterface=false")
    assert agent.wait(timeout=DEADLINE) == 1
    assert "listen:" in setup.log.read_text()
    assert our_rules(ns) == []
    assert iface_addrs(ns) is None
