"""Upstream selection policies: the order in which one query tries the upstreams (pure)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")


class Policy(Protocol):
    name: str

    def order(self, items: Sequence[T]) -> Sequence[T]: ...


class Random:
    """A random order per query (CoreDNS's default)."""

    name = "random"

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()

    def order(self, items: Sequence[T]) -> Sequence[T]:
        n = len(items)
        if n == 1:
            return items
        if n == 2:
            return items if self._rng.random() < 0.5 else (items[1], items[0])
        out = list(items)
        self._rng.shuffle(out)
        return out


class RoundRobin:
    """Each query starts one upstream further than the previous one."""

    name = "round_robin"

    def __init__(self) -> None:
        self._next = 0

    def order(self, items: Sequence[T]) -> Sequence[T]:
        n = len(items)
        if n == 1:
            return items
        i = self._next % n
        self._next = i + 1
        return [*items[i:], *items[:i]]


class Sequential:
    """Always the written order: the first upstream unless it fails."""

    name = "sequential"

    def order(self, items: Sequence[T]) -> Sequence[T]:
        return items


POLICIES: dict[str, type[Random] | type[RoundRobin] | type[Sequential]] = {
    "random": Random,
    "round_robin": RoundRobin,
    "sequential": Sequential,
}


def make(name: str) -> Policy:
    """The policy called ``name``; KeyError when there is none."""
    return POLICIES[name]()
