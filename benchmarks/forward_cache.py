#!/usr/bin/env python3
"""kdns (forward + cache) against unbound and dnsmasq as caching forwarders, under dnsperf, on 127.0.0.x only.

Starts nsd as the authoritative upstream for a generated zone (N names plus a wildcard for cache
misses) and, each on its own loopback address, the caching forwarders pointing at it: kdns
(``forward`` + ``cache``, one process per event loop), unbound (forward-zone ".", one thread) and
dnsmasq (``server=``, ``no-resolv``). Measures, one server at a time and interleaved: cache-hit QPS,
warm QPS over 10,000 names, all-miss QPS (every query a name never asked before), latency
percentiles at a fixed rate, and the CPU the server, the upstream and dnsperf used. Prints one
table with the ratios kdns/unbound and kdns/dnsmasq; raw outputs go to
benchmarks/out/forward_cache/. See benchmarks/README.md and docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import common
import dns.version

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "forward_cache"
ZONE = "bench.example."
MISS = f"miss.{ZONE}"
UPSTREAM_HOST = "127.0.0.10"
UNBOUND_HOST = "127.0.0.2"
DNSMASQ_HOST = "127.0.0.3"
KDNS_HOSTS = {"uvloop": "127.0.0.1", "asyncio": "127.0.0.4"}
WARM_NAMES = 10_000
HIT_NAMES = 10


@dataclass
class Run:
    """One dnsperf run against one server, with the CPU every process used during it."""

    qps: float = 0.0
    sent: int = 0
    completed: int = 0
    lost: int = 0
    runtime: float = 0.0  # dnsperf's run time: while it sent queries (without its final wait for late replies)
    # CPU in cores: CPU seconds over the whole dnsperf run divided by ``runtime``
    server_cpu: float = 0.0
    server_cpu_s: float = 0.0
    server_wait: float = 0.0  # cores' worth of time the server was runnable but waited for a CPU
    upstream_cpu: float = 0.0
    dnsperf_cpu: float = 0.0
    machine_cpu: float = 0.0  # busy cores of the whole machine (/proc/stat), everything, averaged over the run
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    exhausted: bool = False  # dnsperf reached the end of a -n 1 query file before the time limit

    @property
    def qps_per_core(self) -> float:
        """Answered queries per second of the server's CPU time: its QPS with one core to itself."""
        return self.completed / self.server_cpu_s if self.server_cpu_s > 0 else 0.0


@dataclass
class Result:
    name: str
    runs: dict[str, list[Run]] = field(default_factory=dict)  # by kind, one per round
    profiles: dict[str, str] = field(default_factory=dict)


# -- processes ----------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(on-CPU, waiting-for-CPU) seconds of ``pid``, its threads and live descendants (nsd forks its workers)."""
    return common.schedstat(pid, children=True)


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs from /proc/stat: idle and iowait are not busy."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - fields[3] - fields[4], total


