"""Upstream policies and the health state machine, without sockets."""

from __future__ import annotations

import asyncio
import random

from kdns.plugins.forward.health import HealthChecker, HealthState
from kdns.plugins.forward.policy import Random, RoundRobin, Sequential, make

ITEMS = ("a", "b", "c")


def test_sequential_keeps_written_order() -> None:
    """sequential always tries the upstreams in the order written."""
    p = Sequential()
    assert [list(p.order(ITEMS)) for _ in range(3)] == [["a", "b", "c"]] * 3


def test_round_robin_rotates() -> None:
    """round_robin starts each query one upstream further, wrapping around."""
    p = RoundRobin()
    assert [list(p.order(ITEMS)) for _ in range(4)] == [
        ["a", "b", "c"],
        ["b", "c", "a"],
        ["c", "a", "b"],
        ["a", "b", "c"],
    ]


def test_random_is_a_permutation_and_varies() -> None:
    """random gives every upstream once per query, and different queries start at different upstreams."""
    p = Random(random.Random(7))
    orders = [tuple(p.order(ITEMS)) for _ in range(200)]
    assert all(sorted(o) == list(ITEMS) for o in orders)
    assert {o[0] for o in orders} == set(ITEMS)
    two = {tuple(p.order(("x", "y"))) for _ in range(100)}
    assert two == {("x", "y"), ("y", "x")}


def test_single_upstream_order() -> None:
    """With one upstream every policy returns it."""
    for name in ("random", "round_robin", "sequential"):
        assert list(make(name).order(["only"])) == ["only"]


def test_down_only_when_fails_exceed_max_fails() -> None:
    """An upstream is down once consecutive failed probes exceed max_fails; a good probe heals it."""
    h = HealthState(2)
    assert h.on_error() is True  # first error starts a probe loop
    assert h.on_error() is False  # one loop at a time
    for _ in range(2):
        assert h.on_probe(False) is True
        assert not h.down
    assert h.on_probe(False) is True
    assert h.down
    assert h.on_probe(True) is False  # loop ends on the first good probe
    assert not h.down
    assert h.fails == 0
    assert not h.probing
    assert h.on_error() is True  # a later error starts a new loop


def test_max_fails_zero_never_down_never_probed() -> None:
    """max_fails 0: errors start no probe and the upstream is never down."""
    h = HealthState(0)
    assert h.on_error() is False
    h.fails = 100
    assert not h.down


async def test_checker_probes_until_healthy() -> None:
    """The probe loop probes at once, repeats while probes fail (counting each), and stops on success."""
    results = [False, False, False, True]
    fails: list[int] = []
    h = HealthState(1)

    async def probe() -> bool:
        return results.pop(0)

    c = HealthChecker(h, probe, 0.001, "up", lambda: fails.append(1))
    c.trigger()
    assert c.running
    c.trigger()  # no second loop
    assert c._task is not None
    await asyncio.wait_for(c._task, 2)
    assert results == []
    assert len(fails) == 3
    assert not h.down
    assert not h.probing


async def test_checker_stop_cancels_loop() -> None:
    """stop() ends a running probe loop; the state is ready for a new one."""
    h = HealthState(1)

    async def probe() -> bool:
        return False

    c = HealthChecker(h, probe, 0.01, "up", lambda: None)
    c.trigger()
    await asyncio.sleep(0)
    await c.stop()
    assert not c.running
    assert not h.probing
