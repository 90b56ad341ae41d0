"""A pod's view with a real resolver: glibc in a network namespace, kdns on 127.0.0.1:53 inside it.

The test makes a network namespace with a pod's resolv.conf (``search prod.svc.cluster.local
svc.cluster.local cluster.local``, ``options ndots:5``, ``nameserver 127.0.0.1``) and runs, inside
it, kdns serving cluster.local from a manifest (``kubernetes ... { objects ... }``) and forwarding
everything else to a fake upstream that knows ``github.com``. ``getent hosts`` (glibc) then resolves
short names through the search path. In the manifest the client, 127.0.0.1 in the namespace, is a
pod in ``prod``, so with ``autopath @kubernetes`` an external name takes one query instead of the
walk. kdns's *log* plugin lines say what kdns received.

Needs root and iproute2 (``ip netns``); skipped otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kdns.testing import kubeobjects as k
from kdns.testing.kubecluster import POD_VIEW, manifest

IP = shutil.which("ip")
GETENT = shutil.which("getent")
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or IP is None or GETENT is None,
    reason="needs root, iproute2 (ip netns) and getent to make a network namespace and resolve in it",
)

RESOLV = "search prod.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\nnameserver 127.0.0.1\n"
HOSTS = "127.0.0.1 localhost\n::1 localhost\n"
NSSWITCH = "hosts: files dns\n"
MANIFEST = manifest([k.namespace("prod"), k.namespace("staging"), *POD_VIEW])
#: a FakeUpstream in the namespace that knows github.com; prints its port once it listens
UPSTREAM = """\
import asyncio
from kdns.testing import FakeUpstream

