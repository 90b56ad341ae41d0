#!/usr/bin/env python3
"""kdns as cluster DNS at scale: 10,000 Services and 10,000 EndpointSlices (50,000 endpoints), loopback only.

Runs ``kdns.testing.kubeapi`` (a list/watch API server) on a background event loop of this process,
loads a generated cluster into it, writes a kubeconfig and starts kdns as a subprocess with

    .:PORT { bind 127.0.0.1 kubernetes cluster.local in-addr.arpa ip6.arpa { kubeconfig FILE } cache 30
             prometheus 127.0.0.1:P ready 127.0.0.1:P }

(and variants of it: without cache, with ttl 30, with a bigger cache; --variants). Measures per
instance: time from process start to the first 200 from /ready (first sync), kdns's resident memory
after the sync and after load (VmRSS, VmHWM from /proc/PID/status) against the 114 MB target, dnsperf
QPS over 10,000 distinct service names, and the time from an object change made through the API
server (a Service's ClusterIP, an endpoint added to a slice) to the first reply that shows it; and
kdns's memory over an empty cluster. The QPS is set against the cache-hit QPS of a forward + cache
kdns measured in the same run (the issue-3 benchmark's hit run, against an in-process upstream).
Prints a table; raw outputs go to benchmarks/out/k8s_scale/. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import common
import dns.exception
import dns.message
import dns.query
import dns.rdatatype
import dns.rrset

from kdns.testing import FakeUpstream

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "k8s_scale"
HOST = "127.0.0.1"
ZONE = "cluster.local"
TARGET_RSS_MB = 114.0
HIT_NAMES = 10
BENCH_ZONE = "bench.example."

T = TypeVar("T")

# -- the generated cluster -----------------------------------------------------------------------------

NAMESPACES = ("default", "kube-system", "monitoring", "payments", "checkout", "search", "identity",
              "data-platform", "ml-serving", "storefront")  # fmt: skip
APPS = ("orders", "billing", "inventory", "catalog", "cart", "users", "auth", "session", "pricing", "shipping",
        "invoices", "ledger", "reviews", "ratings", "recommend", "notify", "email", "sms", "push", "media",
        "images", "video", "upload", "export", "reports", "metrics", "audit", "events", "feeds", "profile",
        "accounts", "wallet", "coupons", "tax", "fraud", "geo", "maps", "chat", "support", "flags")  # fmt: skip
ROLES = ("api", "grpc", "web", "worker", "consumer", "producer", "db", "redis", "cache", "proxy", "gateway",
         "admin", "cron", "sync", "indexer", "query", "writer", "reader", "stream", "batch", "v2", "canary",
         "internal", "public", "ws")  # fmt: skip
GEN = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of Kubernetes' generateName suffixes


def _suffix(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(GEN) for _ in range(n))


def _ip(base: int, i: int) -> str:
    n = base + i
    return f"{n >> 24 & 255}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


SVC_BASE = (10 << 24) | (96 << 16) | 16  # ClusterIPs from 10.96.0.16
POD_BASE = (10 << 24) | (128 << 16)  # pod IPs from 10.128.0.0
NEW_SVC_BASE = (10 << 24) | (111 << 16)  # ClusterIPs given by the change runs
NEW_POD_BASE = (10 << 24) | (250 << 16)  # endpoints added by the change runs
STAMP = "2026-11-26T09:00:00Z"


@dataclass
class Cluster:
    namespaces: list[dict[str, Any]]
    services: list[dict[str, Any]]
    #: slices[i] belongs to services[i]
    slices: list[dict[str, Any]]

    @property
    def endpoints(self) -> int:
        return sum(len(s["endpoints"]) for s in self.slices)

    def qname(self, i: int) -> str:
        m = self.services[i]["metadata"]
        return f"{m['name']}.{m['namespace']}.svc.{ZONE}."

    def headless(self, i: int) -> bool:
        return bool(self.services[i]["spec"]["clusterIP"] == "None")


def make_service(ns: str, name: str, cluster_ip: str, uid: str) -> dict[str, Any]:
    """A Service as the API returns it (the fields a kubectl get -o json shows for a plain Deployment's Service)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": uid,
            "creationTimestamp": STAMP,
            "labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": ns},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": cluster_ip,
            "clusterIPs": [cluster_ip],
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
            "sessionAffinity": "None",
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
        },
        "status": {"loadBalancer": {}},
    }


