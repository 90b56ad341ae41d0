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
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.message
import dns.query

from kdns.testing import free_port

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


def wait_answer(host: str, port: int, name: str, proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Poll with one query until the server answers ``name`` (or it exits, or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    q = dns.message.make_query(name, "A")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            r = dns.query.udp(q, host, port=port, timeout=0.5)
        except (dns.exception.Timeout, OSError):
            continue
        if r.answer or r.additional:
            return
    raise RuntimeError(f"no answer from {host}:{port} within {timeout}s")


def kdns_plugins() -> str:
    out = subprocess.run([sys.executable, "-m", "kdns", "-plugins"], capture_output=True, text=True, check=True)
    return out.stdout


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
    return f"""server:
    interface: {UNBOUND_HOST}
    port: {port}
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "{tmp}"
    pidfile: "{tmp}/unbound.pid"
    logfile: ""
    use-syslog: no
    verbosity: 0
    do-ip6: no
    num-threads: 1
    module-config: "iterator"
    access-control: 127.0.0.0/8 allow
    local-zone: "{ZONE}" static
{data}
remote-control:
    control-enable: no
"""


def dnsperf(host: str, port: int, queries: Path, args: argparse.Namespace, label: str) -> Result:
    cmd = ["dnsperf", "-s", host, "-p", str(port), "-d", str(queries), "-l", str(args.duration)]
    cmd += ["-c", str(args.clients), "-q", str(args.outstanding), "-t", "2"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 60)
    (OUT / f"dnsperf-{label}.txt").write_text(out.stdout + out.stderr)
    if out.returncode != 0:
        raise RuntimeError(f"dnsperf failed for {label}:\n{out.stdout}{out.stderr}")
    return parse_dnsperf(label, out.stdout)


def parse_dnsperf(label: str, text: str) -> Result:
    def num(pattern: str) -> float:
        m = re.search(pattern, text)
        if m is None:
            raise RuntimeError(f"dnsperf output has no {pattern!r}:\n{text}")
        return float(m.group(1))

    return Result(
        label,
        qps=num(r"Queries per second:\s+([\d.]+)"),
        avg_ms=num(r"Average Latency \(s\):\s+([\d.]+)") * 1000,
        stddev_ms=num(r"Latency StdDev \(s\):\s+([\d.]+)") * 1000,
        lost=int(num(r"Queries lost:\s+(\d+)")),
        sent=int(num(r"Queries sent:\s+(\d+)")),
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_kdns(loop: str, tmp: Path, recs: list[tuple[str, str]], queries: Path, args: argparse.Namespace) -> Result:
    listed = kdns_plugins()
    plugin = "hosts" if "dns.hosts" in listed else "whoami"
    port = free_port(KDNS_HOST)
    corefile = tmp / f"Corefile.{loop}"
    corefile.write_text(kdns_corefile(port, recs, plugin, bind="dns.bind" in listed))
    log = (OUT / f"kdns-{loop}.log").open("w")
    cmd = [sys.executable, "-m", "kdns", "-conf", str(corefile), "-loop", loop, "-quiet"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        wait_answer(KDNS_HOST, port, recs[0][0], proc)
        r = dnsperf(KDNS_HOST, port, queries, args, f"kdns-{loop}")
        r.name = f"kdns {plugin} ({loop})"
        return r
    finally:
        stop(proc)
        log.close()


def run_unbound(tmp: Path, recs: list[tuple[str, str]], queries: Path, args: argparse.Namespace) -> Result:
    port = free_port(UNBOUND_HOST)
    conf = tmp / "unbound.conf"
    conf.write_text(unbound_conf(tmp, port, recs))
    subprocess.run(["unbound-checkconf", str(conf)], check=True, capture_output=True)
    log = (OUT / "unbound.log").open("w")
    proc = subprocess.Popen(["unbound", "-d", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_answer(UNBOUND_HOST, port, recs[0][0], proc)
        r = dnsperf(UNBOUND_HOST, port, queries, args, "unbound")
        r.name = "unbound (local-data)"
        return r
    finally:
        stop(proc)
        log.close()


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
        queries = tmp / "queries.txt"
        queries.write_text("".join(f"{name} A\n" for name, _ in recs))
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
