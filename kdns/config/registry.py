"""Which directives exist, their setup functions and their place in the chain order.

In-tree plugins register with ``@directive("name")``; pip-installed ones through the entry-point
group ``kdns.plugins`` and a ``before=``/``after=`` neighbour in the order.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kdns.config.directives import DIRECTIVES
from kdns.log import logger

if TYPE_CHECKING:
    from kdns.config.controller import Controller

ENTRY_POINT_GROUP = "kdns.plugins"
log = logger("registry")


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    setup: Callable[[Controller], None]
    module: str
    before: str | None = None
    after: str | None = None
    external: bool = False


_specs: dict[str, Spec] = {}
_order_cache: list[str] | None = None
_loaded = False


def directive(
    name: str, *, before: str | None = None, after: str | None = None
) -> Callable[[Callable[[Controller], None]], Callable[[Controller], None]]:
    """Register ``setup`` for directive ``name``.

    A name not in DIRECTIVES must say where it goes: ``before="cache"`` or ``after="log"``.
    """

    def deco(setup: Callable[[Controller], None]) -> Callable[[Controller], None]:
        global _order_cache
        external = name not in DIRECTIVES
        if external and not (before or after):
            raise ValueError(f"plugin {name!r} is not in the chain order: give before= or after=")
        neighbour = before or after
        if neighbour and neighbour not in DIRECTIVES and neighbour not in _specs:
            raise ValueError(f"plugin {name!r}: unknown neighbour {neighbour!r}")
        _specs[name] = Spec(name, setup, setup.__module__, before, after, external)
        _order_cache = None
        return setup

    return deco


def load() -> None:
    """Import the in-tree plugins and every installed ``kdns.plugins`` entry point (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    importlib.import_module("kdns.plugins")
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as e:  # a broken third-party plugin must not stop kdns
            log.error("cannot load plugin %s (%s): %s", ep.name, ep.value, e)


def order() -> list[str]:
    """Every directive in chain order, third-party ones placed by their neighbour."""
    global _order_cache
    if _order_cache is None:
        names = list(DIRECTIVES)
        pending = [s for s in _specs.values() if s.external]
        while pending:
            placed = False
            for s in list(pending):
                ref = s.before or s.after
                if ref in names:
                    i = names.index(ref)
                    names.insert(i if s.before else i + 1, s.name)
                    pending.remove(s)
                    placed = True
            if not placed:
                raise ValueError(f"cannot place plugins {[s.name for s in pending]} in the order")
        _order_cache = names
    return list(_order_cache)


def get(name: str) -> Spec | None:
    return _specs.get(name)


def known() -> dict[str, Spec]:
    return dict(_specs)
