"""The stock kubeadm and sidecar Corefiles run with their forward, cache and loop parts.

tests/config/corefiles/{kubeadm,sidecar}.Corefile (copies of ../shared/corefiles) are changed only
where they must be to run here: kubeadm's ``kubernetes`` block is cut (issue 4) and its
``forward . /etc/resolv.conf`` reads a temporary resolv.conf naming a FakeUpstream on 127.0.0.14:53
(resolv.conf has no ports, so that one binds port 53: root, as here and in CI; skipped otherwise);
sidecar's ``forward . 10.96.0.10`` goes to a FakeUpstream on 127.0.0.15. The ``:53`` keys move to a
free port and health/ready/prometheus to 127.0.0.1:0 (as tests/integration/test_stock_corefiles_run
does), lameduck is shortened. Everything else is as written.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import dns.message
import dns.rcode
import dns.rdatatype
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kdns.plugins.loop import plugin as loop_plugin
from kdns.plugins.loop.plugin import Loop
from kdns.testing import FakeUpstream, RunningInstance, bindable, query, require_plugins, run_instance, until
from kdns.testing.upstream import answer, truncated

HERE = Path(__file__).parent.parent / "config" / "corefiles"
RESOLVER = "127.0.0.14"  # kubeadm's resolv.conf nameserver
SIDECAR_UPSTREAM = "127.0.0.15"
RECORDS = {
    ("example.com.", "A"): ["example.com. 300 IN A 192.0.2.1"],
    ("many.example.com.", "A"): [f"many.example.com. 300 IN A 192.0.2.{i}" for i in range(10, 14)],
    ("db.corp.example.com.", "A"): ["db.corp.example.com. 300 IN A 10.20.0.7"],
    ("big.example.com.", "TXT"): ['big.example.com. 300 IN TXT "only over tcp"'],
}


def cut(text: str, directive: str) -> str:
    """``text`` without ``directive``'s line and its nested block."""
    out: list[str] = []
    depth = 0
    for line in text.splitlines():
        if depth:
            depth += line.count("{") - line.count("}")
            continue
        if line.split()[:1] == [directive]:
            depth = line.count("{") - line.count("}")
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def movable(text: str) -> str:
    """Keys on a free port, HTTP plugins on 127.0.0.1:0, lameduck short: what every test run needs."""
    text = re.sub(r"(\S+):53 \{", r"\1 {", text)
    text = re.sub(r"^(\s*)(health|ready|prometheus)( [^\s{]+)?( \{)?[ \t]*$", r"\1\2 127.0.0.1:0\4", text, flags=re.M)
    return text.replace("lameduck 5s", "lameduck 10ms")


def kubeadm(resolv_conf: Path) -> str:
    text = cut((HERE / "kubeadm.Corefile").read_text(), "kubernetes")
    assert "forward . /etc/resolv.conf {" in text
    return movable(text.replace("/etc/resolv.conf", str(resolv_conf)))


def sidecar(upstream: FakeUpstream) -> str:
    text = (HERE / "sidecar.Corefile").read_text()
    assert "forward . 10.96.0.10 {" in text
    return movable(text.replace("10.96.0.10", upstream.addr))


def handle(q: dns.message.Message, proto: str) -> dns.message.Message:
    """RECORDS, NXDOMAIN otherwise; big.example.com TXT only fits TCP (UDP gets TC)."""
    question = q.question[0]
    key = (question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype))
    if key == ("big.example.com.", "TXT") and proto == "udp":
        return truncated(q)
    if key not in RECORDS:
        return answer(q, rcode=dns.rcode.NXDOMAIN)
    return answer(q, *RECORDS[key])


def asked(up: FakeUpstream, proto: str | None = None) -> list[str]:
    """Names the upstream got (loop's HINFO probes left out)."""
    return [m.question[0].name.to_text() for m in up.queried(proto) if m.question[0].rdtype != dns.rdatatype.HINFO]


def probes(up: FakeUpstream) -> list[str]:
    return [m.question[0].name.to_text() for m in up.queried() if m.question[0].rdtype == dns.rdatatype.HINFO]


def the_loop(inst: RunningInstance) -> Loop:
    assert inst.runner.instance is not None
    h = inst.runner.instance.blocks[0].handlers["loop"]
    assert isinstance(h, Loop)
    return h


async def metrics(inst: RunningInstance) -> dict[str, list[dict[str, str]]]:
    """Sample name -> label sets, from the instance's /metrics."""
    port = inst.http_port("127.0.0.1:0")
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/metrics") as r:
        assert r.status == 200
        text = await r.text()
    out: dict[str, list[dict[str, str]]] = {}
    for f in text_string_to_metric_families(text):
        for s in f.samples:
            out.setdefault(s.name, []).append(s.labels)
    return out


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """loop's exit recorded (never os._exit inside pytest); no linger after the first answer."""
    calls: list[int] = []
    monkeypatch.setattr(loop_plugin.SETTINGS, "on_loop", lambda: calls.append(1))
    monkeypatch.setattr(loop_plugin.SETTINGS, "linger", 0.0)
    return calls


# -- kubeadm ------------------------------------------------------------------------------