def start(name: str, cmd: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    return common.start(OUT / f"{name}.log", cmd, cwd)


# -- upstream -----------------------------------------------------------------------------------------


def zone_text(n: int) -> str:
    lines = [
        "$TTL 3600",
        f"{ZONE} IN SOA ns.{ZONE} hostmaster.{ZONE} 1 3600 600 86400 3600",
        f"{ZONE} IN NS ns.{ZONE}",
        f"ns.{ZONE} IN A {UPSTREAM_HOST}",
        f"*.{MISS} IN A 10.255.0.1",
    ]
    lines += [f"h{i}.{ZONE} IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(n)]
    return "\n".join(lines) + "\n"


def nsd_conf(tmp: Path, port: int) -> str:
    return f"""server:
    ip-address: {UPSTREAM_HOST}
    port: {port}
    server-count: 1
    database: ""
    zonelistfile: "{tmp}/zone.list"
    xfrdfile: "{tmp}/xfrd.state"
    pidfile: "{tmp}/nsd.pid"
    username: ""
    chroot: ""
    zonesdir: "{tmp}"
    verbosity: 0
    do-ip6: no
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: {ZONE}
    zonefile: bench.zone
"""


def start_nsd(tmp: Path, names: int) -> tuple[subprocess.Popen[bytes], int]:
    port = common.free_port(UPSTREAM_HOST)
    (tmp / "bench.zone").write_text(zone_text(names))
    conf = tmp / "nsd.conf"
    conf.write_text(nsd_conf(tmp, port))
    subprocess.run(["nsd-checkconf", str(conf)], check=True, capture_output=True)
    proc = start("nsd", ["nsd", "-d", "-c", str(conf)], tmp)
    common.wait_answer(UPSTREAM_HOST, port, f"h0.{ZONE}", proc, timeout=20)
    return proc, port


# -- forwarders ---------------------------------------------------------------------------------------


def kdns_corefile(host: str, port: int, upstream: str, capacity: int) -> str:
    return f""".:{port} {{
    bind {host}
    forward . {upstream}
    cache {{
        success {capacity}
        denial {capacity}
    }}
}}
"""


def unbound_conf(tmp: Path, port: int, upstream: str) -> str:
    forward = f"""    do-not-query-localhost: no
    msg-cache-size: 128m
    rrset-cache-size: 256m
    num-queries-per-thread: 4096
    outgoing-range: 8192
forward-zone:
    name: "."
    forward-addr: {upstream}
remote-control:
    control-enable: no
"""
    return common.unbound_server(tmp, UNBOUND_HOST, port) + forward


def dnsmasq_conf(tmp: Path, port: int, upstream: str, capacity: int) -> str:
    return f"""port={port}
listen-address={DNSMASQ_HOST}
bind-interfaces
no-resolv
no-hosts
no-poll
server={upstream}
cache-size={capacity}
dns-forward-max=1000
user=root
pid-file={tmp}/dnsmasq.pid
log-facility=-
"""


def start_kdns(
    loop: str, tmp: Path, upstream: tuple[str, int], capacity: int
) -> tuple[subprocess.Popen[bytes], str, int]:
    host = KDNS_HOSTS[loop]
    port = common.free_port(host)
    corefile = tmp / f"Corefile.{loop}"
    corefile.write_text(kdns_corefile(host, port, f"{upstream[0]}:{upstream[1]}", capacity))
    return start(f"kdns-{loop}", common.kdns_cmd(corefile, "-loop", loop, "-quiet"), tmp), host, port


def start_unbound(tmp: Path, upstream: tuple[str, int]) -> tuple[subprocess.Popen[bytes], str, int]:
    port = common.free_port(UNBOUND_HOST)
    conf = tmp / "unbound.conf"
    conf.write_text(unbound_conf(tmp, port, f"{upstream[0]}@{upstream[1]}"))
    return common.start_unbound(conf, OUT / "unbound.log", tmp), UNBOUND_HOST, port


def start_dnsmasq(tmp: Path, upstream: tuple[str, int], capacity: int) -> tuple[subprocess.Popen[bytes], str, int]:
    port = common.free_port(DNSMASQ_HOST)
    conf = tmp / "dnsmasq.conf"
    conf.write_text(dnsmasq_conf(tmp, port, f"{upstream[0]}#{upstream[1]}", capacity))
    subprocess.run(["dnsmasq", "--test", "-C", str(conf)], check=True, capture_output=True)
    return start("dnsmasq", ["dnsmasq", "-k", "-C", str(conf)], tmp), DNSMASQ_HOST, port


# -- dnsperf ------------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return float("nan")
    k = max(0, min(len(values) - 1, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


def dnsperf(
    label: str, host: str, port: int, queries: Path, extra: list[str], pids: tuple[int, int], timeout: float
) -> Run:
    """One dnsperf run; CPU of the server (pids[0]) and upstream (pids[1]) sampled around it."""
    cmd = common.dnsperf_cmd(host, port, queries, extra)
    before = (cpu_seconds(pids[0]), cpu_seconds(pids[1]), resource.getrusage(resource.RUSAGE_CHILDREN))
    m0 = machine_ticks()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    after = (cpu_seconds(pids[0]), cpu_seconds(pids[1]), resource.getrusage(resource.RUSAGE_CHILDREN))
    m1 = machine_ticks()
    text = common.dnsperf_output(OUT, label, cmd, out)
    perf_cpu = (after[2].ru_utime + after[2].ru_stime) - (before[2].ru_utime + before[2].ru_stime)
    runtime = common.stat(text, "Run time (s)")
    cpu = after[0][0] - before[0][0]
    run = Run(
        qps=common.stat(text, "Queries per second"),
        sent=int(common.stat(text, "Queries sent")),
        completed=int(common.stat(text, "Queries completed")),
        lost=int(common.stat(text, "Queries lost")),
        runtime=runtime,
        server_cpu=cpu / runtime,
        server_cpu_s=cpu,
        server_wait=(after[0][1] - before[0][1]) / runtime,
        upstream_cpu=(after[1][0] - before[1][0]) / runtime,
        dnsperf_cpu=perf_cpu / runtime,
        machine_cpu=(m1[0] - m0[0]) / max(1, m1[1] - m0[1]) * (os.cpu_count() or 1),  # over the whole window
        exhausted="end of file" in text and "-n" in extra,
    )
    if "-v" in extra:
        lat = sorted(float(line.rsplit(None, 1)[1]) * 1000 for line in text.splitlines() if is_answer(line))
        run.p50_ms, run.p99_ms = percentile(lat, 50), percentile(lat, 99)
    return run


def is_answer(line: str) -> bool:
    """A dnsperf -v line for an answered query: ``> NOERROR name type seconds``."""
    if not line.startswith("> "):
        return False
    try:
        float(line.rsplit(None, 1)[1])
    except ValueError:
        return False
    return True


@dataclass
class Files:
    hit: Path
    warm: Path
    miss: list[Path]  # one per round: names never asked before
    miss_latency: list[Path]
    miss_profile: Path


@dataclass
class Server:
    """A started forwarder and what was measured on it."""

    name: str
    proc: subprocess.Popen[bytes]
    host: str
    port: int
    result: Result = field(init=False)

    def __post_init__(self) -> None:
        self.result = Result(self.name)

    @property
    def label(self) -> str:
        return self.name.replace(" ", "-").replace("(", "").replace(")", "")


KINDS = ("hit", "warm", "miss", "lat_hit", "lat_miss")


def warm_up(s: Server, f: Files, upstream_pid: int) -> None:
    """Two passes over the 10k names fill the cache (the second catches any loss in the first)."""
    common.wait_answer(s.host, s.port, f"h0.{ZONE}", s.proc, timeout=20)
    for i in (1, 2):
        args = ["-n", "1", "-c", "4", "-q", "50"]
        dnsperf(f"{s.label}-warmup{i}", s.host, s.port, f.warm, args, (s.proc.pid, upstream_pid), 120)


def measure(s: Server, kind: str, rnd: int, f: Files, upstream_pid: int, a: argparse.Namespace) -> None:
    """One run of ``kind`` against ``s`` in round ``rnd``."""
    load = ["-c", str(a.clients), "-q", str(a.outstanding), "-l", str(a.duration)]
    fixed = ["-c", "4", "-q", "200", "-Q", str(a.rate), "-l", str(a.latency_duration), "-v"]
    queries, args = {
        "hit": (f.hit, load),
        "warm": (f.warm, load),
        "miss": (f.miss[rnd], [*load, "-n", "1"]),
        "lat_hit": (f.warm, fixed),
        "lat_miss": (f.miss_latency[rnd], [*fixed, "-n", "1"]),
    }[kind]
    label = f"{s.label}-{kind}-r{rnd + 1}"
    run = dnsperf(label, s.host, s.port, queries, args, (s.proc.pid, upstream_pid), a.duration + 60)
    s.result.runs.setdefault(kind, []).append(run)
    if s.proc.poll() is not None:
        raise RuntimeError(f"{s.name} exited during {label} with {s.proc.returncode}")


def profile_kdns(s: Server, f: Files, a: argparse.Namespace) -> None:
    """After the measured runs: one more hit run and one more miss run with py-spy attached."""
    load = ["-c", str(a.clients), "-q", str(a.outstanding), "-l", str(a.duration)]
    for kind, queries, args in (("hit", f.hit, load), ("miss", f.miss_profile, [*load, "-n", "1"])):
        s.result.profiles[kind] = profile(f"{s.label}-{kind}", s.proc, s.host, s.port, queries, args, a)


def profile(label: str, proc: subprocess.Popen[bytes], host: str, port: int, queries: Path, run_args: list[str],
            a: argparse.Namespace) -> str:  # fmt: skip
    """Sample kdns with py-spy during one more dnsperf run (not one of the measured ones); a summary."""
    spy_bin = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    raw = OUT / f"py-spy-{label}.txt"
    cmd = [spy_bin, "record", "--pid", str(proc.pid), "--duration", str(a.duration), "--rate", "250"]
    cmd += ["--nonblocking", "--format", "raw", "--output", str(raw)]
    spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = dnsperf(f"{label}-profiled", host, port, queries, run_args, (proc.pid, proc.pid), a.duration + 60)
    spy.wait(timeout=a.duration + 30)
    if not raw.exists():
        return f"py-spy wrote nothing ({' '.join(cmd)})"
    return f"{label}: {run.qps:.0f} QPS under py-spy\n" + summarise(raw.read_text())


def summarise(raw: str, top: int = 15) -> str:
    """Top functions by own (leaf) and by inclusive samples from py-spy's collapsed-stack output."""
    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [re.sub(r":\d+\)$", ")", fr.strip()) for fr in stack.split(";")]
        frames = [fr for fr in frames if not fr.startswith("process ") and not fr.startswith("thread ")]
        if not frames:
            continue
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for fr in set(frames):
            incl[fr] = incl.get(fr, 0) + n
    if total == 0:
        return "no samples"
    lines = [f"{total} samples; own time:"]
    lines += [f"  {c / total:6.1%}  {fr}" for fr, c in sorted(own.items(), key=lambda x: -x[1])[:top]]
    lines.append("inclusive:")
    lines += [f"  {c / total:6.1%}  {fr}" for fr, c in sorted(incl.items(), key=lambda x: -x[1])[:top]]
    return "\n".join(lines)


# -- report -------------------------------------------------------------------------------------------

ROWS: list[tuple[str, str, str, str]] = [
    # (row label, run key, attribute, format)
    ("cache-hit QPS", "hit", "qps", "{:.0f}"),
    ("cache-hit QPS per server core", "hit", "qps_per_core", "{:.0f}"),
    ("cache-hit server CPU (cores)", "hit", "server_cpu", "{:.2f}"),
    ("cache-hit server waiting for CPU (cores)", "hit", "server_wait", "{:.2f}"),
    ("cache-hit dnsperf CPU (cores)", "hit", "dnsperf_cpu", "{:.2f}"),
    ("cache-hit machine busy (cores)", "hit", "machine_cpu", "{:.2f}"),
    ("cache-hit upstream nsd CPU (cores)", "hit", "upstream_cpu", "{:.2f}"),
    ("10k-name warm QPS", "warm", "qps", "{:.0f}"),
    ("10k-name warm QPS per server core", "warm", "qps_per_core", "{:.0f}"),
    ("10k-name warm server CPU (cores)", "warm", "server_cpu", "{:.2f}"),
    ("10k-name warm server waiting for CPU", "warm", "server_wait", "{:.2f}"),
    ("all-miss QPS", "miss", "qps", "{:.0f}"),
    ("all-miss QPS per server core", "miss", "qps_per_core", "{:.0f}"),
    ("all-miss server CPU (cores)", "miss", "server_cpu", "{:.2f}"),
    ("all-miss server waiting for CPU (cores)", "miss", "server_wait", "{:.2f}"),
    ("all-miss upstream nsd CPU (cores)", "miss", "upstream_cpu", "{:.2f}"),
    ("all-miss dnsperf CPU (cores)", "miss", "dnsperf_cpu", "{:.2f}"),
    ("all-miss machine busy (cores)", "miss", "machine_cpu", "{:.2f}"),
    ("all-miss lost queries", "miss", "lost", "{:.0f}"),
    ("hit p50 ms @ fixed rate", "lat_hit", "p50_ms", "{:.3f}"),
    ("hit p99 ms @ fixed rate", "lat_hit", "p99_ms", "{:.3f}"),
    ("hit server CPU @ fixed rate", "lat_hit", "server_cpu", "{:.3f}"),
    ("miss p50 ms @ fixed rate", "lat_miss", "p50_ms", "{:.3f}"),
    ("miss p99 ms @ fixed rate", "lat_miss", "p99_ms", "{:.3f}"),
    ("miss server CPU @ fixed rate", "lat_miss", "server_cpu", "{:.3f}"),
]


def value(r: Result | None, key: str, attr: str) -> float | None:
    """The median over the rounds of one metric of one kind of run."""
    if r is None or key not in r.runs:
        return None
    return float(statistics.median(getattr(run, attr) for run in r.runs[key]))


def table(results: list[Result], kdns: Result | None, unbound: Result | None, dnsmasq: Result | None) -> str:
    names = [r.name for r in results]
    width = max(12, *(len(n) for n in names))
    head = f"{'metric':<40}" + "".join(f"{n:>{width + 2}}" for n in names)
    ratio_names = [] if kdns is None else [f"{kdns.name.split()[0]}/unbound", f"{kdns.name.split()[0]}/dnsmasq"]
    head += "".join(f"{n:>14}" for n in ratio_names)
    lines = [head]
    for label, key, attr, fmt in ROWS:
        cells = []
        for r in results:
            v = value(r, key, attr)
            cells.append(f"{'-' if v is None else fmt.format(v):>{width + 2}}")
        line = f"{label:<40}" + "".join(cells)
        if kdns is not None:
            k = value(kdns, key, attr)
            for other in (unbound, dnsmasq):
                o = value(other, key, attr)
                ok = k is not None and o is not None and o > 0 and attr != "lost"
                line += f"{k / o:14.3f}" if ok and k is not None and o is not None else f"{'-':>14}"
        lines.append(line)
    return "\n".join(lines)


def targets(kdns: Result | None, unbound: Result | None, dnsmasq: Result | None) -> list[str]:
    out: list[str] = []
    if kdns is None:
        return out
    for label, key, attr, other, goal in (
        ("cache-hit QPS kdns/unbound", "hit", "qps", unbound, 0.3),
        ("cache-hit QPS per core kdns/unbound", "hit", "qps_per_core", unbound, 0.3),
        ("all-miss QPS kdns/dnsmasq", "miss", "qps", dnsmasq, 1.0),
    ):
        k, o = value(kdns, key, attr), value(other, key, attr)
        if k is None or o is None or o == 0:
            continue
        verdict = "met" if k / o >= goal else "NOT met"
        out.append(f"{label} = {k / o:.3f} (target >= {goal}): {verdict}")
    return out


def machine() -> str:
    def version(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        except OSError:
            return "?"
        return (out.stdout + out.stderr).strip().splitlines()[0] if (out.stdout + out.stderr).strip() else "?"

    parts = [
        f"{common.host_facts()}, uvloop {uvloop_version()}, dnspython {dns.version.version}",
        version(["nsd", "-v"]),
        "unbound " + version(["unbound", "-V"]).removeprefix("Version "),
        version(["dnsmasq", "-v"]).split("  Copyright")[0],
        (common.dnsperf_version() or "Version ?").replace("Version", "dnsperf"),
    ]
    return "; ".join(parts)


def uvloop_version() -> str:
    try:
        import uvloop
    except ImportError:
        return "not installed"
    return str(uvloop.__version__)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-l", "--duration", type=int, default=8, help="seconds per throughput run (default 8)")
    p.add_argument("-c", "--clients", type=int, default=4, help="dnsperf clients (sockets) (default 4)")
    p.add_argument("-q", "--outstanding", type=int, default=200, help="dnsperf outstanding queries (default 200)")
    p.add_argument("-Q", "--rate", type=int, default=2000, help="fixed rate for the latency runs (default 2000)")
    p.add_argument("--latency-duration", type=int, default=5, help="seconds per latency run (default 5)")
    p.add_argument("-n", "--zone-names", type=int, default=20_000, help="names in the upstream zone (default 20000)")
    p.add_argument("--miss-names", type=int, default=600_000, help="unique names for the all-miss run (default 600k)")
    p.add_argument("--capacity", type=int, default=1_000_000, help="cache capacity of kdns and dnsmasq (default 1M)")
    p.add_argument("--loops", default="uvloop,asyncio", help="kdns event loops; the first is compared")
    p.add_argument("-r", "--rounds", type=int, default=1, help="rounds of all runs; the table shows medians")
    p.add_argument("--profile", action="store_true", help="after kdns's runs, sample it with py-spy (extra runs)")
    p.add_argument("--servers", default="kdns,unbound,dnsmasq", help="forwarders to run (default all three)")
    a = p.parse_args()
    for tool in ("dnsperf", "nsd", "nsd-checkconf", "unbound", "unbound-checkconf", "dnsmasq"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (apt-get install dnsperf nsd unbound dnsmasq)", file=sys.stderr)
            return 1
    if a.zone_names < WARM_NAMES:
        p.error(f"--zone-names must be at least {WARM_NAMES}")
    servers = a.servers.split(",")
    loops = [x for x in a.loops.split(",") if x]
    if "kdns" in servers:
        listed = common.kdns_plugins()
        if "dns.forward" not in listed or "dns.cache" not in listed:
            print("kdns has no forward/cache plugin yet: running unbound and dnsmasq only", file=sys.stderr)
            servers.remove("kdns")
    OUT.mkdir(parents=True, exist_ok=True)
    for old in [*OUT.glob("*.txt"), *OUT.glob("*.log"), *OUT.glob("*.json")]:
        old.unlink()  # this script's own outputs from an earlier run
    t_start = time.monotonic()
    servers_up: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="kdns-bench-") as d:
        tmp = Path(d)
        run_id = f"{os.getpid()}x{int(time.time())}"
        rounds = range(a.rounds)
        lat_names = a.rate * a.latency_duration * 2
        files = Files(
            hit=common.write_queries(tmp / "hit.txt", [f"h{i}.{ZONE}" for i in range(HIT_NAMES)]),
            warm=common.write_queries(tmp / "warm.txt", [f"h{i}.{ZONE}" for i in range(WARM_NAMES)]),
            miss=[
                common.write_queries(tmp / f"miss{r}.txt", [f"m{i}-r{r}-{run_id}.{MISS}" for i in range(a.miss_names)])
                for r in rounds
            ],
            miss_latency=[
                common.write_queries(tmp / f"misslat{r}.txt", [f"l{i}-r{r}-{run_id}.{MISS}" for i in range(lat_names)])
                for r in rounds
            ],
            miss_profile=common.write_queries(
                tmp / "missprof.txt", [f"p{i}-{run_id}.{MISS}" for i in range(a.miss_names)]
            ),
        )
        nsd, nsd_port = start_nsd(tmp, a.zone_names)
        upstream = (UPSTREAM_HOST, nsd_port)
        try:
            # All forwarders run at once, each on its own address; only the one being measured gets queries.
            if "kdns" in servers:
                for loop in loops:
                    servers_up.append(Server(f"kdns ({loop})", *start_kdns(loop, tmp, upstream, a.capacity)))
            if "unbound" in servers:
                servers_up.append(Server("unbound", *start_unbound(tmp, upstream)))
            if "dnsmasq" in servers:
                servers_up.append(Server("dnsmasq", *start_dnsmasq(tmp, upstream, a.capacity)))
            for s in servers_up:
                warm_up(s, files, nsd.pid)
            # Interleaved: each kind of run goes through every server in turn (the order reversed every other
            # round), so a change in the machine's background load hits them all rather than one.
            for rnd in rounds:
                order = servers_up if rnd % 2 == 0 else servers_up[::-1]
                for kind in KINDS:
                    for s in order:
                        measure(s, kind, rnd, files, nsd.pid, a)
            if a.profile:
                for s in servers_up:
                    if s.name.startswith("kdns"):
                        profile_kdns(s, files, a)
        finally:
            for s in servers_up:
                common.stop(s.proc)
            common.stop(nsd)
    results = [s.result for s in servers_up]
    kdns = next((r for r in results if r.name.startswith("kdns")), None)
    unbound = next((r for r in results if r.name == "unbound"), None)
    dnsmasq = next((r for r in results if r.name == "dnsmasq"), None)
    elapsed = time.monotonic() - t_start
    facts = machine()
    settings = (
        f"dnsperf -c {a.clients} -q {a.outstanding} -l {a.duration} (throughput), -Q {a.rate} -l {a.latency_duration} "
        f"(latency); upstream nsd, {a.zone_names} names; hit set {HIT_NAMES} names, warm set {WARM_NAMES}, "
        f"miss set {a.miss_names} unique names; {a.rounds} round(s), medians; {elapsed:.0f} s in all"
    )
    report = "\n".join(
        [facts, settings, "", table(results, kdns, unbound, dnsmasq), "", *targets(kdns, unbound, dnsmasq)]
    )
    exhausted = [r.name for r in results for run in r.runs.get("miss", []) if run.exhausted]
    if exhausted:
        report += f"\nwarning: the miss query file ran out before the time limit for {exhausted} (raise --miss-names)"
    for r in results:
        for kind, text in r.profiles.items():
            report += f"\n\npy-spy, {r.name}, {kind} run:\n{text}"
    print(report)
    (OUT / "table.txt").write_text(report + "\n")
    runs = [{"name": r.name, **{k: [asdict(x) for x in v] for k, v in r.runs.items()}} for r in results]
    raw = {"machine": facts, "settings": settings, "results": runs}
    (OUT / "results.json").write_text(json.dumps(raw, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
