"""Coalesce identical work in flight: the first caller of a key runs it, the others share its result.

The leader runs the work in its own task (no extra task is created). If the leader is cancelled
(its client went away, the server is stopping), the followers are not failed: one of them takes
over and runs the work again. An exception the work raises is shared by every waiter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _LeaderGone(Exception):
    """The leader was cancelled before it finished: a follower runs the work again."""


class Group(Generic[K, V]):
    """One set of in-flight calls, keyed by ``K``."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[K, asyncio.Future[V]] = {}

    def __len__(self) -> int:
        return len(self._calls)

    async def do(self, key: K, fn: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        """``fn()``'s result for ``key`` and whether it was shared (another caller ran it)."""
        calls = self._calls
        while (fut := calls.get(key)) is not None:
            try:
                return await asyncio.shield(fut), True
            except _LeaderGone:
                continue
        fut = asyncio.get_running_loop().create_future()
        calls[key] = fut
        try:
            value = await fn()
        except asyncio.CancelledError:
            fut.set_exception(_LeaderGone())
            raise
        except BaseException as e:
            fut.set_exception(e)
            raise
        else:
            fut.set_result(value)
            return value, False
        finally:
            del calls[key]
            if fut.done() and not fut.cancelled():
                fut.exception()  # mark retrieved: no "never retrieved" warning when nobody waited