def make_endpoint(rng: random.Random, ns: str, svc: str, ip: str, headless: bool, node: int) -> dict[str, Any]:
    pod = f"{svc}-{_suffix(rng, 10)}-{_suffix(rng, 5)}"
    ep: dict[str, Any] = {
        "addresses": [ip],
        "conditions": {"ready": True, "serving": True, "terminating": False},
        "nodeName": f"node-{node:03d}",
        "zone": f"zone-{'abc'[node % 3]}",
        "targetRef": {"kind": "Pod", "namespace": ns, "name": pod, "uid": f"{rng.getrandbits(64):016x}"},
    }
    if headless:
        ep["hostname"] = pod[-20:].strip("-")
    return ep


def make_slice(rng: random.Random, ns: str, svc: str, endpoints: list[dict[str, Any]]) -> dict[str, Any]:
    owner = {"apiVersion": "v1", "kind": "Service", "name": svc, "uid": f"{rng.getrandbits(64):016x}",
             "controller": True, "blockOwnerDeletion": True}  # fmt: skip
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{svc}-{_suffix(rng, 5)}",
            "namespace": ns,
            "uid": f"{rng.getrandbits(64):016x}",
            "creationTimestamp": STAMP,
            "generateName": f"{svc}-",
            "labels": {
                "kubernetes.io/service-name": svc,
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                "app.kubernetes.io/name": svc,
            },
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": STAMP},
            "ownerReferences": [owner],
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": endpoints,
    }


def make_cluster(services: int, per_slice: int, namespaces: int, headless_every: int, seed: int = 4) -> Cluster:
    """``services`` Services spread over ``namespaces`` namespaces, one EndpointSlice of ``per_slice`` each.

    Names are ``<app>-<role>`` (1,000 per namespace), suffixed with a number past that; every
    ``headless_every``-th Service is headless (its endpoints carry hostnames, as a StatefulSet's do).
    """
    rng = random.Random(seed)
    nss = list(NAMESPACES[:namespaces]) + [f"team-{i}" for i in range(max(0, namespaces - len(NAMESPACES)))]
    combos = [f"{a}-{r}" for a in APPS for r in ROLES]
    out = Cluster([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "creationTimestamp": STAMP,
                    "labels": {"kubernetes.io/metadata.name": n}}} for n in nss], [], [])  # fmt: skip
    pod = 0
    for i in range(services):
        ns = nss[i % len(nss)]
        k = i // len(nss)
        name = combos[k % len(combos)] + (f"-{k // len(combos)}" if k >= len(combos) else "")
        headless = headless_every > 0 and i % headless_every == headless_every - 1
        svc = make_service(ns, name, "None" if headless else _ip(SVC_BASE, i), f"{rng.getrandbits(64):016x}")
        if headless:
            svc["spec"]["clusterIPs"] = ["None"]
        eps = []
        for _ in range(per_slice):
            eps.append(make_endpoint(rng, ns, name, _ip(POD_BASE, pod), headless, pod % 100))
            pod += 1
        out.services.append(svc)
        out.slices.append(make_slice(rng, ns, name, eps))
    return out


# -- a background event loop (the API server and the baseline's upstream run there) ----------------------


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bench-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


# -- the API server ------------------------------------------------------------------------------------


class Api:
    """kdns.testing.kubeapi's server on the background loop, with the few calls this benchmark needs."""

    def __init__(self, lt: LoopThread) -> None:
        from kdns.testing import kubeapi  # the module lands with issue 4; imported late for a clear error

        self.lt = lt
        self.mod = kubeapi
        self.server: Any = None
        self.url = ""
        self.token = "bench-token"

    def start(self, objs: list[dict[str, Any]]) -> None:
        """Start the server on 127.0.0.1 with ``objs`` in it."""

        async def go() -> None:
            self.server = self.mod.KubeAPI(token=self.token, host=HOST)
            await self.server.start()
            self.url = self.server.url

        self.lt.run(go())
        self.load(objs)

    def load(self, objs: list[dict[str, Any]]) -> None:
        """Create ``objs`` (watchers get ADDED events)."""

        async def go() -> None:
            for obj in objs:
                await self.server.add(obj)

        self.lt.run(go(), timeout=600)

    def update(self, obj: dict[str, Any]) -> None:
        """Replace ``obj`` on the server (watchers get MODIFIED); returns once it is written."""
        self.lt.run(self.server.update(obj))

    def write_kubeconfig(self, path: Path) -> None:
        self.server.write_kubeconfig(path)

    def stop(self) -> None:
        if self.server is not None:
            self.lt.run(self.server.stop())


