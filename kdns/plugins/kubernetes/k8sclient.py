"""kubernetes-asyncio without the modules kdns does not use, and memory given back after a big list.

Importing ``kubernetes_asyncio`` imports its whole client: ~140 API modules and ~1,500 model classes
(~35 MB), while kdns only loads a configuration and calls a few list/watch functions for raw JSON.
``load()`` puts light stand-ins for the packages ``kubernetes_asyncio``, ``.client``, ``.client.api``
and ``.client.models`` in ``sys.modules``: real package paths (submodules import as usual) and a
PEP 562 ``__getattr__`` that imports what a name of the real ``__init__`` refers to on first use
(``client.V1Pod``, ``models.V1Pod``, ``kubernetes_asyncio.watch``). Then only the modules kdns needs
are imported. When kubernetes_asyncio was imported already it is used as it is; when anything fails
the stand-ins are dropped and the package is imported in full.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import importlib
import importlib.util
import re
import sys
import types
from collections.abc import Callable
from typing import Any

from kdns.log import plugin_logger

log = plugin_logger("kubernetes")

ROOT = "kubernetes_asyncio"
#: packages whose ``__init__`` imports far more than kdns uses
PACKAGES = (ROOT, f"{ROOT}.client", f"{ROOT}.client.api", f"{ROOT}.client.models")
#: what kdns uses: configuration loading, the API client, the core and discovery list/watch functions
NEEDED = (
    f"{ROOT}.client.configuration",
    f"{ROOT}.client.api_client",
    f"{ROOT}.client.rest",
    f"{ROOT}.client.api.core_v1_api",
    f"{ROOT}.client.api.discovery_v1_api",
    f"{ROOT}.config",
    f"{ROOT}.config.kube_config",
    f"{ROOT}.config.incluster_config",
)
#: ``from kubernetes_asyncio.x import Name`` and ``import kubernetes_asyncio.x as name`` in an ``__init__``
_IMPORT = re.compile(rf"^(?:from ({ROOT}[\w.]*) import (\w+)|import ({ROOT}[\w.]*) as (\w+))\s*$", re.M)
_DUNDER = re.compile(r'^(__(?:version|project)__) = "([^"]*)"', re.M)


def lazy_package(name: str) -> types.ModuleType:
    """A stand-in for package ``name``: its path and dunders, the names of its ``__init__`` imported on use."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name}: not a package")
    with open(spec.origin, encoding="utf-8") as f:
        text = f.read()
    mod = importlib.util.module_from_spec(spec)
    #: attribute -> (module, attribute in it; "" for the module itself)
    names: dict[str, tuple[str, str]] = {}
    for m in _IMPORT.finditer(text):
        if m.group(1):
            names[m.group(2)] = (m.group(1), m.group(2))
        else:
            names[m.group(4)] = (m.group(3), "")
    for m in _DUNDER.finditer(text):
        setattr(mod, m.group(1), m.group(2))
    mod.__all__ = list(names)  # type: ignore[attr-defined]
    setattr(mod, "__getattr__", _getattr(mod, names))  # noqa: B010
    setattr(mod, "__dir__", lambda: sorted(set(mod.__dict__) | set(names)))  # noqa: B010
    return mod


def _getattr(mod: types.ModuleType, names: dict[str, tuple[str, str]]) -> Callable[[str], Any]:
    def get(attr: str) -> Any:
        where = names.get(attr)
        if where is not None:
            target = importlib.import_module(where[0])
            value = getattr(target, where[1]) if where[1] else target
        elif not attr.startswith("__") and importlib.util.find_spec(f"{mod.__name__}.{attr}") is not None:
            value = importlib.import_module(f"{mod.__name__}.{attr}")  # a submodule not named in __init__
        else:
            raise AttributeError(f"module {mod.__name__!r} has no attribute {attr!r}")
        setattr(mod, attr, value)
        return value

    return get


def load() -> bool:
    """Import the parts of kubernetes_asyncio kdns uses; True when the light stand-ins are in place."""
    if ROOT in sys.modules:
        return isinstance(sys.modules[ROOT].__dict__.get("__getattr__"), types.FunctionType)
    try:
        for name in PACKAGES:
            mod = lazy_package(name)
            sys.modules[name] = mod
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, mod)
        for name in NEEDED:
            importlib.import_module(name)
        return True
    except Exception as e:  # any surprise in the package's layout: the plain import still works
        log.debug("importing kubernetes_asyncio in full: %s", e)
        for name in [n for n in sys.modules if n == ROOT or n.startswith(ROOT + ".")]:
            del sys.modules[name]
        importlib.import_module(ROOT)
        return False


#: True when the light stand-ins are in use (False: kubernetes_asyncio was imported in full)
LIGHT = load()

from kubernetes_asyncio import client as client  # noqa: E402
from kubernetes_asyncio import config as config  # noqa: E402
from kubernetes_asyncio.config.incluster_config import SERVICE_TOKEN_FILENAME as SERVICE_TOKEN_FILENAME  # noqa: E402


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
        return trim
    except (OSError, AttributeError):  # not glibc
        return None


def release_memory() -> None:
    """Give the memory freed after a big list back to the system: a full collection, then glibc's malloc_trim."""
    collected = gc.collect()
    trim = _malloc_trim()
    trimmed = bool(trim(0)) if trim is not None else False
    log.debug("released memory: %d objects collected, malloc_trim %s", collected, "freed" if trimmed else "none")
