"""A fake Kubernetes API server speaking the list/watch protocol, for integration and fault-injection tests.

``KubeAPI`` serves, over plain HTTP on 127.0.0.1, what a DNS controller reads through kubernetes_asyncio::

    async with KubeAPI() as api:
        api.write_kubeconfig(tmp_path / "kubeconfig")
        await api.add(kubeobjects.service("web", "default", "10.96.0.20"))
        await api.watching("services")          # a client's watch is open
        await api.delete("services", "default", "web")

Resources (``kind`` arguments take the plural resource or the Kind: ``"services"`` or ``"Service"``):
``/api/v1/services``, ``/api/v1/namespaces``, ``/api/v1/pods``, ``/apis/discovery.k8s.io/v1/endpointslices``,
their namespaced forms (``/api/v1/namespaces/{ns}/services``...) and single-object GETs.

Protocol, as the real API server:

- Every write takes the next value of ONE global, increasing resourceVersion, stored as a string in the
  object's ``metadata.resourceVersion`` (deleted objects carry the deletion's version).
- List: ``{"kind": "ServiceList", "apiVersion": "v1", "metadata": {"resourceVersion": "N"}, "items": [...]}``,
  items without ``kind``/``apiVersion`` (as real lists), ordered by namespace then name. ``limit`` and
  ``continue`` paginate over a consistent snapshot; a ``continue`` token from before ``compact()`` answers
  HTTP 410 (Status reason Expired). ``labelSelector`` (``k=v``, ``k!=v``, ``k``, ``!k``, ``in``, ``notin``)
  and ``fieldSelector`` (``path=v``, ``path!=v``; e.g. ``status.phase!=Succeeded``) filter; bad ones: 400.
- Watch (``watch=true``/``1``): a chunked 200 response, one JSON event per line
  ``{"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR", "object": {...}}``. With
  ``resourceVersion=N`` the events after N are replayed from history, then live ones follow; without it
  (or ``0``) the current objects come first as ADDED. An object moving into/out of the selectors
  arrives as ADDED/DELETED. N older than the retained history (see ``compact()``): one ERROR event
  with a Status (code 410, reason Expired), then the stream ends. ``allowWatchBookmarks=true`` enables
  BOOKMARK events (object: kind, apiVersion, metadata.resourceVersion = current version), sent by
  ``bookmark()`` and every ``bookmark_interval`` seconds if set. ``timeoutSeconds`` ends the stream.
- Auth: ``Authorization: Bearer <token>`` is required, else 401 (Status reason Unauthorized).

Test controls: ``add``/``update``/``apply``/``delete`` (API JSON dicts; builders in
``kdns.testing.kubeobjects``), ``compact()``, ``drop_watches(reset=False)``, ``bookmark()``,
``outage(mode)``/``recover()``, ``watching(kind, n)``; counters ``requests`` (per path), ``lists`` and
``watches`` (per resource, started), ``open_watches(kind)``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import copy
import json
import socket
import struct
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from kdns.testing import kubeselect
from kdns.testing.kubeconfig import write_kubeconfig

Obj = dict[str, Any]
Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Resource:
    plural: str
    kind: str
    api_version: str
    namespaced: bool

    @property
    def prefix(self) -> str:
        return "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"


RESOURCES = {
    r.plural: r
    for r in (
        Resource("services", "Service", "v1", True),
        Resource("namespaces", "Namespace", "v1", False),
        Resource("pods", "Pod", "v1", True),
        Resource("endpointslices", "EndpointSlice", "discovery.k8s.io/v1", True),
    )
}
_BY_KIND = {r.kind.lower(): r for r in RESOURCES.values()}


def resource(kind: str) -> Resource:
    """The Resource for a plural resource name or a Kind (case-insensitive)."""
    k = kind.lower()
    r = RESOURCES.get(k) or _BY_KIND.get(k)
    if r is None:
        raise KeyError(f"unknown kind {kind!r}")
    return r


def status(code: int, reason: str, message: str) -> Obj:
    """A meta/v1 Status object (failure)."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _key(obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name") or "")