@pytest.fixture
async def kubeadm_run(tmp_path: Path, exits: list[int]) -> AsyncIterator[tuple[RunningInstance, FakeUpstream]]:
    require_plugins("forward", "cache")
    if not bindable(RESOLVER, 53):
        pytest.skip(f"cannot bind {RESOLVER}:53 (not root, or in use)")
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(f"search default.svc.cluster.local svc.cluster.local\nnameserver {RESOLVER}\noptions ndots:5\n")
    up = FakeUpstream(handle, host=RESOLVER)
    up.port = 53
    async with up, run_instance(kubeadm(resolv)) as inst:
        yield inst, up


async def test_kubeadm_forwards_to_resolv_conf_and_caches(
    kubeadm_run: tuple[RunningInstance, FakeUpstream], exits: list[int]
) -> None:
    """Names go to the resolv.conf nameserver once; repeats over UDP and TCP are cache hits, TTL <= 30."""
    inst, up = kubeadm_run
    for proto in ("udp", "tcp", "udp"):
        r = await inst.query("example.com", proto=proto)
        assert r.answer[0][0].address == "192.0.2.1"
        assert r.answer[0].ttl <= 30
    assert asked(up) == ["example.com."]
    r = await inst.query("nowhere.example.com")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert exits == []


async def test_kubeadm_loop_probe_goes_through_forward(
    kubeadm_run: tuple[RunningInstance, FakeUpstream], exits: list[int]
) -> None:
    """loop's probe reaches the resolv.conf upstream, is answered, and loop goes quiet without exiting."""
    inst, up = kubeadm_run
    h = the_loop(inst)
    await until(lambda: h.off)
    assert exits == []
    assert h.seen == 1
    assert probes(up) == [h.qname]


async def test_kubeadm_loadbalance_shuffles_cached_answers(kubeadm_run: tuple[RunningInstance, FakeUpstream]) -> None:
    """loadbalance reorders the A records of cached replies too: 20 hits are not all in one order."""
    inst, up = kubeadm_run
    orders = set()
    for _ in range(20):
        r = await inst.query("many.example.com")
        orders.add(tuple(rd.address for rd in r.answer[0]))
    assert asked(up) == ["many.example.com."]
    assert len(orders) > 1
    assert all(sorted(o) == [f"192.0.2.{i}" for i in range(10, 14)] for o in orders)


async def test_kubeadm_metrics(kubeadm_run: tuple[RunningInstance, FakeUpstream]) -> None:
    """The prometheus endpoint has cache hit/miss counters and forward's per-upstream histogram."""
    inst, _ = kubeadm_run
    await inst.query("example.com")
    await inst.query("example.com")
    m = await metrics(inst)
    assert any(lb.get("type") == "success" for lb in m.get("coredns_cache_hits_total", []))
    assert m.get("coredns_cache_requests_total")
    proxies = m.get("coredns_proxy_request_duration_seconds_count", [])
    assert any(lb.get("proxy_name") == "forward" and lb.get("to") == f"{RESOLVER}:53" for lb in proxies)


# -- sidecar ------------------------------------------------------------------------------


@pytest.fixture
async def sidecar_run(exits: list[int]) -> AsyncIterator[tuple[RunningInstance, FakeUpstream]]:
    require_plugins("forward", "cache")
    async with FakeUpstream(handle, host=SIDECAR_UPSTREAM) as up, run_instance(sidecar(up)) as inst:
        yield inst, up


async def test_sidecar_hosts_answer_locally(sidecar_run: tuple[RunningInstance, FakeUpstream]) -> None:
    """The inline hosts entry is answered without asking the upstream."""
    inst, up = sidecar_run
    r = await inst.query("legacy-db.internal")
    assert r.answer[0][0].address == "10.0.0.5"
    assert asked(up) == []


async def test_sidecar_rewrite_then_forward_then_cache(sidecar_run: tuple[RunningInstance, FakeUpstream]) -> None:
    """db.corp.internal is asked upstream as db.corp.example.com, answered under the client's name, then cached."""
    inst, up = sidecar_run
    for _ in range(3):
        r = await inst.query("db.corp.internal")
        assert r.answer[0].name.to_text() == "db.corp.internal."
        assert r.answer[0][0].address == "10.20.0.7"
    assert asked(up) == ["db.corp.example.com."]


async def test_sidecar_prefer_udp(sidecar_run: tuple[RunningInstance, FakeUpstream]) -> None:
    """prefer_udp: a TCP client's query goes upstream over UDP; a truncated UDP reply is retried over TCP."""
    inst, up = sidecar_run
    r = await inst.query("example.com", proto="tcp")
    assert r.answer[0][0].address == "192.0.2.1"
    assert asked(up, "udp") == ["example.com."]
    r = await inst.query("big.example.com", "TXT", proto="tcp")
    assert r.answer[0][0].strings == (b"only over tcp",)
    assert asked(up, "udp") == ["example.com.", "big.example.com."]
    assert asked(up, "tcp") == ["big.example.com."]


async def test_sidecar_listens_on_both_bind_addresses(sidecar_run: tuple[RunningInstance, FakeUpstream]) -> None:
    """bind 127.0.0.1 ::1: both answer (port 0 in the key: each listener has its own free port)."""
    inst, up = sidecar_run
    for host in ("127.0.0.1", "::1"):
        port = inst.runner.port(host, 0)
        r = await query(host, port, "legacy-db.internal")
        assert r.answer[0][0].address == "10.0.0.5", host
        r = await query(host, port, "example.com", proto="tcp")
        assert r.answer[0][0].address == "192.0.2.1", host
    assert asked(up) == ["example.com."]
