"""Smoke test with the real ``dig`` and ``kdig`` clients against a whoami server, over UDP and TCP."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess

import pytest

from kdns.testing.instance import run_instance

# kdig says "status: NOERROR;", dig "status: NOERROR,"; both print the SRV of the transport
CLIENTS = {
    "dig": (["+tries=1", "+time=2"], "+tcp"),
    "kdig": (["+retry=0", "+time=2"], "+tcp"),
}


async def run(cmd: list[str]) -> str:
    p = await asyncio.create_subprocess_exec(*cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    async with asyncio.timeout(10):
        out, err = await p.communicate()
    assert p.returncode == 0, err.decode()
    return out.decode()


@pytest.mark.parametrize("proto", ["udp", "tcp"])
@pytest.mark.parametrize("client", sorted(CLIENTS))
async def test_client_gets_whoami_answer(client: str, proto: str) -> None:
    """dig and kdig get NOERROR with AA, the client's address and the transport's SRV in the additional section."""
    binary = shutil.which(client)
    if binary is None:
        pytest.skip(f"{client} is not installed")
    opts, tcp = CLIENTS[client]
    async with run_instance(".:0 {\n whoami\n}\n") as inst:
        cmd = [binary, "@127.0.0.1", "-p", str(inst.port), "example.org", "A", *opts]
        out = await run([*cmd, tcp] if proto == "tcp" else cmd)
    assert re.search(r"status: NOERROR\b", out), out
    assert re.search(r"(?i)flags: qr aa rd\b", out), out
    assert re.search(r"ANSWER: 0\b", out), out
    assert re.search(r"(?m)^example\.org\.\s+0\s+IN\s+A\s+127\.0\.0\.1$", out), out
    srv = re.search(rf"(?m)^_{proto}\.example\.org\.\s+0\s+IN\s+SRV\s+0 0 (\d+) \.$", out)
    assert srv, out
    assert 0 < int(srv.group(1)) < 65536
    assert re.search(rf"\({proto.upper()}\)", out), out
