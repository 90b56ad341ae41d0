"""/health, its self-probe metrics, one endpoint per address, and lameduck on stop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import aiohttp
import dns.rcode
import pytest

from kdns.config.parser import parse
from kdns.core.instance import Instance
from kdns.errors import ConfigError
from kdns.metrics import REGISTRY
from kdns.plugins.health.plugin import Health
from kdns.testing import run_instance, sample, until

Get = Callable[[int, str], Awaitable[tuple[int, str]]]
HTTP = "127.0.0.1:0"
DURATION = "coredns_health_request_duration_seconds"
FAILURES = "coredns_health_request_failures_total"


async def test_health_answers_ok(http_get: Get) -> None:
    """GET /health is 200 with body OK; other paths are 404."""
    async with run_instance(".:0 {\n health 127.0.0.1:0\n whoami\n}\n") as inst:
        assert await http_get(inst.http_port(HTTP), "/health") == (200, "OK")
        status, _ = await http_get(inst.http_port(HTTP), "/healthz")
    assert status == 404


async def test_self_probe_observes_duration() -> None:
    """Every second the plugin GETs its own /health and observes the time taken; no failure is counted."""
    count0, fail0 = sample(f"{DURATION}_count"), sample(FAILURES)
    async with run_instance(".:0 {\n health 127.0.0.1:0\n whoami\n}\n"):
        await until(lambda: sample(f"{DURATION}_count") > count0)
    assert sample(f"{DURATION}_bucket", le="2.5") > 0
    assert sample(FAILURES) == fail0


def test_probe_buckets_are_corednss() -> None:
    """The probe histogram has CoreDNS's slim buckets 0.00025, 0.0025, 0.025, 0.25, 2.5."""
    les = {s.labels["le"] for m in REGISTRY.collect() if m.name == DURATION for s in m.samples if "le" in s.labels}
    assert les == {"0.00025", "0.0025", "0.025", "0.25", "2.5", "+Inf"}


async def test_probe_failure_counted() -> None:
    """A probe that cannot connect counts one failure and still observes its duration."""
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/health"
    h = Health("127.0.0.1:0", 0.0, lambda: url)
    count0, fail0 = sample(f"{DURATION}_count"), sample(FAILURES)
    await h.start()
    try:
        assert await h.probe() is False
    finally:
        await h.stop()
    assert sample(FAILURES) == fail0 + 1
    assert sample(f"{DURATION}_count") >= count0 + 1


def test_one_health_per_address() -> None:
    """Two blocks with health on the same address is a config error at the second one."""
    bad = Instance(parse("a.org {\n health :8080\n whoami\n}\nb.org {\n health :8080\n whoami\n}\n"))
    with pytest.raises(ConfigError, match="Corefile:6: plugin/health: /health is already served on :8080"):
        bad.setup()
    ok = Instance(parse("a.org {\n health :8080\n whoami\n}\nb.org {\n health :8081\n whoami\n}\n"))
    ok.setup()
    assert sorted(ok.http_routes) == [":8080", ":8081"]


LAMEDUCK = """\
.:0 {
    health 127.0.0.1:0 {
        lameduck 1s
    }
    ready 127.0.0.1:0
    whoami
}
"""


async def test_lameduck_keeps_serving_until_it_ends(http_get: Get) -> None:
    """On stop: for the lameduck time DNS is answered and /health is 200 while /ready is 503; then it stops."""
    async with run_instance(LAMEDUCK) as inst:
        port = inst.http_port(HTTP)
        assert await http_get(port, "/ready") == (200, "OK")
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        stop = asyncio.create_task(inst.runner.stop())
        await until(lambda: inst.runner.instance is not None and inst.runner.instance.stopping)
        r = await inst.query("example.org", "A")
        assert r.rcode() == dns.rcode.NOERROR
        assert await http_get(port, "/health") == (200, "OK")
        assert await http_get(port, "/ready") == (503, "Shutting down")
        assert not stop.done()
        await stop
        assert loop.time() - t0 >= 1.0
        with pytest.raises(aiohttp.ClientConnectionError):
            await http_get(port, "/health")


async def test_no_lameduck_on_reload(http_get: Get) -> None:
    """A reload does not wait for lameduck, and /health keeps answering across it."""
    async with run_instance(LAMEDUCK.replace("1s", "5s")) as inst:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        assert await inst.reload()
        assert loop.time() - t0 < 2.0
        assert await http_get(inst.http_port(HTTP), "/health") == (200, "OK")
        # the stop does wait: skip it here by dropping the lameduck from the final hooks
        assert inst.runner.instance is not None
        inst.runner.instance.final_hooks.clear()