# -- processes and measurements ------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """Seconds ``pid`` (all threads) spent on a CPU, from /proc/PID/task/*/schedstat."""
    return common.schedstat(pid)[0]


def start_kdns(name: str, corefile: Path) -> subprocess.Popen[bytes]:
    return common.start(OUT / f"{name}.log", common.kdns_cmd(corefile), corefile.parent)


def check_alive(proc: subprocess.Popen[bytes], what: str) -> None:
    if proc.poll() is not None:
        raise RuntimeError(f"kdns exited with {proc.returncode} {what} (see {OUT}/*.log)")


def wait_ready(proc: subprocess.Popen[bytes], port: int, timeout: float) -> float:
    """Poll /ready until it answers 200; the monotonic time of that answer."""
    deadline = time.monotonic() + timeout
    url = f"http://{HOST}:{port}/ready"
    while time.monotonic() < deadline:
        check_alive(proc, "before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return time.monotonic()
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"/ready did not answer 200 within {timeout:.0f}s")


def ask(port: int, qname: str, qtype: str = "A", timeout: float = 1.0) -> dns.message.Message | None:
    q = dns.message.make_query(qname, qtype)
    try:
        return dns.query.udp(q, HOST, port=port, timeout=timeout)
    except (dns.exception.Timeout, OSError):
        return None


def addresses(msg: dns.message.Message | None) -> set[str]:
    if msg is None:
        return set()
    out: set[str] = set()
    for rrset in msg.answer:
        if rrset.rdtype == dns.rdatatype.A:
            out.update(r.to_text() for r in rrset)
    return out


def wait_answer(port: int, qname: str, want: Callable[[set[str]], bool], timeout: float, interval: float) -> float:
    """Poll ``qname`` A until the addresses satisfy ``want``; the time of the first such reply."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = addresses(ask(port, qname, timeout=0.5))
        if want(got):
            return time.monotonic()
        time.sleep(interval)
    raise RuntimeError(f"{qname} did not change within {timeout:.0f}s")


@dataclass
class Perf:
    qps: float = 0.0
    sent: int = 0
    lost: int = 0
    wall: float = 0.0
    server_cpu: float = 0.0  # cores: on-CPU seconds / wall
    rcodes: str = ""

    @property
    def qps_per_core(self) -> float:
        return self.qps / self.server_cpu if self.server_cpu > 0 else 0.0


def dnsperf(label: str, port: int, queries: Path, extra: list[str], pid: int, timeout: float) -> Perf:
    cmd = common.dnsperf_cmd(HOST, port, queries, extra)
    c0, t0 = cpu_seconds(pid), time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - t0
    c1 = cpu_seconds(pid)
    text = common.dnsperf_output(OUT, label, cmd, out)
    m = re.search(r"Response codes:\s+(.*)", text)
    return Perf(
        qps=common.stat(text, "Queries per second", 0.0),
        sent=int(common.stat(text, "Queries sent", 0.0)),
        lost=int(common.stat(text, "Queries lost", 0.0)),
        wall=wall,
        server_cpu=(c1 - c0) / wall,
        rcodes=m.group(1).strip() if m else "",
    )


# -- the runs ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    key: str
    title: str
    #: the cache directive ('' for none)
    cache: str
    ttl: int | None = None


VARIANTS = {
    v.key: v
    for v in (
        Variant("corefile", "the Corefile: cache 30, kubernetes ttl 5 (default)", "cache 30"),
        Variant("nocache", "kubernetes only, no cache", ""),
        Variant("ttl30", "cache 30, kubernetes ttl 30 (kubeadm's)", "cache 30", ttl=30),
        Variant("bigcache", "cache 30 with 20000 entries, ttl 30", "cache 30 {\n        success 20000\n    }", ttl=30),
    )
}


@dataclass
class Instance:
    """What one kdns instance over the big cluster measured."""

    key: str
    title: str
    cached: bool
    sync_s: float = 0.0
    rss_mb: float = 0.0
    hwm_mb: float = 0.0
    rss_after_mb: float = 0.0
    hwm_after_mb: float = 0.0
    qps: Perf | None = None
    cache_hit_ratio: float | None = None
    change_ms: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class Results:
    machine: str = ""
    settings: str = ""
    services: int = 0
    slices: int = 0
    endpoints: int = 0
    load_s: float = 0.0
    empty_sync_s: float = 0.0
    empty_rss_mb: float = 0.0
    instances: list[Instance] = field(default_factory=list)
    hit_qps: Perf | None = None
    warm_qps: Perf | None = None
    issue3_hit_qps: float | None = None


def corefile_k8s(port: int, metrics_port: int, ready_port: int, kubeconfig_path: Path, v: Variant) -> str:
    """The benchmark's Corefile (bound to 127.0.0.1), without ``cache`` or with a ``ttl`` for the other variants."""
    ttl = f"        ttl {v.ttl}\n" if v.ttl is not None else ""
    cache = f"    {v.cache}\n" if v.cache else ""
    return (
        f".:{port} {{\n    bind {HOST}\n"
        f"    kubernetes {ZONE} in-addr.arpa ip6.arpa {{\n        kubeconfig {kubeconfig_path}\n{ttl}    }}\n"
        f"{cache}    prometheus {HOST}:{metrics_port}\n    ready {HOST}:{ready_port}\n}}\n"
    )


