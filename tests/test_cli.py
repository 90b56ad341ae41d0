"""The kdns command line, run as a real process: flags, -check, default Corefile, signals, reload."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from kdns import CORE_VERSION, __version__
from kdns.testing import free_port

STOCK = Path(__file__).parent / "config" / "corefiles"
LINE = re.compile(r"^\S+:\d+: (plugin/[a-z0-9_]+: )?\S.*$")


def port_is_free(port: int) -> bool:
    """True when UDP and TCP 127.0.0.1:port can both be bound (nobody listens there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
        try:
            u.bind(("127.0.0.1", port))
            t.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """kdns run to completion."""
    return subprocess.run(
        [sys.executable, "-m", "kdns", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
    )


class Kdns:
    """A kdns process whose output lines are collected as they come."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kdns", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.pumps = [
            threading.Thread(target=self._pump, args=(stream,), daemon=True)
            for stream in (self.proc.stdout, self.proc.stderr)
        ]
        for t in self.pumps:
            t.start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, pred: Callable[[str], bool], timeout: float = 15.0) -> str:
        """The next output line (stdout or stderr) for which ``pred`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no such line; output so far: {self.seen}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(line)
            if pred(line):
                return line

    def started(self) -> None:
        self.wait_line(lambda s: s.startswith(f"kdns-{__version__}"))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=15)

    def close(self) -> None:
        """Kill the process if it still runs; close its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for t in self.pumps:
            t.join(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Kdns]]:
    procs: list[Kdns] = []

    def make(*args: str, cwd: Path = tmp_path) -> Kdns:
        k = Kdns(*args, cwd=cwd)
        procs.append(k)
        return k

    yield make
    for k in procs:
        k.close()


def ask(port: int, name: str, proto: str = "udp", timeout: float = 2.0) -> dns.message.Message:
    q = dns.message.make_query(name, "A")
    if proto == "tcp":
        return dns.query.tcp(q, "127.0.0.1", port=port, timeout=timeout)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)


def wait_answer(port: int, name: str, rcode: int, timeout: float = 10.0) -> dns.message.Message:
    """Poll until ``name`` gets ``rcode`` (for -quiet, where no log line says the server is up)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = ask(port, name, timeout=0.25)
            if r.rcode() == rcode:
                return r
        except (dns.exception.Timeout, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} never got {dns.rcode.to_text(dns.rcode.Rcode.make(rcode))}")
        time.sleep(0.05)


def block(zone: str, port: int, body: str = "whoami") -> str:
    return f"{zone}:{port} {{\n    bind 127.0.0.1\n    {body}\n}}\n"


# -- flags that exit at once ---------------------------------------------------------------------


def test_version() -> None:
    """-version prints kdns's and the CoreDNS version it follows, exit 0."""
    r = run("-version")
    assert r.returncode == 0
    assert r.stdout.startswith(f"kdns-{__version__}\nCoreDNS-{CORE_VERSION} compatible")


def test_plugins() -> None:
    """-plugins lists the installed plugins in chain order, exit 0."""
    r = run("-plugins")
    assert r.returncode == 0
    names = [s.strip() for s in r.stdout.splitlines() if s.strip().startswith("dns.")]
    assert {"dns.whoami", "dns.log", "dns.hosts"} <= set(names)
    assert names.index("dns.log") < names.index("dns.hosts") < names.index("dns.whoami")


@pytest.mark.parametrize("args", [["-nosuchflag"], ["-dns.port", "70000"], ["-p", "-1"], ["-loop", "trio"]])
def test_bad_flag_is_usage_error(args: list[str]) -> None:
    """An unknown flag or a bad flag value prints usage and exits 2."""
    r = run(*args)
    assert r.returncode == 2
    assert "usage: kdns" in r.stderr


def test_check_default_corefile(tmp_path: Path) -> None:
    """-check without -conf and without ./Corefile checks the built-in '.:53 { whoami; log }': exit 0."""
    r = run("-check", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


# -- -check ---------------------------------------------------------------------------------------


def test_check_good_corefile(tmp_path: Path) -> None:
    """-check on a valid Corefile prints no error and exits 0 without binding its port."""
    port = free_port()
    (tmp_path / "Corefile").write_text(block("example.org", port, "whoami\n    log"))
    r = run("-check", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_check_reports_every_error(tmp_path: Path) -> None:
    """-check prints one FILE:LINE line per error (parse of all blocks goes on) and exits 1."""
    corefile = tmp_path / "my.Corefile"
    corefile.write_text(
        ". {\n    nosuch\n    whoami extra\n}\n\nexample.org {\n    etcd\n}\n\ntls://. {\n    whoami\n}\n"
    )
    r = run("-check", "-conf", str(corefile))
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f"{corefile}:2: unknown directive 'nosuch'",
        f"{corefile}:3: plugin/whoami: wrong argument count or unexpected line ending",
        f"{corefile}:7: plugin/etcd: not supported by kdns yet",
        f"{corefile}:10: tls:// servers are not supported yet (only dns://)",
    ]


@pytest.mark.parametrize(
    ("text", "line", "msg"),
    [
        (". {\n    whoami\n", 1, "unclosed '{': missing '}'"),
        (". {\n    whoami\n}\n}\n", 4, "unexpected '}': expected a server block key"),
        (". {\n    import missing.conf\n}\n", 2, "import: file not found: missing.conf"),
    ],
)
def test_check_syntax_error_is_one_line(tmp_path: Path, text: str, line: int, msg: str) -> None:
    """A syntax error under -check is one line FILE:LINE: message, exit 1."""
    (tmp_path / "Corefile").write_text(text)
    r = run("-check", "-conf=Corefile", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [f"Corefile:{line}: {msg}"]


def test_check_stock_corefile() -> None:
    """-check on kubeadm's Corefile passes: every directive is set up, nothing is printed."""
    path = STOCK / "kubeadm.Corefile"
    r = run("-check", "-conf", str(path))
    assert r.stderr == ""
    assert r.returncode == 0


def test_check_empty_glob_warns(tmp_path: Path) -> None:
    """An import glob that matches nothing is a [WARNING] line; -check still exits 0."""
    (tmp_path / "Corefile").write_text(". {\n    whoami\n    import conf.d/*.conf\n}\n")
    r = run("-check", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stderr.splitlines() == ["[WARNING] Corefile:3: import: no files match conf.d/*.conf"]


def test_missing_conf_file(tmp_path: Path) -> None:
    """-conf naming a missing file is one error line, exit 1."""
    r = run("-conf", str(tmp_path / "nope"))
    assert r.returncode == 1
    assert r.stderr.splitlines() == [f"{tmp_path / 'nope'}: cannot read Corefile: No such file or directory"]


# -- serving ------------------------------------------------------------------------------------


def test_bad_corefile_binds_nothing(tmp_path: Path) -> None:
    """A bad Corefile when serving: one error line, exit 1, no banner, and the good block's port stays free."""
    port = free_port()
    (tmp_path / "Corefile").write_text(block("example.org", port) + block("example.net", port, "whoami 1"))
    r = run(cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.splitlines() == ["Corefile:7: plugin/whoami: wrong argument count or unexpected line ending"]
    assert port_is_free(port)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop", "auto"])
def test_default_corefile(loop: str, tmp_path: Path, start: Callable[..., Kdns]) -> None:
    """Without -conf and ./Corefile, kdns serves '.:PORT { whoami; log }' on -dns.port."""
    port = free_port()
    k = start("-dns.port", str(port), "-loop", loop)
    k.started()
    for proto in ("udp", "tcp"):
        r = ask(port, "example.org", proto)
        assert r.rcode() == dns.rcode.NOERROR
        a = r.find_rrset(r.additional, r.question[0].name, 1, dns.rdatatype.A)
        assert a[0].address == "127.0.0.1"
    k.wait_line(lambda s: s.startswith("[INFO] 127.0.0.1:") and '"A IN example.org. udp ' in s)
    assert k.stop() == 0


def test_short_port_flag_and_conf_in_cwd(tmp_path: Path, start: Callable[..., Kdns]) -> None:
    """./Corefile is read when -conf is absent; -p sets the port of keys without one."""
    port = free_port()
    (tmp_path / "Corefile").write_text("example.org {\n    bind 127.0.0.1\n    whoami\n}\n")
    k = start("-p", str(port))
    k.started()
    assert ask(port, "example.org").rcode() == dns.rcode.NOERROR
    assert ask(port, "example.net").rcode() == dns.rcode.REFUSED
    assert k.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_pidfile_and_graceful_stop(sig: int, tmp_path: Path, start: Callable[..., Kdns]) -> None:
    """-pidfile holds the pid while running; SIGTERM/SIGINT stop with exit 0 and remove it."""
    port = free_port()
    (tmp_path / "Corefile").write_text(block(".", port))
    pidfile = tmp_path / "run" / "kdns.pid"
    pidfile.parent.mkdir()
    k = start("-conf", "Corefile", "-pidfile", str(pidfile))
    k.started()
    assert pidfile.read_text() == f"{k.proc.pid}\n"
    assert k.stop(sig) == 0
    assert not pidfile.exists()
    assert port_is_free(port)


def test_quiet(tmp_path: Path, start: Callable[..., Kdns]) -> None:
    """-quiet prints no banner; the server still answers."""
    port = free_port()
    (tmp_path / "Corefile").write_text(block(".", port))
    k = start("-quiet")
    wait_answer(port, "example.org", dns.rcode.NOERROR)
    assert k.stop() == 0
    k.close()
    while not k.lines.empty():
        k.seen.append(k.lines.get())
    assert not any(line.startswith("kdns-") for line in k.seen)


def test_sigusr1_reloads_and_keeps_old_config_on_error(tmp_path: Path, start: Callable[..., Kdns]) -> None:
    """SIGUSR1 reloads the Corefile; a broken new Corefile is logged and the old config keeps answering."""
    port = free_port()
    corefile = tmp_path / "Corefile"
    corefile.write_text(block("example.org", port))
    k = start()
    k.started()
    assert ask(port, "example.org").rcode() == dns.rcode.NOERROR
    assert ask(port, "example.net").rcode() == dns.rcode.REFUSED

    corefile.write_text(block("example.net", port))
    k.proc.send_signal(signal.SIGUSR1)
    k.wait_line(lambda s: s == "[INFO] reloaded")
    assert ask(port, "example.net").rcode() == dns.rcode.NOERROR
    assert ask(port, "example.org").rcode() == dns.rcode.REFUSED

    corefile.write_text(block("example.org", port, "whoami {"))
    k.proc.send_signal(signal.SIGUSR1)
    err = k.wait_line(lambda s: "reload failed" in s)
    assert err.endswith("Corefile:1: unclosed '{': missing '}'")
    assert ask(port, "example.net").rcode() == dns.rcode.NOERROR
    assert ask(port, "example.org", "tcp").rcode() == dns.rcode.REFUSED
    assert k.stop() == 0


def test_sighup_is_ignored(tmp_path: Path, start: Callable[..., Kdns]) -> None:
    """SIGHUP neither stops nor reloads kdns."""
    port = free_port()
    (tmp_path / "Corefile").write_text(block(".", port))
    k = start()
    k.started()
    k.proc.send_signal(signal.SIGHUP)
    assert ask(port, "example.org").rcode() == dns.rcode.NOERROR
    assert k.proc.poll() is None
    assert k.stop() == 0


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    """A port that cannot be bound is one 'listen:' error line and exit 1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "Corefile").write_text(block(".", port))
        r = run("-quiet", cwd=tmp_path)
    assert r.returncode == 1
    assert [s for s in r.stderr.splitlines() if not s.startswith("[")] == [r.stderr.splitlines()[-1]]
    assert r.stderr.splitlines()[-1].startswith("listen: ")


def test_environment_reaches_the_corefile(tmp_path: Path) -> None:
    """{$VAR} in a key is read from the process environment."""
    (tmp_path / "Corefile").write_text("{$KDNS_TEST_ZONE} {\n    whoami\n}\n")
    r = subprocess.run(
        [sys.executable, "-m", "kdns", "-check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "KDNS_TEST_ZONE": "a..b"},
        check=False,
    )
    assert (r.returncode, r.stderr.strip()) == (1, "Corefile:1: invalid zone 'a..b': A DNS label is empty.")


def test_error_with_newline_in_a_token_is_still_one_line(tmp_path: Path) -> None:
    """A quoted multi-line directive name is reported on one line (the newline is escaped)."""
    (tmp_path / "Corefile").write_text('. {\n    "who\nami"\n}\n')
    r = run("-check", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == ["Corefile:2: unknown directive 'who\\nami'"]


def test_check_binds_nothing(tmp_path: Path) -> None:
    """-check succeeds even when the DNS and HTTP ports of the Corefile are taken: it binds no socket."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u,
    ):
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        u.bind(("127.0.0.1", port))
        body = f"whoami\n    health 127.0.0.1:{port}\n    prometheus 127.0.0.1:{port}"
        (tmp_path / "Corefile").write_text(block(".", port, body))
        r = run("-check", cwd=tmp_path)
        assert run("-quiet", cwd=tmp_path).returncode == 1  # serving it does need the ports
    assert (r.returncode, r.stderr) == (0, "")
