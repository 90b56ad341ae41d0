"""A real kdns process on a looping Corefile exits with status 1 and logs the loop (default settings)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from kdns.testing import free_port, require_plugins

#: kdns's own CLI with a ``relay`` directive that sends every query back to the listener it came in on
RELAY_MAIN = textwrap.dedent(
    """
    import sys

    import dns.asyncquery

    from kdns.cli import main
    from kdns.testing.instance import test_plugin


    class Relay:
        name = "relay"

        def __init__(self, nxt):
            self.next = nxt

        async def serve_dns(self, w, req):
            reply = await dns.asyncquery.udp(req.msg, "127.0.0.1", port=req.local[1], timeout=2)
            await w.write_msg(reply)
            return reply.rcode()


    with test_plugin("relay", lambda c: c.add_plugin(Relay)):
        sys.exit(main(sys.argv[1:]))
    """
)


def run(args: list[str], corefile: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "Corefile"
    path.write_text(corefile)
    return subprocess.run(
        [sys.executable, *args, "-conf", str(path)], capture_output=True, text=True, timeout=30, check=False
    )


def assert_loop_exit(p: subprocess.CompletedProcess[str], port: int) -> None:
    assert p.returncode == 1, p.stderr
    lines = [line for line in p.stderr.splitlines() if "plugin/loop" in line]
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("[CRITICAL] plugin/loop: Loop (127.0.0.1:"), lines
    assert f" -> :{port}) detected for zone " in lines[0]
    assert 'see https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO ' in lines[0]


def test_relay_loop_exits_1(tmp_path: Path) -> None:
    """kdns's CLI with a block relaying to itself: the loop is logged and the process exits with status 1."""
    script = tmp_path / "relay_main.py"
    script.write_text(RELAY_MAIN)
    port = free_port()
    p = run([str(script)], f".:{port} {{\n    loop\n    relay\n}}\n", tmp_path)
    assert_loop_exit(p, port)


def test_forward_loop_exits_1(tmp_path: Path) -> None:
    """``python -m kdns`` with ``forward . 127.0.0.1:<own port>`` exits with status 1 and the loop line."""
    require_plugins("forward")
    port = free_port()
    p = run(["-m", "kdns"], f".:{port} {{\n    loop\n    forward . 127.0.0.1:{port}\n}}\n", tmp_path)
    assert_loop_exit(p, port)