def corefile_forward(port: int, upstream: str) -> str:
    return f".:{port} {{\n    bind {HOST}\n    forward . {upstream}\n    cache {{\n        success 100000\n    }}\n}}\n"


def baseline(lt: LoopThread, tmp: Path, a: argparse.Namespace, res: Results) -> None:
    """forward + cache with an in-process upstream: cache-hit QPS over 10 names, warm QPS over 10,000 names."""

    def handle(query: dns.message.Message, proto: str) -> dns.message.Message:
        reply = dns.message.make_response(query)
        q = query.question[0]
        i = abs(hash(q.name.to_text())) & 0xFFFFFF
        reply.answer.append(dns.rrset.from_text(q.name, 3600, "IN", "A", _ip(10 << 24, i)))
        return reply

    up = lt.run(FakeUpstream(handler=handle).start())
    port = common.free_port(HOST)
    cf = tmp / "Corefile.forward"
    cf.write_text(corefile_forward(port, up.addr))
    (OUT / "kdns-forward-cache.Corefile").write_text(cf.read_text())
    proc = start_kdns("kdns-forward-cache", cf)
    try:
        names = [f"h{i}.{BENCH_ZONE}" for i in range(a.services)]
        hit = common.write_queries(tmp / "hit.txt", names[:HIT_NAMES])
        warm = common.write_queries(tmp / "warm.txt", names)
        deadline = time.monotonic() + 30
        while not addresses(ask(port, names[0])):
            check_alive(proc, "at startup")
            if time.monotonic() > deadline:
                raise RuntimeError("forward+cache kdns did not answer")
            time.sleep(0.1)
        for i in (1, 2):
            dnsperf(f"forward-warmup{i}", port, warm, ["-n", "1", "-c", "4", "-q", "50"], proc.pid, 120)
        load = ["-c", str(a.clients), "-q", str(a.outstanding), "-l", str(a.duration)]
        res.hit_qps = dnsperf("forward-cache-hit", port, hit, load, proc.pid, a.duration + 60)
        res.warm_qps = dnsperf("forward-cache-warm10k", port, warm, load, proc.pid, a.duration + 60)
        check_alive(proc, "during the forward+cache runs")
    finally:
        common.stop(proc)
        lt.run(up.stop())


def change_service_ip(api: Api, c: Cluster, i: int, n: int) -> tuple[str, Callable[[set[str]], bool]]:
    svc = c.services[i]
    ip = _ip(NEW_SVC_BASE, n)
    svc["spec"]["clusterIP"] = ip
    svc["spec"]["clusterIPs"] = [ip]
    api.update(svc)
    return c.qname(i), lambda got: got == {ip}


def add_endpoint(api: Api, c: Cluster, i: int, n: int, rng: random.Random) -> tuple[str, Callable[[set[str]], bool]]:
    sl = c.slices[i]
    meta = c.services[i]["metadata"]
    ip = _ip(NEW_POD_BASE, n)
    sl["endpoints"].append(make_endpoint(rng, meta["namespace"], meta["name"], ip, True, n % 100))
    sl["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"] = time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime()
    )
    api.update(sl)
    return c.qname(i), lambda got: ip in got


