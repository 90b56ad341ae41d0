"""What the benchmark scripts share: server processes, unbound's config, dnsperf, /proc readings.

Imported by the scripts next to it (``python benchmarks/NAME.py`` puts this folder on sys.path).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.query

from kdns.testing import free_port

__all__ = [
    "dnsperf_cmd",
    "dnsperf_output",
    "dnsperf_version",
    "free_port",
    "host_facts",
    "kdns_cmd",
    "kdns_plugins",
    "schedstat",
    "start",
    "start_unbound",
    "stat",
    "status_kb",
    "stop",
    "unbound_server",
    "wait_answer",
    "write_queries",
]

# -- processes ----------------------------------------------------------------------------------------


def kdns_cmd(corefile: Path, *flags: str) -> list[str]:
    """The command line of a kdns process over ``corefile`` (this Python, ``-m kdns``)."""
    return [sys.executable, "-m", "kdns", "-conf", str(corefile), *flags]


def kdns_plugins() -> str:
    """What ``kdns -plugins`` lists (server types and plugins, e.g. ``dns.hosts``)."""
    out = subprocess.run([sys.executable, "-m", "kdns", "-plugins"], capture_output=True, text=True, check=True)
    return out.stdout


def start(log: Path, cmd: list[str], cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``cmd`` with its stdout and stderr going to ``log``."""
    with log.open("w") as f:
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=cwd)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate ``proc`` (kill it after 15 s) unless it has already exited."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_answer(host: str, port: int, name: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll with one A query until the server answers ``name`` (or it exits, or ``timeout`` passes).

    An answer is a reply with records in the answer or the additional section (whoami answers there).
    """
    deadline = time.monotonic() + timeout
    q = dns.message.make_query(name, "A")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            r = dns.query.udp(q, host, port=port, timeout=0.5)
        except (dns.exception.Timeout, OSError):
            time.sleep(0.1)
            continue
        if r.answer or r.additional:
            return
        time.sleep(0.1)
    raise RuntimeError(f"no answer for {name} from {host}:{port} within {timeout}s")


# -- unbound ------------------------------------------------------------------------------------------


def unbound_server(tmp: Path, host: str, port: int) -> str:
    """The start of an unbound ``server:`` section: one thread on ``host``, foreground, files in ``tmp``."""
    return f"""server:
    interface: {host}
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
"""


def start_unbound(conf: Path, log: Path, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Check ``conf`` with unbound-checkconf, then run unbound over it in the foreground."""
    subprocess.run(["unbound-checkconf", str(conf)], check=True, capture_output=True)
    return start(log, ["unbound", "-d", "-c", str(conf)], cwd)


# -- dnsperf ------------------------------------------------------------------------------------------


def write_queries(path: Path, names: list[str]) -> Path:
    """A dnsperf query file: one ``NAME A`` line per name."""
    path.write_text("".join(f"{n} A\n" for n in names))
    return path


def dnsperf_cmd(host: str, port: int, queries: Path, extra: list[str]) -> list[str]:
    """dnsperf against ``host:port`` over the query file, 2 s query timeout, then ``extra``."""
    return ["dnsperf", "-s", host, "-p", str(port), "-d", str(queries), "-t", "2", *extra]


def dnsperf_output(out_dir: Path, label: str, cmd: list[str], done: subprocess.CompletedProcess[str]) -> str:
    """Keep a finished dnsperf run's output as ``out_dir/dnsperf-LABEL.txt``; its stdout, or raise if it failed."""
    (out_dir / f"dnsperf-{label}.txt").write_text(" ".join(cmd) + "\n" + done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"dnsperf failed for {label}:\n{done.stdout}{done.stderr}")
    return done.stdout


def stat(text: str, key: str, default: float | None = None) -> float:
    """The number after ``key:`` in dnsperf's statistics (``Queries sent``, ``Run time (s)``).

    Raises when it is missing, unless a ``default`` is given.
    """
    m = re.search(re.escape(key) + r":\s+([\d.]+)", text)
    if m is not None:
        return float(m.group(1))
    if default is not None:
        return default
    raise RuntimeError(f"dnsperf output has no {key!r}:\n{text}")


def dnsperf_version() -> str:
    """dnsperf's ``Version x.y.z`` line from its help, '' when it prints none."""
    out = subprocess.run(["dnsperf", "-h"], capture_output=True, text=True, timeout=10)
    return next((x for x in (out.stdout + out.stderr).splitlines() if x.startswith("Version ")), "")


# -- /proc --------------------------------------------------------------------------------------------


def schedstat(pid: int, children: bool = False) -> tuple[float, float]:
    """(on-CPU, waiting-for-CPU) seconds of ``pid``'s threads, with its live descendants if ``children``.

    From /proc/PID/task/TID/schedstat: nanoseconds on a CPU (user and kernel, the same quantity as
    utime+stime of /proc/PID/stat but measured rather than sampled once per clock tick), then
    nanoseconds runnable but waiting for a CPU (other processes had them). (0, 0) once it is gone.
    """
    run = wait = 0.0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            fields = (task / "schedstat").read_text().split()
            run += int(fields[0]) / 1e9
            wait += int(fields[1]) / 1e9
            if children:
                for child in (task / "children").read_text().split():
                    r, w = schedstat(int(child), children=True)
                    run, wait = run + r, wait + w
    except (FileNotFoundError, ProcessLookupError):
        pass
    return run, wait


def status_kb(pid: int, key: str) -> int:
    """A ``kB`` field of /proc/PID/status (VmRSS, VmHWM), 0 when gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def host_facts() -> str:
    """``N CPUs (model), Linux RELEASE, Python VERSION`` for a report's first line."""
    return f"{os.cpu_count()} CPUs ({cpu_model()}), Linux {platform.release()}, Python {platform.python_version()}"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"
