"""A real Prometheus server scrapes kdns on loopback and sees its counters."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path

import aiohttp
import pytest

from kdns.testing import free_port, run_instance

DEADLINE = 15.0

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus not installed")


async def _query(session: aiohttp.ClientSession, base: str, promql: str) -> list[dict[str, object]]:
    """The result vector of an instant query, [] while Prometheus is not up yet."""
    try:
        async with session.get(f"{base}/api/v1/query", params={"query": promql}) as r:
            if r.status != 200:
                return []
            body = json.loads(await r.text())
    except aiohttp.ClientError:
        return []
    result: list[dict[str, object]] = body["data"]["result"]
    return result


async def test_prometheus_scrapes_kdns() -> None:
    """Prometheus (scrape_interval 1s) stores coredns_dns_requests_total with the count of queries sent."""
    cf = "example.org:0 {\n prometheus 127.0.0.1:0\n whoami\n}\n"
    async with run_instance(cf) as inst:
        for _ in range(3):
            await inst.query("www.example.org", "A")
        target = f"127.0.0.1:{inst.http_port('127.0.0.1:0')}"
        web = f"127.0.0.1:{free_port()}"
        with tempfile.TemporaryDirectory(prefix="kdns-prom-") as tmp:
            conf = Path(tmp) / "prometheus.yml"
            conf.write_text(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                f"scrape_configs:\n  - job_name: kdns\n    static_configs:\n      - targets: ['{target}']\n"
            )
            proc = await asyncio.create_subprocess_exec(
                "prometheus",
                f"--config.file={conf}",
                f"--storage.tsdb.path={tmp}/data",
                f"--web.listen-address={web}",
                "--log.level=error",
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                promql = f'coredns_dns_requests_total{{zone="example.org.",server="dns://:{inst.port}",type="A"}}'
                loop = asyncio.get_running_loop()
                end = loop.time() + DEADLINE
                result: list[dict[str, object]] = []
                async with aiohttp.ClientSession() as session:
                    while loop.time() < end and proc.returncode is None:
                        result = await _query(session, f"http://{web}", promql)
                        if result:
                            break
                        await asyncio.sleep(0.2)  # polling: Prometheus has no event to wait on
                    up = await _query(session, f"http://{web}", 'up{job="kdns"}')
            finally:
                if proc.returncode is None:
                    proc.terminate()
                _, err = await proc.communicate()
    assert result, f"no coredns_dns_requests_total in Prometheus within {DEADLINE}s: {err.decode()[-2000:]}"
    sample = result[0]
    assert sample["metric"]["job"] == "kdns"  # type: ignore[index]
    assert float(sample["value"][1]) == 3  # type: ignore[index]
    assert up
    assert float(up[0]["value"][1]) == 1
