"""singleflight: identical work in flight runs once; leaders that go away hand over."""

from __future__ import annotations

import asyncio

import pytest

from kdns.pkg.singleflight import Group


async def test_concurrent_calls_share_one_run() -> None:
    """N concurrent callers of one key: the work runs once, all get its result, N-1 marked shared."""
    g: Group[str, int] = Group()
    runs = 0
    release = asyncio.Event()

    async def work() -> int:
        nonlocal runs
        runs += 1
        await release.wait()
        return 42

    tasks = [asyncio.create_task(g.do("k", work)) for _ in range(10)]
    await asyncio.sleep(0)
    release.set()
    got = await asyncio.gather(*tasks)
    assert runs == 1
    assert [v for v, _ in got] == [42] * 10
    assert sum(shared for _, shared in got) == 9
    assert len(g) == 0


async def test_different_keys_run_separately() -> None:
    """Different keys do not share."""
    g: Group[str, str] = Group()

    async def work(k: str) -> str:
        await asyncio.sleep(0)
        return k

    got = await asyncio.gather(g.do("a", lambda: work("a")), g.do("b", lambda: work("b")))
    assert got == [("a", False), ("b", False)]


async def test_errors_are_shared() -> None:
    """An exception of the work reaches every waiter."""
    g: Group[str, int] = Group()

    async def work() -> int:
        await asyncio.sleep(0.01)
        raise ValueError("boom")

    results = await asyncio.gather(g.do("k", work), g.do("k", work), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)


async def test_cancelled_leader_hands_over() -> None:
    """When the leader is cancelled a follower runs the work itself and still gets a result."""
    g: Group[str, int] = Group()
    calls = 0
    started = asyncio.Event()

    async def work() -> int:
        nonlocal calls
        calls += 1
        started.set()
        await asyncio.sleep(0.01)
        return calls

    leader = asyncio.create_task(g.do("k", work))
    await started.wait()
    follower = asyncio.create_task(g.do("k", work))
    await asyncio.sleep(0)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert await follower == (2, False)