def changes(api: Api, c: Cluster, port: int, count: int, first: int, a: argparse.Namespace) -> dict[str, list[float]]:
    """``count`` changes, alternating a ClusterIP update and an endpoint added to a headless Service.

    Each Service is asked once before its change (so kdns has answered it), then the change is made
    through the API server and the name is polled until the reply shows it. Milliseconds, per kind.
    """
    rng = random.Random(first)
    plain = [i for i in range(len(c.services)) if not c.headless(i)]
    headless = [i for i in range(len(c.services)) if c.headless(i)]
    out: dict[str, list[float]] = {"ClusterIP update": [], "endpoint added": []}
    for n in range(count):
        kind = "ClusterIP update" if n % 2 == 0 else "endpoint added"
        pool = plain if n % 2 == 0 else headless
        i = pool[(first + n * 7919) % len(pool)]
        if not addresses(ask(port, c.qname(i))):
            raise RuntimeError(f"{c.qname(i)} has no answer before the change")
        t0 = time.monotonic()
        if n % 2 == 0:
            qname, want = change_service_ip(api, c, i, first + n)
        else:
            qname, want = add_endpoint(api, c, i, first + n, rng)
        t1 = wait_answer(port, qname, want, a.change_timeout, a.poll_interval)
        out[kind].append((t1 - t0) * 1000)
    return out


