"""Which directives exist, their setup functions and their place in the chain order.

In-tree plugins register with ``@directive("name")`` and take their place from DIRECTIVES.
Pip-installed plugins are found through the entry-point group ``kdns.plugins``: each entry point
names a module whose import runs ``@directive("name", before="cache")`` (or ``after=``). The
neighbour may be any directive, in-tree or third-party. A third-party plugin that cannot be imported,
clashes with another plugin's name, or cannot be placed is left out and logged; kdns still starts.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from kdns.config.directives import DIRECTIVES
from kdns.log import logger

if TYPE_CHECKING:
    from kdns.config.controller import Controller

ENTRY_POINT_GROUP = "kdns.plugins"
#: setup functions in modules under this prefix are in-tree plugins
IN_TREE = "kdns.plugins."
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
log = logger("registry")

Setup = Callable[["Controller"], None]


class RegistryError(ValueError):
    """A plugin that cannot be registered: bad name, bad neighbour, or a name already taken."""


@dataclass(frozen=True, slots=True)
class Spec:
    """One registered directive."""

    name: str
    setup: Setup
    module: str
    before: str | None = None
    after: str | None = None
    #: True when the setup function lives outside kdns.plugins (a pip-installed plugin)
    external: bool = False

    @property
    def neighbour(self) -> str | None:
        return self.before or self.after


class EntryPoint(Protocol):
    """What ``load`` needs from an ``importlib.metadata.EntryPoint`` (tests pass fakes)."""

    @property
    def name(self) -> str: ...

    @property
    def value(self) -> str: ...

    def load(self) -> object: ...


def _installed() -> Iterable[EntryPoint]:
    return importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)


def place(base: Iterable[str], specs: Iterable[Spec]) -> tuple[list[str], list[Spec]]:
    """The chain order: ``base`` with each spec inserted next to its neighbour.

    Specs may name each other as neighbours, in any load order. Specs sharing a neighbour keep name
    order (``a`` and ``b`` both ``before="cache"`` give ``a b cache``; both ``after="log"`` give
    ``log a b``). Returns the order and the specs that could not be placed (unknown neighbour, cycle).
    """
    names = list(base)
    pending = sorted(specs, key=lambda s: s.name)
    placed_after: dict[str, int] = {}  # neighbour -> how many specs already sit right after it
    progress = True
    while pending and progress:
        progress = False
        for s in list(pending):
            ref = s.neighbour
            if ref is None or ref not in names:
                continue
            i = names.index(ref)
            if s.before:
                names.insert(i, s.name)
            else:
                names.insert(i + 1 + placed_after.get(ref, 0), s.name)
                placed_after[ref] = placed_after.get(ref, 0) + 1
            pending.remove(s)
            progress = True
    return names, pending


class Registry:
    """Directive name -> Spec, and the chain order. kdns uses the one module-level instance."""

    def __init__(
        self,
        directives: Iterable[str] = DIRECTIVES,
        entry_points: Callable[[], Iterable[EntryPoint]] = _installed,
        in_tree: str = "kdns.plugins",
    ) -> None:
        self.directives = tuple(directives)
        self._known_names = frozenset(self.directives)
        self._entry_points = entry_points
        self._in_tree = in_tree
        self._specs: dict[str, Spec] = {}
        self._order: list[str] | None = None
        self._loaded = False
        #: one line per third-party plugin left out (also logged)
        self.problems: list[str] = []

    # -- registering -----------------------------------------------------------------

    def directive(self, name: str, *, before: str | None = None, after: str | None = None) -> Callable[[Setup], Setup]:
        """Decorator registering ``setup`` for directive ``name``.

        A name not in DIRECTIVES must say where it goes with exactly one of ``before=``/``after=``;
        a name in DIRECTIVES already has its place and takes neither.
        """

        def deco(setup: Setup) -> Setup:
            module = setup.__module__
            external = not module.startswith(self._in_tree + ".")
            self.register(Spec(name, setup, module, before, after, external))
            return setup

        return deco

    def register(self, spec: Spec) -> None:
        """Add ``spec``; RegistryError when it is malformed or its name is taken by another module."""
        name = spec.name
        if not _NAME.match(name) or name == "import":
            raise RegistryError(f"plugin name {name!r} is not a valid directive name (lower case, digits, '_', '-')")
        if spec.before and spec.after:
            raise RegistryError(f"plugin {name!r}: give before= or after=, not both")
        if name in self._known_names:
            if spec.neighbour:
                raise RegistryError(f"plugin {name!r} already has a place in the chain order: drop before=/after=")
        elif not spec.neighbour:
            raise RegistryError(f"plugin {name!r} is not in the chain order: give before='NAME' or after='NAME'")
        if spec.neighbour == name:
            raise RegistryError(f"plugin {name!r} cannot be placed next to itself")
        old = self._specs.get(name)
        if old is not None and old.module != spec.module:
            if old.external and not spec.external:  # the in-tree plugin wins, whatever loaded first
                self._problem(f"third-party plugin {name!r} from {old.module} clashes with the in-tree one: ignored")
            else:
                where = "the in-tree plugin" if not old.external else "the plugin"
                raise RegistryError(
                    f"plugin {name!r} from {spec.module} clashes with {where} of the same name in {old.module}: "
                    "rename it"
                )
        self._specs[name] = spec
        self._order = None

    def _problem(self, msg: str) -> None:
        self.problems.append(msg)
        log.error("%s", msg)

    # -- loading ---------------------------------------------------------------------

    def load(self) -> None:
        """Import the in-tree plugins, then every installed ``kdns.plugins`` entry point (once)."""
        if self._loaded:
            return
        self._loaded = True
        try:
            importlib.import_module(self._in_tree)
        except BaseException:
            self._loaded = False
            raise
        for ep in sorted(self._entry_points(), key=lambda e: (e.name, e.value)):
            before = set(self._specs)
            try:
                ep.load()
            except Exception as e:  # a broken third-party plugin must not stop kdns
                self._problem(f"cannot load plugin {ep.name} ({ep.value}): {type(e).__name__}: {e}")
                continue
            module = ep.value.partition(":")[0].strip()
            mine = any(s.module == module or s.module.startswith(module + ".") for s in self._specs.values())
            if not set(self._specs) - before and not mine:
                self._problem(f"plugin {ep.name} ({ep.value}) registered no directive")

    # -- reading ---------------------------------------------------------------------

    def order(self) -> list[str]:
        """Every directive in chain order, third-party ones placed next to their neighbour."""
        if self._order is None:
            extra = [s for s in self._specs.values() if s.name not in self._known_names]
            names, unplaced = place(self.directives, extra)
            for s in unplaced:
                side = "before" if s.before else "after"
                self._problem(
                    f"cannot place plugin {s.name!r} ({s.module}): {side} {s.neighbour!r}, "
                    "which is not a known plugin (or the neighbours form a cycle)"
                )
                del self._specs[s.name]
            self._order = names
        return list(self._order)

    def get(self, name: str) -> Spec | None:
        return self._specs.get(name)

    def known(self) -> dict[str, Spec]:
        return dict(self._specs)

    def unregister(self, name: str) -> None:
        """Forget directive ``name`` (tests remove the throwaway plugins they registered)."""
        if self._specs.pop(name, None) is not None:
            self._order = None


_default = Registry()
directive = _default.directive


def load() -> None:
    """Import the in-tree plugins and every installed ``kdns.plugins`` entry point (once)."""
    _default.load()


def order() -> list[str]:
    """Every directive in chain order (DIRECTIVES plus placed third-party plugins)."""
    return _default.order()


def get(name: str) -> Spec | None:
    """The setup of directive ``name``; None when no plugin implements it."""
    return _default.get(name)


def known() -> dict[str, Spec]:
    """Every registered directive by name."""
    return _default.known()


def problems() -> list[str]:
    """Third-party plugins left out, one line each (they are logged too)."""
    return list(_default.problems)


def unregister(name: str) -> None:
    """Forget directive ``name``; for tests that register a plugin for their own use."""
    _default.unregister(name)
