#!/usr/bin/env python3
"""kdns (hosts plugin) against unbound (local-data) under dnsperf, on 127.0.0.x only.

Starts kdns answering the same A records from inline ``hosts`` entries (``whoami`` until the hosts
plugin is installed), once per event loop, and unbound with them as ``local-data``; runs dnsperf for
a fixed time against each and prints queries per second, latency, and the ratio kdns/unbound.
Raw outputs go to benchmarks/out/. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import common

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
ZONE = "bench.example."
KDNS_HOST = "127.0.0.1"
UNBOUND_HOST = "127.0.0.2"


@dataclass
class Result:
    name: str
    qps: float
    avg_ms: float
    stddev_ms: float
    lost: int
    sent: int


def records(n: int) -> list[tuple[str, str]]:
    return [(f"host{i}.{ZONE}", f"10.0.{i // 256}.{i % 256}") for i in range(n)]


def kdns_corefile(port: int, recs: list[tuple[str, str]], plugin: str, bind: bool) -> str:
    lines = [f"{ZONE}:{port} {{"]
    if bind:
        lines.append(f"    bind {KDNS_HOST}")
    if plugin == "hosts":
        lines.append("    hosts {")
        lines += [f"        {ip} {name}" for name, ip in recs]
        lines.append("    }")
    else:
        lines.append("    whoami")
    lines.append("}")
    return "\n".join(lines) + "\n"


def unbound_conf(tmp: Path, port: int, recs: list[tuple[str, str]]) -> str:
    data = "\n".join(f'    local-data: "{name} 3600 IN A {ip}"' for name, ip in recs)
    local = f"""    local-zone: "{ZONE}" static
{data}
remote-control:
    control-enable: no
"""
    return common.unbound_server(tmp, UNBOUND_HOST, port) + local


def dnsperf(host: str, port: int, queries: Path, args: argparse.Namespace, label: str) -> Result:
    load = ["-l", str(args.duration), "-c", str(args.clients), "-q", str(args.outstanding)]
    cmd = common.dnsperf_cmd(host, port, queries, load)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 60)
    return parse_dnsperf(label, common.dnsperf_output(OUT, label, cmd, done))


def parse_dnsperf(label: str, text: str) -> Result:
    return Result(
        label,
        qps=common.stat(text, "Queries per second"),
        avg_ms=common.stat(text, "Average Latency (s)") * 1000,
        stddev_ms=common.stat(text, "Latency StdDev (s)") * 1000,
        lost=int(common.stat(text, "Queries lost")),
        sent=int(common.stat(text, "Queries sent")),
    )


def run_kdns(loop: str, tmp: Path, recs: list[tuple[str, str]], queries: Path, args: argparse.Namespace) -> Result:
    listed = common.kdns_plugins()
    plugin = "hosts" if "dns.hosts" in listed else "whoami"
    port = common.free_port(KDNS_HOST)
    corefile = tmp / f"Corefile.{loop}"
    corefile.write_text(kdns_corefile(port, recs, plugin, bind="dns.bind" in listed))
    proc = common.start(OUT / f"kdns-{loop}.log", common.kdns_cmd(corefile, "-loop", loop, "-quiet"), tmp)
    try:
        common.wait_answer(KDNS_HOST, port, recs[0][0], proc, timeout=15)
        r = dnsperf(KDNS_HOST, port, queries, args, f"kdns-{loop}")
        r.name = f"kdns {plugin} ({loop})"
        return r
    finally:
        common.stop(proc)


def run_unbound(tmp: Path, recs: list[tuple[str, str]], queries: Path, args: argparse.Namespace) -> Result:
    port = common.free_port(UNBOUND_HOST)
    conf = tmp / "unbound.conf"
    conf.write_text(unbound_conf(tmp, port, recs))
    proc = common.start_unbound(conf, OUT / "unbound.log")
    try:
        common.wait_answer(UNBOUND_HOST, port, recs[0][0], proc, timeout=15)
        r = dnsperf(UNBOUND_HOST, port, queries, args, "unbound")
        r.name = "unbound (local-data)"
        return r
    finally:
        common.stop(proc)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-l", "--duration", type=int, default=10, help="seconds per dnsperf run (default 10)")
    p.add_argument("-c", "--clients", type=int, default=4, help="dnsperf clients (sockets) (default 4)")
    p.add_argument("-q", "--outstanding", type=int, default=200, help="dnsperf outstanding queries (default 200)")
    p.add_argument("-n", "--records", type=int, default=100, help="A records served (default 100)")
    p.add_argument("--loops", default="asyncio,uvloop", help="kdns event loops to run (default asyncio,uvloop)")
    args = p.parse_args()
    for tool in ("dnsperf", "unbound", "unbound-checkconf"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (apt-get install dnsperf unbound)", file=sys.stderr)
            return 1
    OUT.mkdir(parents=True, exist_ok=True)
    recs = records(args.records)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="kdns-bench-") as d:
        tmp = Path(d)
        queries = common.write_queries(tmp / "queries.txt", [name for name, _ in recs])
        base = run_unbound(tmp, recs, queries, args)
        for loop in args.loops.split(","):
            results.append(run_kdns(loop, tmp, recs, queries, args))
    print(f"dnsperf -l {args.duration} -c {args.clients} -q {args.outstanding}, {args.records} names, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'server':<28} {'QPS':>10} {'avg ms':>8} {'sd ms':>8} {'lost':>6} {'kdns/unbound':>13}")
    for r in [base, *results]:
        ratio = f"{r.qps / base.qps:13.3f}" if r is not base else f"{'1.000':>13}"
        print(f"{r.name:<28} {r.qps:10.0f} {r.avg_ms:8.3f} {r.stddev_ms:8.3f} {r.lost:6d} {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
