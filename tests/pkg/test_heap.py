"""heap: long-lived objects are moved out of the collector's view every FREEZE_EVERY of them."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import dns.message
import pytest

from kdns.pkg import heap
from kdns.plugins.cache.entry import Entry
from kdns.testing import FakeUpstream, run_instance
from kdns.testing.upstream import Reply, answer


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(heap, "FREEZE_EVERY", 20)
    monkeypatch.setattr(heap, "_grown", 0)
    yield
    gc.unfreeze()  # give the test process's objects back to the collector


class Holder:
    """A tracked object, as a cache entry is."""


def tracked(obj: object) -> bool:
    """``obj`` is in a generation the collector walks (frozen objects are in none of them)."""
    return any(o is obj for o in gc.get_objects())


def test_freezes_after_every_batch(small_batches: None) -> None:
    """Nothing happens before FREEZE_EVERY objects are reported; then every live object leaves the walked
    generations."""
    kept = Holder()
    frozen = gc.get_freeze_count()
    for _ in range(19):
        heap.grew()
    assert tracked(kept)
    heap.grew()
    assert gc.get_freeze_count() > frozen
    assert not tracked(kept)


def test_young_cyclic_garbage_is_collected_before_the_freeze(small_batches: None) -> None:
    """A cycle that became garbage just before the freeze is collected, not frozen for good."""
    a, b = Holder(), Holder()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    gone = weakref.ref(a)
    del a, b
    heap.freeze()
    assert gone() is None


async def test_cache_entries_leave_the_collectors_view(small_batches: None) -> None:
    """A cache that stored FREEZE_EVERY replies has had its entries frozen: full collections skip them."""

    def handle(q: dns.message.Message, proto: str) -> Reply:
        return answer(q, f"{q.question[0].name} 60 IN A 192.0.2.1")

    async with FakeUpstream(handle) as up, run_instance(f".:0 {{\n cache\n forward . {up.addr}\n}}") as inst:
        frozen = gc.get_freeze_count()
        for i in range(25):
            await inst.query(f"n{i}.example.org.", "A")
        assert gc.get_freeze_count() > frozen
        entries = [o for o in gc.get_objects() if isinstance(o, Entry)]
        assert len(entries) < 10  # only those stored after the freeze
