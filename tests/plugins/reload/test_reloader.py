"""The polling loop, with fake files and a fake reload (no server)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kdns.metrics import REGISTRY
from kdns.plugins.reload.reloader import Reloader
from kdns.testing import StepSleep


def failed() -> float:
    return REGISTRY.get_sample_value("coredns_reload_failed_total") or 0.0


def version(digest: str) -> float | None:
    return REGISTRY.get_sample_value("coredns_reload_version_info", {"hash": "sha512", "value": digest})


class FakeReload:
    def __init__(self, ok: bool = True) -> None:
        self.ok = ok
        self.calls = 0

    async def __call__(self) -> bool:
        self.calls += 1
        return self.ok


async def test_check_reloads_on_change_only(tmp_path: Path) -> None:
    """No change: no reload. A change of the Corefile or an import reloads once per new content."""
    core, imp = tmp_path / "Corefile", tmp_path / "imported"
    core.write_text(". {\n whoami\n}\n")
    imp.write_text("# nothing\n")
    fake = FakeReload()
    r = Reloader([str(core), str(imp)], fake, interval=3600)
    await r.start()
    try:
        assert version(r.digest) == 1.0
        assert await r.check() is None
        imp.write_text("# changed\n")
        assert await r.check() is True
        assert fake.calls == 1
        assert version(r.digest) == 1.0
        assert await r.check() is None
    finally:
        await r.stop()


async def test_failed_reload_counts_and_is_not_retried(tmp_path: Path) -> None:
    """A failed reload bumps coredns_reload_failed_total; the same content is not tried again."""
    core = tmp_path / "Corefile"
    core.write_text("good")
    fake = FakeReload(ok=False)
    r = Reloader([str(core)], fake, interval=3600)
    await r.start()
    try:
        before = failed()
        core.write_text("broken")
        assert await r.check() is False
        assert failed() == before + 1
        assert await r.check() is None
        assert fake.calls == 1
    finally:
        await r.stop()


async def test_loop_ends_after_successful_reload(tmp_path: Path) -> None:
    """The loop polls every period and ends once a reload worked (the new instance polls then)."""
    core = tmp_path / "Corefile"
    core.write_text("one")
    sleep = StepSleep()
    fake = FakeReload()
    r = Reloader([str(core)], fake, interval=10, jitter=2, sleep=sleep, rand=lambda lo, hi: hi)
    await r.start()
    task = r.poller.task
    assert task is not None
    assert await sleep.next_delay() == 12.0  # interval + jitter, fixed per instance
    sleep.step()
    assert await sleep.next_delay() == 12.0  # unchanged: polls again
    core.write_text("two")
    sleep.step()
    await asyncio.wait_for(task, 2)
    assert fake.calls == 1
    await r.stop()


async def test_stop_from_inside_the_loop(tmp_path: Path) -> None:
    """A reload that shuts this instance down (stop called from the loop's own task) does not deadlock."""
    core = tmp_path / "Corefile"
    core.write_text("one")
    r: Reloader

    async def reload() -> bool:
        await r.stop()
        return True

    r = Reloader([str(core)], reload, interval=0.0, jitter=0.0)
    await r.start()
    task = r.poller.task
    assert task is not None
    core.write_text("two")
    await asyncio.wait_for(task, 2)
    assert task.exception() is None


@pytest.mark.parametrize(("jitter", "want"), [(0.0, 10.0), (3.0, 7.0)])
def test_period(jitter: float, want: float) -> None:
    """The period is the interval moved by the random jitter (here the lowest value)."""
    r = Reloader([], FakeReload(), interval=10, jitter=jitter, rand=lambda lo, hi: lo)
    assert r.period == want