def metric_sum(text: str, name: str) -> float:
    """The sum of every sample of ``name`` (all label sets) in a Prometheus text exposition."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(None, 1)[1])
    return total


class Kdns:
    """One kdns over the API server: started, /ready waited for, stopped (a context manager)."""

    def __init__(self, label: str, tmp: Path, kc: Path, v: Variant) -> None:
        self.label = label
        self.port, self.mport, rport = common.free_port(HOST), common.free_port(HOST), common.free_port(HOST)
        self.rport = rport
        cf = tmp / f"Corefile.{label}"
        cf.write_text(corefile_k8s(self.port, self.mport, rport, kc, v))
        (OUT / f"{label}.Corefile").write_text(cf.read_text())
        self.t0 = time.monotonic()
        self.proc = start_kdns(label, cf)

    def __enter__(self) -> Kdns:
        return self

    def __exit__(self, *exc: object) -> None:
        common.stop(self.proc)

    def wait_synced(self, timeout: float) -> float:
        return wait_ready(self.proc, self.rport, timeout) - self.t0

    def rss_mb(self, key: str = "VmRSS") -> float:
        return common.status_kb(self.proc.pid, key) / 1024

    def metrics(self) -> str:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.mport}/metrics", timeout=5) as r:
                text = str(r.read().decode())
        except (urllib.error.URLError, OSError):
            return ""
        (OUT / f"{self.label}.metrics.txt").write_text(text)
        return text


def empty_run(tmp: Path, kc: Path, a: argparse.Namespace, res: Results) -> None:
    """kdns over a cluster of namespaces only: the fixed part of its memory and sync time."""
    with Kdns("kdns-empty-cluster", tmp, kc, VARIANTS["corefile"]) as k:
        res.empty_sync_s = k.wait_synced(a.sync_timeout)
        time.sleep(0.5)
        res.empty_rss_mb = k.rss_mb()


def k8s_run(api: Api, c: Cluster, tmp: Path, kc: Path, a: argparse.Namespace, v: Variant) -> Instance:
    inst = Instance(v.key, v.title, bool(v.cache))
    with Kdns(f"kdns-k8s-{v.key}", tmp, kc, v) as k:
        inst.sync_s = k.wait_synced(a.sync_timeout)
        time.sleep(0.5)  # let the sync's garbage go before reading RSS
        inst.rss_mb, inst.hwm_mb = k.rss_mb(), k.rss_mb("VmHWM")
        # Names answer with their ClusterIP (or endpoints) before anything is timed.
        for i in random.Random(1).sample(range(len(c.services)), min(50, len(c.services))):
            got = addresses(ask(k.port, c.qname(i)))
            want = {c.services[i]["spec"]["clusterIP"]} if not c.headless(i) else None
            if not got or (want is not None and got != want):
                raise RuntimeError(f"after sync {c.qname(i)} answered {got}, expected {want or 'endpoints'}")
        names = common.write_queries(tmp / "services.txt", [c.qname(i) for i in range(len(c.services))])
        dnsperf(f"{k.label}-warmup", k.port, names, ["-n", "1", "-c", "4", "-q", "50"], k.proc.pid, 120)
        text = k.metrics()
        before = metric_sum(text, "coredns_cache_hits_total"), metric_sum(text, "coredns_cache_requests_total")
        load = ["-c", str(a.clients), "-q", str(a.outstanding), "-l", str(a.duration)]
        inst.qps = dnsperf(f"{k.label}-services", k.port, names, load, k.proc.pid, a.duration + 60)
        check_alive(k.proc, "during the dnsperf runs")
        text = k.metrics()
        hits, reqs = (
            metric_sum(text, "coredns_cache_hits_total") - before[0],
            metric_sum(text, "coredns_cache_requests_total") - before[1],
        )
        inst.cache_hit_ratio = hits / reqs if v.cache and reqs > 0 else None
        inst.rss_after_mb, inst.hwm_after_mb = k.rss_mb(), k.rss_mb("VmHWM")
        count = a.changes if not v.cache else a.cached_changes if v.key == "corefile" else 0
        if count:
            inst.change_ms = changes(api, c, k.port, count, 1000 if v.cache else 0, a)
        check_alive(k.proc, "during the change runs")
        k.metrics()
    return inst


# -- report --------------------------------------------------------------------------------------------


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else 0.0


def report(res: Results) -> str:
    lines = [res.machine, res.settings, ""]

    def row(label: str, value: str, note: str = "") -> None:
        lines.append(f"{label:<56}{value:>12}  {note}".rstrip())

    def perf(label: str, p: Perf | None, extra: str = "") -> None:
        if p is not None:
            row(label, f"{p.qps:.0f}", f"{p.server_cpu:.2f} cores, {p.qps_per_core:.0f}/core, lost {p.lost}{extra}")

    row("objects", f"{res.services}+{res.slices}", f"Services + EndpointSlices, {res.endpoints} endpoints")
    row("load into kubeapi (s)", f"{res.load_s:.1f}")
    if res.empty_rss_mb:
        row("empty cluster: first sync (s) / RSS (MB)", f"{res.empty_sync_s:.2f}", f"RSS {res.empty_rss_mb:.1f} MB")
    hit = res.hit_qps.qps if res.hit_qps and res.hit_qps.qps else 0.0
    for inst in res.instances:
        lines.append(f"-- kdns: {inst.title}")
        row("  time to first sync, /ready 200 (s)", f"{inst.sync_s:.2f}", "from process start")
        verdict = "met" if 0 < inst.rss_mb <= TARGET_RSS_MB else "NOT met"
        row(
            "  RSS after sync (MB)",
            f"{inst.rss_mb:.1f}",
            f"target <= {TARGET_RSS_MB:.0f}: {verdict}; peak {inst.hwm_mb:.1f}",
        )
        row("  RSS after dnsperf (MB)", f"{inst.rss_after_mb:.1f}", f"peak {inst.hwm_after_mb:.1f}")
        ratio = f", cache hits {inst.cache_hit_ratio:.0%}" if inst.cache_hit_ratio is not None else ""
        perf(f"  service names QPS ({res.services} names)", inst.qps, ratio)
        if inst.qps and hit and res.hit_qps:
            per_core = inst.qps.qps_per_core / res.hit_qps.qps_per_core if res.hit_qps.qps_per_core else 0.0
            row(
                "  service names / forward+cache cache-hit QPS", f"{inst.qps.qps / hit:.3f}", f"per core {per_core:.3f}"
            )
        via = " via cache" if inst.cached else ""
        for kind, xs in inst.change_ms.items():
            if xs:
                row(f"  change -> new answer, {kind}{via} (ms)", f"{median(xs):.1f}",
                    f"median of {len(xs)}; min {min(xs):.1f}, max {max(xs):.1f}")  # fmt: skip
        every = [x for v in inst.change_ms.values() for x in v]
        if every:
            row(f"  change -> new answer, all{via} (ms)", f"{median(every):.1f}", f"median of {len(every)}")
    if res.hit_qps or res.warm_qps:
        lines.append("-- kdns: forward + cache (issue 3), same run")
        perf("  cache-hit QPS (10 names)", res.hit_qps)
        perf("  warm QPS (10k names)", res.warm_qps)
    if res.issue3_hit_qps:
        row("issue-3 benchmark's last kdns cache-hit QPS (file)", f"{res.issue3_hit_qps:.0f}", "another run")
    return "\n".join(lines)


def machine() -> str:
    return f"{common.host_facts()}, {common.dnsperf_version().replace('Version', 'dnsperf').strip()}"


def issue3_hit() -> float | None:
    path = ROOT / "benchmarks" / "out" / "forward_cache" / "results.json"
    try:
        data = json.loads(path.read_text())
        kdns = [r for r in data["results"] if str(r["name"]).startswith("kdns")]
        return float(kdns[0]["hit"]["qps"]) if kdns else None
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--services", type=int, default=10_000, help="Services, one EndpointSlice each (default 10000)")
    p.add_argument("--per-slice", type=int, default=5, help="endpoints per EndpointSlice (default 5)")
    p.add_argument("--namespaces", type=int, default=10, help="namespaces (default 10)")
    p.add_argument("--headless-every", type=int, default=20, help="every Nth Service is headless (default 20)")
    p.add_argument("-l", "--duration", type=int, default=8, help="seconds per dnsperf throughput run (default 8)")
    p.add_argument("-c", "--clients", type=int, default=4, help="dnsperf clients (default 4)")
    p.add_argument("-q", "--outstanding", type=int, default=200, help="dnsperf outstanding queries (default 200)")
    p.add_argument("--changes", type=int, default=20, help="timed object changes, no-cache instance (default 20)")
    p.add_argument("--cached-changes", type=int, default=4, help="timed changes through cache 30 (default 4)")
    p.add_argument("--change-timeout", type=float, default=30, help="seconds to wait for one change (default 30)")
    p.add_argument("--poll-interval", type=float, default=0.002, help="seconds between polls (default 0.002)")
    p.add_argument("--sync-timeout", type=float, default=300, help="seconds to wait for /ready (default 300)")
    p.add_argument("--variants", default="corefile,nocache,ttl30,bigcache", help="kdns instances to run, in order "
                   "(corefile: the Corefile of the docstring; nocache: without cache; ttl30: with ttl 30; bigcache: "
                   "ttl 30 and a 20000-entry cache)")  # fmt: skip
    p.add_argument("--no-baseline", action="store_true", help="skip the forward+cache cache-hit runs")
    p.add_argument("--no-empty", action="store_true", help="skip the empty-cluster instance")
    a = p.parse_args()
    variants = [VARIANTS[k] for k in a.variants.split(",") if k]
    if shutil.which("dnsperf") is None:
        print("dnsperf is not installed (apt-get install dnsperf)", file=sys.stderr)
        return 1
    if "dns.kubernetes" not in common.kdns_plugins():
        print("kdns has no kubernetes plugin (python -m kdns -plugins)", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    res = Results(machine=machine(), issue3_hit_qps=issue3_hit())
    t_start = time.monotonic()
    c = make_cluster(a.services, a.per_slice, a.namespaces, a.headless_every)
    res.services, res.slices, res.endpoints = len(c.services), len(c.slices), c.endpoints
    lt = LoopThread()
    api = Api(lt)
    try:
        with tempfile.TemporaryDirectory(prefix="kdns-k8s-scale-") as d:
            tmp = Path(d)
            if not a.no_baseline:
                baseline(lt, tmp, a, res)
            api.start(c.namespaces)
            kc = tmp / "kubeconfig"
            api.write_kubeconfig(kc)
            if not a.no_empty:
                empty_run(tmp, kc, a, res)
            t0 = time.monotonic()
            api.load([*c.services, *c.slices])
            res.load_s = time.monotonic() - t0
            for v in variants:
                res.instances.append(k8s_run(api, c, tmp, kc, a, v))
    finally:
        api.stop()
        lt.close()
    res.settings = (
        f"{a.services} Services in {a.namespaces} namespaces, {a.per_slice} endpoints per slice, every "
        f"{a.headless_every}th headless; dnsperf -c {a.clients} -q {a.outstanding} -l {a.duration}; "
        f"{time.monotonic() - t_start:.0f} s in all; benchmark process CPU "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_utime:.0f} s"
    )
    text = report(res)
    print(text)
    (OUT / "table.txt").write_text(text + "\n")
    (OUT / "results.json").write_text(json.dumps(asdict(res), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
