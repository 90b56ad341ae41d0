"""Cluster DNS through a real list/watch API (kdns.testing.kubeapi, reached by kubernetes-asyncio with a
kubeconfig): answers stay right through API outages, dropped watches and 410 Gone, and converge after.

The watch reconnect backoff is shortened for these tests (it is the policy's job to be patient, and
the tests measure convergence, not the policy); everything else is the plugin as shipped.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import dns.rcode
import pytest

from kdns.plugins.kubernetes import api
from kdns.testing import kubeobjects as ko
from kdns.testing import run_instance
from kdns.testing.instance import RunningInstance
from kdns.testing.kubeapi import KubeAPI
from kdns.testing.wait import until

WEB = "web.prod.svc.cluster.local"


@pytest.fixture(autouse=True)
def _short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.Backoff.__init__, "__defaults__", (0.02, 0.1, api.random.random))


@pytest.fixture
async def kube() -> AsyncIterator[KubeAPI]:
    async with KubeAPI() as k:
        await k.add(ko.namespace("prod"))
        await k.add(ko.service("web", "prod", "10.96.0.20"))
        yield k


def corefile(kubeconfig: Path, extra: str = "") -> str:
    return f".:0 {{\n kubernetes cluster.local {{\n  kubeconfig {kubeconfig}\n{extra} }}\n}}\n"


async def address(inst: RunningInstance, name: str, proto: str = "udp") -> tuple[int, list[str]]:
    r = await inst.query(name, "A", proto=proto)
    return r.rcode(), [rd.address for rrset in r.answer for rd in rrset]


async def answered(inst: RunningInstance, name: str, want: list[str], within: float) -> float:
    """Seconds until ``name`` answers ``want`` over UDP; AssertionError after ``within``."""
    t0 = time.monotonic()
    while True:
        if (await address(inst, name))[1] == want:
            return time.monotonic() - t0
        if time.monotonic() - t0 > within:
            raise AssertionError(f"{name} did not answer {want} within {within} s")


@pytest.mark.parametrize("mode", ["refuse", "503"])
async def test_outage_after_sync_keeps_answers_and_converges(kube: KubeAPI, tmp_path: Path, mode: str) -> None:
    """During an outage every known name still answers (UDP and TCP, no SERVFAIL, no NXDOMAIN); objects
    added meanwhile answer within 1 s of the API coming back."""
    cfg = kube.write_kubeconfig(tmp_path / "kubeconfig")
    async with run_instance(corefile(cfg)) as inst:
        assert await address(inst, WEB) == (dns.rcode.NOERROR, ["10.96.0.20"])
        await kube.outage(mode)
        for proto in ("udp", "tcp"):
            assert await address(inst, WEB, proto) == (dns.rcode.NOERROR, ["10.96.0.20"])
            assert (await address(inst, "nothere.prod.svc.cluster.local", proto))[0] == dns.rcode.NXDOMAIN
        await kube.add(ko.service("api", "prod", "10.96.0.30"))
        await kube.update(ko.service("web", "prod", "10.96.0.21"))
        assert await address(inst, WEB) == (dns.rcode.NOERROR, ["10.96.0.20"])  # still the last known state
        await kube.recover()
        assert await answered(inst, "api.prod.svc.cluster.local", ["10.96.0.30"], 1.0) <= 1.0
        assert await address(inst, WEB) == (dns.rcode.NOERROR, ["10.96.0.21"])


async def test_dropped_watches_and_gone_relist_keep_answers_right(kube: KubeAPI, tmp_path: Path) -> None:
    """A dropped watch resumes and a compacted history (410 Gone) relists; answers are right throughout
    and a change made across the relist (a delete) shows within 1 s."""
    cfg = kube.write_kubeconfig(tmp_path / "kubeconfig")
    async with run_instance(corefile(cfg)) as inst:
        await until(lambda: kube.open_watches("services") >= 1, 5.0)
        await kube.drop_watches(reset=True)
        assert await address(inst, WEB) == (dns.rcode.NOERROR, ["10.96.0.20"])
        await kube.add(ko.service("db", "prod", "10.96.0.40"))
        assert await answered(inst, "db.prod.svc.cluster.local", ["10.96.0.40"], 1.0) <= 1.0
        await kube.outage("refuse")  # the watches break, and history is gone when the API returns
        await kube.delete("services", "prod", "db")
        await kube.compact()
        assert await address(inst, "db.prod.svc.cluster.local") == (dns.rcode.NOERROR, ["10.96.0.40"])
        await kube.recover()
        t0 = time.monotonic()
        while (await address(inst, "db.prod.svc.cluster.local"))[0] != dns.rcode.NXDOMAIN:
            assert time.monotonic() - t0 <= 1.0, "the deleted service still answers 1 s after recovery"
        assert await address(inst, WEB) == (dns.rcode.NOERROR, ["10.96.0.20"])


async def test_outage_during_startup_gives_servfail_then_answers(kube: KubeAPI, tmp_path: Path) -> None:
    """With the API down at start, kdns starts after startup_timeout: names it cannot know yet get
    SERVFAIL (not NXDOMAIN, which clients would cache); once the API is back, they answer."""
    cfg = kube.write_kubeconfig(tmp_path / "kubeconfig")
    await kube.outage("refuse")
    async with run_instance(corefile(cfg, "  startup_timeout 200ms\n")) as inst:
        r = await inst.query(WEB, "A")
        assert r.rcode() == dns.rcode.SERVFAIL
        await kube.recover()
        assert await answered(inst, WEB, ["10.96.0.20"], 2.0) <= 2.0
