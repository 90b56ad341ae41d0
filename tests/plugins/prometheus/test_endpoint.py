"""/metrics of a running kdns: counters, histograms, plugin_enabled, shared addresses, promtool."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable

import dns.rcode
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kdns.config.parser import parse
from kdns.core.instance import Instance
from kdns.metrics import SIZE_BUCKETS, TIME_BUCKETS
from kdns.testing import RunningInstance, run_instance

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
Scrape = Callable[[int], Awaitable[str]]

HTTP = "127.0.0.1:0"
COREFILE = """\
example.org:0 {
    prometheus 127.0.0.1:0
    whoami
}
example.net:0 {
    prometheus 127.0.0.1:0
}
"""


def samples(text: str) -> Samples:
    out: Samples = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(s: Samples, name: str, **labels: str) -> float:
    return s.get((name, frozenset(labels.items())), 0.0)


def server_label(inst: RunningInstance) -> str:
    return f"dns://:{inst.port}"


async def test_counters_move_by_the_queries_sent(scrape: Scrape) -> None:
    """requests/responses/size/duration counters grow by exactly the queries sent, per rcode, type and zone."""
    async with run_instance(COREFILE) as inst:
        port = inst.http_port(HTTP)
        before = samples(await scrape(port))
        for _ in range(3):
            assert (await inst.query("www.example.org", "A")).rcode() == dns.rcode.NOERROR
        for _ in range(2):
            assert (await inst.query("www.example.org", "AAAA", proto="tcp")).rcode() == dns.rcode.NOERROR
        assert (await inst.query("www.example.net", "MX")).rcode() == dns.rcode.SERVFAIL
        assert (await inst.query("www.example.com", "A")).rcode() == dns.rcode.REFUSED
        after = samples(await scrape(port))
        srv = server_label(inst)

    def delta(name: str, **labels: str) -> float:
        labels = {"server": srv, "view": "", **labels}
        return value(after, name, **labels) - value(before, name, **labels)

    org, net = "example.org.", "example.net."
    req = "coredns_dns_requests_total"
    assert delta(req, zone=org, proto="udp", family="1", type="A") == 3
    assert delta(req, zone=org, proto="tcp", family="1", type="AAAA") == 2
    assert delta(req, zone=net, proto="udp", family="1", type="MX") == 1
    assert delta(req, zone="dropped", proto="udp", family="1", type="A") == 1
    resp = "coredns_dns_responses_total"
    assert delta(resp, zone=org, rcode="NOERROR", plugin="whoami") == 5
    assert delta(resp, zone=net, rcode="SERVFAIL", plugin="") == 1
    assert delta(resp, zone="dropped", rcode="REFUSED", plugin="") == 1
    total_responses = sum(v for (n, _), v in after.items() if n == resp) - sum(
        v for (n, _), v in before.items() if n == resp
    )
    assert total_responses == 7
    assert delta("coredns_dns_request_duration_seconds_count", zone=org) == 5
    assert delta("coredns_dns_request_size_bytes_count", zone=org, proto="udp") == 3
    assert delta("coredns_dns_request_size_bytes_count", zone=org, proto="tcp") == 2
    assert delta("coredns_dns_response_size_bytes_count", zone=org, proto="tcp") == 2
    assert delta("coredns_dns_response_size_bytes_sum", zone=org, proto="udp") > 3 * 12
    assert delta("coredns_dns_do_requests_total", zone=org) == 0


async def test_do_bit_counted(scrape: Scrape) -> None:
    """Queries with the DO bit move coredns_dns_do_requests_total."""
    async with run_instance(COREFILE) as inst:
        port = inst.http_port(HTTP)
        await inst.query("www.example.org", "A", want_dnssec=True)
        await inst.query("www.example.org", "A")
        s = samples(await scrape(port))
        assert value(s, "coredns_dns_do_requests_total", server=server_label(inst), zone="example.org.", view="") == 1


async def test_histogram_buckets_are_corednss(scrape: Scrape) -> None:
    """Duration buckets are 0.25 ms doubling to 8.192 s; size buckets 0..64000, as CoreDNS's."""
    async with run_instance(COREFILE) as inst:
        await inst.query("www.example.org", "A")
        text = await scrape(inst.http_port(HTTP))
        srv = server_label(inst)
    les: dict[str, set[float]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name.endswith("_bucket") and s.labels.get("server") == srv:
                les.setdefault(fam.name, set()).add(float(s.labels["le"]))
    inf = float("inf")
    assert les["coredns_dns_request_duration_seconds"] == {*TIME_BUCKETS, inf}
    assert min(TIME_BUCKETS) == 0.00025
    assert max(TIME_BUCKETS) == 8.192
    assert les["coredns_dns_request_size_bytes"] == {*map(float, SIZE_BUCKETS), inf}
    assert les["coredns_dns_response_size_bytes"] == {
        0,
        100,
        200,
        300,
        400,
        511,
        1023,
        2047,
        4095,
        8291,
        16000,
        32000,
        48000,
        64000,
        inf,
    }


async def test_core_metrics_exported(scrape: Scrape) -> None:
    """Every core metric of CoreDNS is in the scrape with its type, plus process metrics."""
    async with run_instance(COREFILE) as inst:
        await inst.query("www.example.org", "A")
        text = await scrape(inst.http_port(HTTP))
    types = {fam.name: fam.type for fam in text_string_to_metric_families(text)}
    assert types["coredns_build_info"] == "gauge"
    assert types["coredns_panics"] == "counter"
    assert types["coredns_plugin_enabled"] == "gauge"
    assert types["coredns_dns_requests"] == "counter"
    assert types["coredns_dns_responses"] == "counter"
    assert types["coredns_dns_do_requests"] == "counter"
    for h in ("request_duration_seconds", "request_size_bytes", "response_size_bytes"):
        assert types[f"coredns_dns_{h}"] == "histogram"
    assert types["process_cpu_seconds"] == "counter"
    assert "process_resident_memory_bytes" in types
    assert "coredns_build_info{" in text
    assert 'version="1.14.7"' in text
    assert "_created" not in text  # like CoreDNS's Go client


async def test_plugin_enabled_per_block_and_reset_on_reload(scrape: Scrape) -> None:
    """plugin_enabled lists each plugin of each prometheus block, and only the new config's after a reload."""
    async with run_instance(COREFILE) as inst:
        port = inst.http_port(HTTP)
        srv = server_label(inst)
        s = samples(await scrape(port))

        def enabled(s: Samples) -> set[tuple[str, str]]:
            out = set()
            for (n, lab), v in s.items():
                labels = dict(lab)
                if n == "coredns_plugin_enabled" and labels["server"] == srv:
                    assert sorted(labels) == ["name", "server", "view", "zone"]
                    assert (labels["view"], v) == ("", 1)
                    out.add((labels["zone"], labels["name"]))
            return out

        assert enabled(s) == {
            ("example.org.", "prometheus"),
            ("example.org.", "whoami"),
            ("example.net.", "prometheus"),
        }
        with open(inst.path, "w") as f:
            f.write(f"example.com:{inst.port} {{\n prometheus 127.0.0.1:0\n whoami\n}}\n")
            f.write(f"example.org:{inst.port} {{\n whoami\n}}\n")
        assert await inst.reload()
        s = samples(await scrape(inst.http_port(HTTP)))
        assert enabled(s) == {("example.com.", "prometheus"), ("example.com.", "whoami")}


async def test_blocks_without_prometheus_not_counted(scrape: Scrape) -> None:
    """Only blocks that enable prometheus count their queries."""
    cf = "example.org:0 {\n prometheus 127.0.0.1:0\n whoami\n}\nexample.net:0 {\n whoami\n}\n"
    async with run_instance(cf) as inst:
        await inst.query("www.example.net", "A")
        await inst.query("www.example.org", "A")
        s = samples(await scrape(inst.http_port(HTTP)))
        srv = server_label(inst)
    req = "coredns_dns_requests_total"
    assert value(s, req, server=srv, zone="example.org.", view="", proto="udp", family="1", type="A") == 1
    assert value(s, req, server=srv, zone="example.net.", view="", proto="udp", family="1", type="A") == 0


def test_blocks_share_a_metrics_address() -> None:
    """Several blocks may export on one address: /metrics is served there once."""
    inst = Instance(parse("a.org {\n prometheus :9153\n whoami\n}\nb.org {\n prometheus :9153\n whoami\n}\n"))
    inst.setup()
    assert {a: list(t) for a, t in inst.http_routes.items()} == {":9153": ["/metrics"]}
    assert [b.handlers["prometheus"].name for b in inst.blocks] == ["prometheus", "prometheus"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
async def test_promtool_check_metrics(scrape: Scrape) -> None:
    """promtool's linter finds nothing wrong in a scrape."""
    cf = COREFILE.replace("whoami", "whoami\n    health 127.0.0.1:0\n    ready 127.0.0.1:0")
    async with run_instance(cf) as inst:
        await inst.query("www.example.org", "A")
        await inst.query("www.example.com", "A")
        text = await scrape(inst.http_port(HTTP))
    proc = await asyncio.create_subprocess_exec(
        "promtool",
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate(text.encode())
    assert proc.returncode == 0, out.decode()
    assert out.decode().strip() == ""
