"""The parts of the stock Corefiles kdns supports today run: hosts answers, health, ready, metrics.

Each stock Corefile (tests/config/corefiles, copies of ../shared/corefiles) is started with the
directives of later issues (kubernetes, forward, cache, loop, autopath) cut out, its ports moved to
free ones on loopback and lameduck shortened; nothing else is changed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import dns.rcode
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kdns.testing import run_instance

Get = Callable[[int, str], Awaitable[tuple[int, str]]]
HERE = Path(__file__).parent.parent / "config" / "corefiles"
SHARED = Path(__file__).parents[3] / "shared" / "corefiles"
LATER = {"kubernetes", "forward", "cache", "loop", "autopath"}
PILLARS = {
    "__PILLAR__DNS__DOMAIN__": "cluster.local",
    "__PILLAR__LOCAL__DNS__": "127.0.0.10",
    "__PILLAR__DNS__SERVER__": "127.0.0.11",
    "__PILLAR__CLUSTER__DNS__": "127.0.0.12",
    "__PILLAR__UPSTREAM__SERVERS__": "127.0.0.13",
}


def cut_later_directives(text: str) -> str:
    """``text`` without the lines (and nested blocks) of directives from later issues."""
    out: list[str] = []
    depth = 0
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if depth:
            depth += line.count("{") - line.count("}")
            continue
        if words and words[0] in LATER:
            depth = line.count("{") - line.count("}")
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def runnable(name: str, node_hosts: Path) -> str:
    """Stock Corefile ``name`` ready to run here: later directives cut, ports free, lameduck short."""
    text = (HERE / name).read_text()
    for pillar, value in PILLARS.items():
        text = text.replace(pillar, value)
    text = cut_later_directives(text)
    text = re.sub(r"(\S+):53 \{", r"\1 {", text)  # keys: the test's free port
    text = re.sub(r"^(\s*)(health|ready|prometheus)( [^\s{]+)?( \{)?[ \t]*$", r"\1\2 127.0.0.1:0\4", text, flags=re.M)
    text = text.replace("lameduck 5s", "lameduck 10ms")
    return text.replace("/etc/coredns/NodeHosts", str(node_hosts)).replace("/etc/coredns/custom/", "custom/")


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/corefiles not beside the checkout")
@pytest.mark.parametrize("name", sorted(p.name for p in HERE.iterdir()))
def test_copies_match_shared(name: str) -> None:
    """The test copies of the stock Corefiles are the ones in ../shared/corefiles."""
    assert (HERE / name).read_text() == (SHARED / name).read_text()


@pytest.mark.parametrize(
    "name",
    ["kubeadm.Corefile", "k3s.Corefile", "managed.Corefile", "autopath.Corefile", "sidecar.Corefile",
     "nodelocaldns.Corefile.base"],
)  # fmt: skip
async def test_supported_parts_run(name: str, tmp_path: Path, http_get: Get) -> None:
    """health says OK, ready says OK, /metrics counts the queries sent, hosts entries answer."""
    node_hosts = tmp_path / "NodeHosts"
    node_hosts.write_text("10.1.2.3 node-a\n")
    corefile = runnable(name, node_hosts)
    async with run_instance(corefile) as inst:
        http = inst.http_port("127.0.0.1:0")
        host = "127.0.0.10" if name.startswith("nodelocaldns") else "127.0.0.1"
        r = await inst.query("legacy-db.internal" if name == "sidecar.Corefile" else "node-a", host=host)
        if name == "sidecar.Corefile":
            assert r.rcode() == dns.rcode.NOERROR
            assert r.answer[0][0].address == "10.0.0.5"
        elif name == "k3s.Corefile":
            assert r.answer[0][0].address == "10.1.2.3"
        else:  # no answering plugin is left: the end of the chain fails
            assert r.rcode() == dns.rcode.SERVFAIL
        if "health" in corefile:
            assert await http_get(http, "/health") == (200, "OK")
        if "ready" in corefile:
            assert await http_get(http, "/ready") == (200, "OK")
        status, text = await http_get(http, "/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(text)}
    requests = [s for s in families["coredns_dns_requests"].samples if s.name.endswith("_total")]
    assert sum(s.value for s in requests if s.labels["zone"] != "dropped") >= 1
