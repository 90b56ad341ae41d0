"""reload through a running kdns: a rewritten Corefile is picked up, a broken one is not."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from kdns.metrics import REGISTRY
from kdns.testing import RunningInstance, run_instance

COREFILE = """.:0 {
    reload 50ms 0s
    hosts /nonexistent/hosts {
        %s www.example.org
    }
}
"""


@pytest.fixture(autouse=True)
def _short_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kdns.plugins.reload.setup.MIN_INTERVAL", 0.01)


async def until(cond: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> bool:
    """Poll ``cond`` until it holds or ``timeout`` passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await cond():
            return True
        await asyncio.sleep(0.02)
    return await cond()


async def answer(inst: RunningInstance, proto: str) -> str:
    r = await inst.query("www.example.org", "A", proto=proto)
    return r.answer[0][0].to_text() if r.answer else ""


def reload_tasks() -> int:
    return sum(1 for t in asyncio.all_tasks() if t.get_name() == "reload" and not t.done())


def loops(n: int) -> Callable[[], Awaitable[bool]]:
    """A condition for ``until``: exactly ``n`` reload loops are running."""

    async def cond() -> bool:
        return reload_tasks() == n

    return cond


@pytest.mark.parametrize("proto", ["udp", "tcp"])
async def test_rewritten_corefile_is_loaded(proto: str) -> None:
    """Changing the Corefile makes the new config answer; there is still only one reload loop."""
    async with run_instance(COREFILE % "10.0.0.1") as inst:
        assert await answer(inst, proto) == "10.0.0.1"
        assert reload_tasks() == 1
        with open(inst.path, "w") as f:
            f.write(COREFILE % "10.0.0.2")

        async def new_answers() -> bool:
            return await answer(inst, proto) == "10.0.0.2"

        assert await until(new_answers)
        assert await until(loops(1))


async def test_broken_corefile_keeps_old_config() -> None:
    """A broken Corefile bumps coredns_reload_failed_total and the old config keeps answering."""
    before = REGISTRY.get_sample_value("coredns_reload_failed_total") or 0.0
    async with run_instance(COREFILE % "10.0.0.1") as inst:
        with open(inst.path, "w") as f:
            f.write(COREFILE.replace("hosts", "hosts_nonexistent_plugin") % "10.0.0.2")

        async def failed() -> bool:
            return (REGISTRY.get_sample_value("coredns_reload_failed_total") or 0.0) > before

        assert await until(failed)
        assert await answer(inst, "udp") == "10.0.0.1"
        assert reload_tasks() == 1
        with open(inst.path, "w") as f:
            f.write(COREFILE % "10.0.0.3")

        async def fixed() -> bool:
            return await answer(inst, "udp") == "10.0.0.3"

        assert await until(fixed)


async def test_no_reload_directive_no_loop() -> None:
    """Without reload no loop runs; reloading to a Corefile without it ends the loop."""
    async with run_instance(COREFILE % "10.0.0.1") as inst:
        with open(inst.path, "w") as f:
            f.write((COREFILE % "10.0.0.2").replace("    reload 50ms 0s\n", ""))

        async def new_answers() -> bool:
            return await answer(inst, "udp") == "10.0.0.2"

        assert await until(new_answers)
        assert await until(loops(0))
