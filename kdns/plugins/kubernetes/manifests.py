"""``objects FILE...``: Services, EndpointSlices, Namespaces and Pods read from YAML or JSON files.

Files hold YAML documents (``---`` separated; JSON is YAML too), each an object or a list
(``kind: List`` or ``kind: ServiceList`` with ``items``, as ``kubectl get -o yaml`` writes). Other
kinds are skipped. An object without a namespace is in ``default``; a namespace that objects use
but no Namespace declares exists all the same. The files are read again when one changes (size,
mtime or inode, checked every ``every`` seconds); a read that fails keeps the last good state.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import yaml

from kdns.log import plugin_logger
from kdns.pkg.poller import Poller, Sleep
from kdns.plugins.kubernetes import objects
from kdns.plugins.kubernetes.store import KINDS, Object, Store, key_of
from kdns.plugins.kubernetes.synced import Synced

log = plugin_logger("kubernetes")

CONVERT: dict[str, Callable[[dict[str, Any]], Object | None]] = {
    "Service": objects.service,
    "EndpointSlice": objects.endpoint_slice,
    "Namespace": objects.namespace,
    "Pod": objects.pod,
}
RELOAD_EVERY = 2.0


class ManifestError(Exception):
    pass


def documents(text: str, source: str = "<text>") -> Iterator[dict[str, Any]]:
    """The objects in ``text``, lists flattened (an item without ``kind`` takes its list's, less ``List``)."""
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as e:
        raise ManifestError(f"{source}: {e}") from e
    for doc in docs:
        yield from _flatten(doc, "", source)


def _flatten(doc: Any, kind: str, source: str) -> Iterator[dict[str, Any]]:
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise ManifestError(f"{source}: a document is not an object: {str(doc)[:60]!r}")
    k = str(doc.get("kind") or kind)
    if k.endswith("List") and isinstance(doc.get("items"), list):
        for item in doc["items"]:
            yield from _flatten(item, k[:-4], source)
    elif k:
        yield doc if doc.get("kind") else {**doc, "kind": k}


def convert(docs: Iterator[dict[str, Any]]) -> dict[str, list[Object]]:
    """Objects per store kind; namespaces used but not declared are added."""
    out: dict[str, list[Object]] = {k: [] for k in KINDS}
    for d in docs:
        fn = CONVERT.get(d["kind"])
        if fn is None:
            continue
        meta = d.get("metadata") or {}
        if not meta.get("name"):
            raise ManifestError(f"a {d['kind']} without metadata.name")
        if d["kind"] != "Namespace" and not meta.get("namespace"):
            d = {**d, "metadata": {**meta, "namespace": "default"}}
        obj = fn(d)
        if obj is not None:
            out[d["kind"]].append(obj)
    declared = {o.name for o in out["Namespace"]}
    used = {key_of(o)[0] for k in ("Service", "EndpointSlice", "Pod") for o in out[k]}
    out["Namespace"].extend(objects.Namespace(n) for n in sorted(used - declared))
    return out


def load(paths: Sequence[str]) -> dict[str, list[Object]]:
    """Read and convert every file; ManifestError (with the file name) on the first problem."""

    def docs() -> Iterator[dict[str, Any]]:
        for p in paths:
            try:
                with open(p, encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError) as e:
                raise ManifestError(f"{p}: {e}") from e
            yield from documents(text, p)

    try:
        return convert(docs())
    except (ValueError, TypeError, AttributeError, KeyError) as e:
        raise ManifestError(f"{', '.join(paths)}: {e}") from e


def _stat(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class ManifestSource(Synced):
    """Feeds the store from files; synced after the first good read."""

    def __init__(
        self, paths: Sequence[str], store: Store, *, every: float = RELOAD_EVERY, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.paths = tuple(paths)
        self.store = store
        self.poller = Poller(self.reload, every, name="kubernetes-objects", sleep=sleep)
        self._stats: tuple[tuple[int, int, int] | None, ...] | None = None
        super().__init__()
        self.last_event = 0.0
        #: successful reads
        self.loads = 0

    @property
    def outage(self) -> bool:
        return False

    async def start(self) -> None:
        await self.reload()
        self.poller.start()

    async def stop(self) -> None:
        await self.poller.stop()

    async def reload(self) -> None:
        """Read the files again if any changed since the last read."""
        stats = tuple(_stat(p) for p in self.paths)
        if stats == self._stats:
            return
        self._stats = stats
        try:
            found = load(self.paths)
        except ManifestError as e:
            log.error("objects: %s", e)
            return
        for kind, objs in found.items():
            self.store.replace(kind, objs)
        self.loads += 1
        self.last_event = time.time()
        if not self._synced.is_set():
            self._synced.set()
        else:
            log.info("objects: reloaded %s", ", ".join(self.paths))