def _with_rv(obj: Obj, rv: int) -> Obj:
    out = copy.deepcopy(obj)
    out.setdefault("metadata", {})["resourceVersion"] = str(rv)
    return out


@dataclass(slots=True)
class Event:
    rv: int
    type: str
    res: str
    obj: Obj
    prev: Obj | None = None


@dataclass(eq=False, slots=True)
class _Watch:
    res: Resource
    namespace: str
    match: Callable[[Obj], bool]
    bookmarks: bool
    transport: asyncio.BaseTransport | None
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)

    def accepts(self, obj: Obj) -> bool:
        return (not self.namespace or _key(obj)[0] == self.namespace) and self.match(obj)

    def render(self, ev: Event) -> bytes | None:
        """The event line this watch sees, or None (filtered out)."""
        now = self.accepts(ev.obj)
        if ev.type == "MODIFIED" and ev.prev is not None:
            before = self.accepts(ev.prev)
            if before and not now:
                return _line("DELETED", _with_rv(ev.prev, ev.rv))
            if now and not before:
                return _line("ADDED", ev.obj)
        return _line(ev.type, ev.obj) if now else None


def _line(etype: str, obj: Obj) -> bytes:
    return json.dumps({"type": etype, "object": obj}, separators=(",", ":")).encode() + b"\n"


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


def _json(data: Obj, code: int = 200) -> web.Response:
    return web.Response(status=code, body=json.dumps(data).encode(), content_type="application/json")


def _fail(code: int, reason: str, message: str) -> web.Response:
    return _json(status(code, reason, message), code)