async def main() -> None:
    up = FakeUpstream(records={
        ("github.com.", "A"): ["github.com. 60 IN A 192.0.2.10"],
        ("github.com.", "AAAA"): ["github.com. 60 IN AAAA 2001:db8::10"],
    })
    await up.start()
    print(up.port, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""
COREFILE = """\
.:53 {{
    bind 127.0.0.1
    log
    {autopath}
    kubernetes cluster.local {{
        objects cluster.yaml
        pods verified
    }}
    forward . 127.0.0.1:{upstream}
}}
"""
#: the question of a log plugin line: "TYPE CLASS NAME PROTO ..."
QUESTION = re.compile(r'"(\S+) IN (\S+) (?:udp|tcp) ')


class Netns:
    """A network namespace with a pod's resolv.conf, and processes run inside it."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.workdir = workdir
        self.procs: list[asyncio.subprocess.Process] = []

    def cmd(self, *args: str) -> list[str]:
        assert IP is not None
        return [IP, "netns", "exec", self.name, *args]

    async def spawn(self, *args: str) -> asyncio.subprocess.Process:
        """Start ``args`` in the namespace, stdout and stderr piped; stopped when the namespace goes."""
        p = await asyncio.create_subprocess_exec(
            *self.cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.workdir
        )
        self.procs.append(p)
        return p

    async def getent(self, name: str) -> tuple[int, str]:
        """``getent hosts NAME`` in the namespace: exit code and output."""
        assert GETENT is not None
        p = await asyncio.create_subprocess_exec(
            *self.cmd(GETENT, "hosts", name), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        async with asyncio.timeout(20):
            out, _ = await p.communicate()
        return p.returncode or 0, out.decode()

    async def stop_all(self) -> None:
        for p in self.procs:
            if p.returncode is None:
                p.terminate()
                try:
                    async with asyncio.timeout(5):
                        await p.wait()
                except TimeoutError:
                    p.kill()
                    await p.wait()


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    assert IP is not None
    return subprocess.run([IP, *args], capture_output=True, text=True, timeout=10, check=False)


@contextlib.contextmanager
def _namespace(workdir: Path) -> Iterator[Netns]:
    name = f"kdns-test-{secrets.token_hex(4)}"
    etc = Path("/etc/netns") / name
    made_root = not etc.parent.exists()
    r = _ip("netns", "add", name)
    if r.returncode != 0:
        pytest.skip(f"ip netns add failed: {r.stderr.strip()}")
    try:
        etc.mkdir(parents=True)
        (etc / "resolv.conf").write_text(RESOLV)
        (etc / "hosts").write_text(HOSTS)
        (etc / "nsswitch.conf").write_text(NSSWITCH)
        r = _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        if r.returncode != 0:
            pytest.skip(f"cannot bring up lo in the namespace: {r.stderr.strip()}")
        yield Netns(name, workdir)
    finally:
        _ip("netns", "del", name)
        shutil.rmtree(etc, ignore_errors=True)
        if made_root:
            with contextlib.suppress(OSError):
                etc.parent.rmdir()


@pytest.fixture
async def netns(tmp_path: Path) -> AsyncIterator[Netns]:
    with _namespace(tmp_path) as ns:
        try:
            yield ns
        finally:
            await ns.stop_all()


async def _line(stream: asyncio.StreamReader | None) -> str:
    """The next line of a child's stdout; '' when it exited."""
    assert stream is not None
    async with asyncio.timeout(20):
        line = await stream.readline()
    return line.decode().strip()


class Kdns:
    """kdns running in the namespace; its log plugin's questions collected from stderr."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.questions: list[tuple[str, str]] = []
        self.lines: list[str] = []
        self._seen = asyncio.Event()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            text = line.decode()
            self.lines.append(text)
            m = QUESTION.search(text)
            if m:
                self.questions.append((m.group(1), m.group(2).lower()))
                self._seen.set()

    async def logged(self, qname: str) -> None:
        """Wait until kdns has logged a query for ``qname``."""
        async with asyncio.timeout(10):
            while not any(n == qname for _, n in self.questions):
                self._seen.clear()
                await self._seen.wait()

    def asked(self, prefix: str) -> list[tuple[str, str]]:
        """The (type, name) of each query kdns received for a name starting with ``prefix``, in order."""
        return [(t, n) for t, n in self.questions if n.startswith(prefix)]


async def start(ns: Netns, autopath: bool) -> Kdns:
    """The fake upstream and kdns, both in ``ns``; returns once kdns listens."""
    up = await ns.spawn(sys.executable, "-c", UPSTREAM)
    port = await _line(up.stdout)
    if not port:
        assert up.stderr is not None
        pytest.fail("the fake upstream did not start: " + (await up.stderr.read()).decode())
    (ns.workdir / "cluster.yaml").write_text(MANIFEST)
    corefile = COREFILE.format(autopath="autopath @kubernetes" if autopath else "", upstream=int(port))
    (ns.workdir / "Corefile").write_text(corefile)
    proc = await ns.spawn(sys.executable, "-m", "kdns", "-conf", str(ns.workdir / "Corefile"))
    k = Kdns(proc)
    banner = await _line(proc.stdout)
    if not banner.startswith("kdns-"):
        async with asyncio.timeout(10):
            await proc.wait()
            await k.reader
        pytest.fail(f"kdns did not start:\n{banner}\n{''.join(k.lines)}")
    return k


async def done(ns: Netns, k: Kdns) -> None:
    """Every query sent so far is logged: a marker query (absolute name, no search) is logged after them."""
    await ns.getent("marker.invalid.")
    await k.logged("marker.invalid.")


async def test_short_names_resolve_through_the_search_path(netns: Netns) -> None:
    """glibc's getent resolves ``web``, ``web.prod`` and ``web.staging`` by the pod's search path, and
    github.com by walking it to the upstream: one query per search element before the name itself."""
    k = await start(netns, autopath=False)
    for name, ip, fqdn in [
        ("web", "10.96.10.20", "web.prod.svc.cluster.local"),
        ("web.prod", "10.96.10.20", "web.prod.svc.cluster.local"),
        ("web.staging", "10.96.20.20", "web.staging.svc.cluster.local"),
    ]:
        rc, out = await netns.getent(name)
        assert rc == 0, (name, out)
        assert out.split()[:2] == [ip, fqdn], (name, out)
    rc, out = await netns.getent("github.com")
    assert rc == 0, out
    assert out.split()[0] == "2001:db8::10", out
    await done(netns, k)
    assert k.asked("github.com.") == [
        ("AAAA", "github.com.prod.svc.cluster.local."),
        ("AAAA", "github.com.svc.cluster.local."),
        ("AAAA", "github.com.cluster.local."),
        ("AAAA", "github.com."),
    ]


async def test_autopath_answers_an_external_name_in_one_query(netns: Netns) -> None:
    """With ``autopath @kubernetes`` and the client a pod in prod, getent github.com needs one query:
    kdns walks the search path itself and answers with a CNAME to github.com and its address.
    Cluster names still resolve as before."""
    k = await start(netns, autopath=True)
    rc, out = await netns.getent("github.com")
    assert rc == 0, out
    assert out.split()[0] == "2001:db8::10", out
    rc, out = await netns.getent("web")
    assert rc == 0, out
    assert out.split()[:2] == ["10.96.10.20", "web.prod.svc.cluster.local"], out
    rc, out = await netns.getent("web.staging")
    assert rc == 0, out
    assert out.split()[:2] == ["10.96.20.20", "web.staging.svc.cluster.local"], out
    await done(netns, k)
    assert k.asked("github.com.") == [("AAAA", "github.com.prod.svc.cluster.local.")]
