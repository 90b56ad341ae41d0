"""The plugin contract: a Handler serves a query, hands off with ``next_or_failure``.

The rcode a handler returns says who wrote the reply: SERVFAIL, REFUSED, FORMERR and NOTIMP
mean nothing was written yet, and the server writes that reply itself (see ``client_wrote``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import dns.rcode

from kdns.errors import NoNextPlugin, PluginError
from kdns.request import Request
from kdns.writer import ResponseWriter

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery

__all__ = [
    "FULL_PATH",
    "Handler",
    "PluginError",
    "PluginFactory",
    "Ready",
    "WireCache",
    "WireForward",
    "WireSkip",
    "WireStage",
    "WireStore",
    "client_wrote",
    "next_or_failure",
]


class Handler(Protocol):
    """One link of a plugin chain."""

    name: str

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int: ...


#: Builds a handler given the next one in the chain (CoreDNS's ``plugin.Plugin``).
PluginFactory = Callable[[Handler | None], Handler]


@runtime_checkable
class Ready(Protocol):
    """A plugin that can tell the *ready* plugin whether it is ready to serve."""

    def ready(self) -> bool: ...


@runtime_checkable
class WireStage(Protocol):
    """A plugin before *cache* that can take part in the cache-hit path (kdns.core.fastpath).

    ``wire_pass`` returns False when the query needs this plugin's full handler (the whole query
    then takes the full path); ``wire_done`` sees the reply bytes the cache produced, innermost
    plugin first, and may observe them or reorder records in place.
    """

    def wire_pass(self, q: WireQuery) -> bool: ...

    def wire_done(self, q: WireQuery, reply: bytearray, rcode: int) -> None: ...


#: what ``WireCache.wire_lookup`` returns when it has an entry but only its full handler may answer
#: (the cache-miss path must not send such a query upstream on its own)
FULL_PATH: tuple[bytearray, int] = (bytearray(), -1)


@runtime_checkable
class WireCache(Protocol):
    """A cache that can answer a WireQuery from stored bytes: (reply, rcode), None on a miss, or
    ``FULL_PATH``."""

    def wire_lookup(self, q: WireQuery) -> tuple[bytearray, int] | None: ...


@runtime_checkable
class WireStore(Protocol):
    """A WireCache that can also take an upstream's reply to a missed query (the cache-miss path):
    it stores it as the full path would and gives the client's reply bytes and rcode, or None when
    the full path must do that."""

    def wire_store(self, q: WireQuery, data: bytes) -> tuple[bytearray, int] | None: ...


@runtime_checkable
class WireSkip(Protocol):
    """A plugin after *cache* that the cache-miss path may step over: ``wire_skip`` is True when the
    plugin would only hand ``q`` to the next one."""

    def wire_skip(self, q: WireQuery) -> bool: ...


@runtime_checkable
class WireForward(Protocol):
    """A plugin that can send a missed query upstream from the wire path (see kdns.plugins.forward.wire)."""

    def wire_forward(self, q: WireQuery) -> bool: ...


_NOT_WRITTEN = frozenset({dns.rcode.SERVFAIL, dns.rcode.REFUSED, dns.rcode.FORMERR, dns.rcode.NOTIMP})


def client_wrote(rcode: int) -> bool:
    """False when ``rcode`` means the handler did not write a reply (the server must)."""
    return rcode not in _NOT_WRITTEN


async def next_or_failure(name: str, nxt: Handler | None, w: ResponseWriter, req: Request) -> int:
    """Call ``nxt``, or fail with SERVFAIL when ``name`` is the last plugin of the chain."""
    if nxt is None:
        raise NoNextPlugin(name)
    prev = req.plugin
    req.plugin = nxt.name
    try:
        return await nxt.serve_dns(w, req)
    finally:
        req.plugin = prev