class KubeAPI:
    """The fake API server; see the module docstring for the protocol. Use as ``async with KubeAPI() as api``.

    ``token``: the bearer token required (random if not given). ``bookmark_interval``: seconds between
    periodic bookmarks (None: only on ``bookmark()``). ``host``/``port``: where to listen (127.0.0.1:0).
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        bookmark_interval: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token or uuid.uuid4().hex
        self.bookmark_interval = bookmark_interval
        self.host = host
        self.port = port
        #: requests received, per URL path (also during a 503 outage, not while refusing)
        self.requests: collections.Counter[str] = collections.Counter()
        #: list requests answered, per resource plural
        self.lists: collections.Counter[str] = collections.Counter()
        #: watch streams started (replay/live, not 410 answers), per resource plural
        self.watches: collections.Counter[str] = collections.Counter()
        self._rv = 1
        self._objects: dict[str, dict[Key, Obj]] = {r: {} for r in RESOURCES}
        self._base: dict[str, dict[Key, Obj]] = {r: {} for r in RESOURCES}
        self._history: list[Event] = []
        self._compacted = 1
        self._open: dict[str, set[_Watch]] = {r: set() for r in RESOURCES}
        self._waiters: list[tuple[str, int, asyncio.Future[None]]] = []
        self._outage: str | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._ticker: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        for r in RESOURCES.values():
            app.router.add_get(f"{r.prefix}/{r.plural}", self._collection)
            if r.namespaced:
                app.router.add_get(f"{r.prefix}/namespaces/{{ns}}/{r.plural}", self._collection)
                app.router.add_get(f"{r.prefix}/namespaces/{{ns}}/{r.plural}/{{name}}", self._get)
            else:
                app.router.add_get(f"{r.prefix}/{r.plural}/{{name}}", self._get)
        app.router.add_get("/version", self._version)
        app.router.add_get("/healthz", self._ok)
        app.router.add_get("/readyz", self._ok)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await self._bind()
        if self.bookmark_interval:
            self._ticker = asyncio.create_task(self._tick(self.bookmark_interval))

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self._end_watches(reset=False)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None

    async def __aenter__(self) -> KubeAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _bind(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await self._site.start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the cluster server for a kubeconfig."""
        return f"http://{self.host}:{self.port}"

    def write_kubeconfig(self, path: str | Path, token: str | None = None) -> Path:
        """Write a kubeconfig (cluster server = ``url``, user token = ``token`` or this server's) to ``path``."""
        return write_kubeconfig(path, self.url, self.token if token is None else token)

    # -- state changes (test controls) -----------------------------------------------------------

    @property
    def resource_version(self) -> int:
        """The current (last written) global resourceVersion."""
        return self._rv

    def objects(self, kind: str) -> list[Obj]:
        """Copies of the current objects of one kind, in list order."""
        items = self._objects[resource(kind).plural]
        return [copy.deepcopy(items[k]) for k in sorted(items)]

    async def add(self, obj: Obj) -> Obj:
        """Create an object (ValueError if it exists); returns the stored copy with its resourceVersion."""
        res = resource(obj.get("kind") or "")
        if _key(obj) in self._objects[res.plural]:
            raise ValueError(f"{res.kind} {_key(obj)} already exists")
        return self._write("ADDED", res, obj)

    async def update(self, obj: Obj) -> Obj:
        """Replace an existing object (KeyError if missing); returns the stored copy."""
        res = resource(obj.get("kind") or "")
        if _key(obj) not in self._objects[res.plural]:
            raise KeyError(f"{res.kind} {_key(obj)} not found")
        return self._write("MODIFIED", res, obj)

    async def apply(self, obj: Obj) -> Obj:
        """Create or replace an object."""
        res = resource(obj.get("kind") or "")
        return self._write("MODIFIED" if _key(obj) in self._objects[res.plural] else "ADDED", res, obj)

    async def delete(self, kind: str, namespace: str, name: str) -> Obj:
        """Delete an object (KeyError if missing); ``namespace`` is '' for namespaces. Returns its last state."""
        res = resource(kind)
        key = ("" if not res.namespaced else namespace, name)
        old = self._objects[res.plural].pop(key)
        self._rv += 1
        gone = _with_rv(old, self._rv)
        self._publish(Event(self._rv, "DELETED", res.plural, gone))
        return copy.deepcopy(gone)

    def _write(self, etype: str, res: Resource, obj: Obj) -> Obj:
        self._rv += 1
        stored = _with_rv(obj, self._rv)
        stored["kind"], stored["apiVersion"] = res.kind, res.api_version
        meta = stored["metadata"]
        if not res.namespaced:
            meta.pop("namespace", None)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", "2024-01-01T00:00:00Z")
        key = _key(stored)
        prev = self._objects[res.plural].get(key)
        if prev is not None:
            meta["uid"] = prev["metadata"]["uid"]
        self._objects[res.plural][key] = stored
        self._publish(Event(self._rv, etype, res.plural, stored, prev))
        return copy.deepcopy(stored)

    def _publish(self, ev: Event) -> None:
        self._history.append(ev)
        for w in self._open[ev.res]:
            line = w.render(ev)
            if line is not None:
                w.queue.put_nowait(line)

    async def compact(self) -> None:
        """Forget the history: every resourceVersion handed out so far becomes too old (watch ERROR 410,
        ``continue`` 410). Open watches go on."""
        self._rv += 1
        self._compacted = self._rv
        self._base = {r: dict(objs) for r, objs in self._objects.items()}
        self._history = []

    async def bookmark(self) -> None:
        """Send a BOOKMARK with the current resourceVersion to every watch that allows bookmarks."""
        for watches in self._open.values():
            for w in watches:
                if w.bookmarks:
                    obj: Obj = {"kind": w.res.kind, "apiVersion": w.res.api_version}
                    obj["metadata"] = {"resourceVersion": str(self._rv)}
                    w.queue.put_nowait(_line("BOOKMARK", obj))

    async def drop_watches(self, reset: bool = False) -> int:
        """End every open watch stream: cleanly (end of the chunked body) or, with ``reset``, by resetting
        the TCP connection. Returns how many were open."""
        return self._end_watches(reset)

    def _end_watches(self, reset: bool) -> int:
        n = 0
        for watches in self._open.values():
            for w in watches:
                n += 1
                w.queue.put_nowait(None)
                if reset and w.transport is not None:
                    _reset(w.transport)
            watches.clear()
        return n

    async def outage(self, mode: str = "refuse") -> None:
        """Start an outage. ``refuse``: stop listening (connections refused) and reset every open connection,
        watches included. ``503``: answer every request 503 ServiceUnavailable and end open watches."""
        if mode not in ("refuse", "503"):
            raise ValueError(f"unknown outage mode {mode!r}")
        if self._outage is not None:
            raise RuntimeError("already in an outage")
        self._outage = mode
        if mode == "refuse":
            assert self._site is not None
            assert self._runner is not None
            await self._site.stop()
            self._site = None
            self._end_watches(reset=True)
            server = self._runner.server
            if server is not None:
                for conn in server.connections:
                    if conn.transport is not None:
                        _reset(conn.transport)
        else:
            self._end_watches(reset=False)

    async def recover(self) -> None:
        """End the outage: listen again on the same port, answer normally."""
        if self._outage == "refuse":
            await self._bind()
        self._outage = None

    @property
    def out(self) -> bool:
        """True during an outage."""
        return self._outage is not None

    # -- watch bookkeeping -----------------------------------------------------------------------

    def open_watches(self, kind: str | None = None) -> int:
        """Watches open now, for one kind or all."""
        if kind is None:
            return sum(len(w) for w in self._open.values())
        return len(self._open[resource(kind).plural])

    def watching(self, kind: str, n: int = 1, timeout: float = 5.0) -> Awaitable[None]:
        """Resolves when at least ``n`` watches on ``kind`` are open (TimeoutError after ``timeout``)."""
        plural = resource(kind).plural
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((plural, n, fut))
        self._check_waiters()
        return asyncio.wait_for(fut, timeout)

    def _check_waiters(self) -> None:
        keep = []
        for plural, n, fut in self._waiters:
            if fut.done():
                continue
            if len(self._open[plural]) >= n:
                fut.set_result(None)
            else:
                keep.append((plural, n, fut))
        self._waiters = keep

    async def _tick(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.bookmark()

    # -- HTTP ------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.requests[request.path] += 1
        if self._outage is not None:
            return _fail(503, "ServiceUnavailable", "the server is currently unable to handle the request")
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _fail(401, "Unauthorized", "Unauthorized")
        return await handler(request)

    async def _ok(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _version(self, request: web.Request) -> web.Response:
        return _json({"major": "1", "minor": "31", "gitVersion": "v1.31.0-kdns-fake", "platform": "linux/amd64"})

    def _route(self, request: web.Request) -> tuple[Resource, str]:
        plural = request.path.rstrip("/").split("/")
        res = RESOURCES[plural[-2] if "name" in request.match_info else plural[-1]]
        return res, request.match_info.get("ns", "")

    async def _get(self, request: web.Request) -> web.Response:
        res, ns = self._route(request)
        name = request.match_info["name"]
        obj = self._objects[res.plural].get((ns, name))
        if obj is None:
            return _fail(404, "NotFound", f'{res.plural} "{name}" not found')
        return _json(obj)

    async def _collection(self, request: web.Request) -> web.StreamResponse:
        res, ns = self._route(request)
        q = request.query
        try:
            labels = kubeselect.label_selector(q.get("labelSelector", ""))
            fields = kubeselect.field_selector(q.get("fieldSelector", ""))
        except kubeselect.SelectorError as e:
            return _fail(400, "BadRequest", str(e))

        def match(o: Obj) -> bool:
            return labels(o) and fields(o)

        if _truthy(q.get("watch")):
            return await self._watch(request, res, ns, match)
        return self._list(res, ns, match, q.get("limit"), q.get("continue"))

    def _list(
        self, res: Resource, ns: str, match: Callable[[Obj], bool], limit: str | None, cont: str | None
    ) -> web.Response:
        self.lists[res.plural] += 1
        rv, after = self._rv, ("", "")
        objs = self._objects[res.plural]
        if cont:
            try:
                token = json.loads(base64.urlsafe_b64decode(cont.encode()))
                rv, after = int(token["rv"]), (str(token["start"][0]), str(token["start"][1]))
            except (ValueError, KeyError, TypeError, IndexError, binascii.Error):
                return _fail(400, "BadRequest", "continue key is not valid")
            if rv < self._compacted:
                return _fail(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter.",
                )
            objs = self._state_at(res.plural, rv)
        try:
            size = int(limit) if limit else 0
        except ValueError:
            return _fail(400, "BadRequest", f"invalid limit {limit!r}")
        keys = [k for k in sorted(objs) if (not cont or k > after) and (not ns or k[0] == ns)]
        items: list[Obj] = []
        rest = []
        for i, k in enumerate(keys):
            if not match(objs[k]):
                continue
            if size and len(items) == size:
                rest = [k2 for k2 in keys[i:] if match(objs[k2])]
                break
            items.append(objs[k])
        meta: Obj = {"resourceVersion": str(rv)}
        if rest:
            last = _key(items[-1])
            meta["continue"] = base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": last}).encode()).decode()
            meta["remainingItemCount"] = len(rest)
        body = {
            "kind": f"{res.kind}List",
            "apiVersion": res.api_version,
            "metadata": meta,
            "items": [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in items],
        }
        return _json(body)

    def _state_at(self, plural: str, rv: int) -> dict[Key, Obj]:
        """The objects of one resource as they were at ``rv`` (>= the compaction point)."""
        state = dict(self._base[plural])
        for ev in self._history:
            if ev.rv > rv:
                break
            if ev.res != plural:
                continue
            if ev.type == "DELETED":
                state.pop(_key(ev.obj), None)
            else:
                state[_key(ev.obj)] = ev.obj
        return state

    async def _watch(
        self, request: web.Request, res: Resource, ns: str, match: Callable[[Obj], bool]
    ) -> web.StreamResponse:
        q = request.query
        try:
            since = int(q.get("resourceVersion") or 0)
            timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else None
        except ValueError:
            return _fail(400, "BadRequest", "invalid resourceVersion or timeoutSeconds")
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        if since and since < self._compacted:
            await resp.prepare(request)
            gone = status(410, "Expired", f"too old resource version: {since} ({self._compacted})")
            await resp.write(_line("ERROR", gone))
            await resp.write_eof()
            return resp
        w = _Watch(res, ns, match, _truthy(q.get("allowWatchBookmarks")), request.transport)
        # Replay and registration happen with no await in between: no event is lost or doubled.
        if since:
            for ev in self._history:
                if ev.rv > since and ev.res == res.plural:
                    line = w.render(ev)
                    if line is not None:
                        w.queue.put_nowait(line)
        else:
            objs = self._objects[res.plural]
            for k in sorted(objs):
                if w.accepts(objs[k]):
                    w.queue.put_nowait(_line("ADDED", objs[k]))
        self._open[res.plural].add(w)
        self.watches[res.plural] += 1
        self._check_waiters()
        try:
            await resp.prepare(request)
            async with asyncio.timeout(timeout):
                while (line := await w.queue.get()) is not None:
                    await resp.write(line)
        except TimeoutError:
            pass
        finally:
            self._open[res.plural].discard(w)
        await resp.write_eof()
        return resp


def _reset(transport: asyncio.BaseTransport) -> None:
    """Close a TCP connection with a reset (SO_LINGER 0), as a crashed server's kernel would."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    assert isinstance(transport, asyncio.Transport)
    transport.abort()
