"""The autopath handler: walk a client's search path on the server, answer in one round trip."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import dns.message
import dns.rcode

from kdns.log import plugin_logger
from kdns.plugin import Handler, client_wrote, next_or_failure
from kdns.plugins.autopath import metrics, search
from kdns.request import Request
from kdns.writer import WriterWrapper

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery
    from kdns.writer import ResponseWriter

NAME = "autopath"
log = plugin_logger(NAME)


@runtime_checkable
class PodSource(Protocol):
    """What ``@PLUGIN`` must offer (the *kubernetes* plugin does): a client pod's namespace by IP."""

    def pod_namespace(self, ip: str) -> str | None: ...


class Capture(WriterWrapper):
    """Keeps the reply the rest of the chain writes instead of sending it."""

    __slots__ = ("msg",)

    def __init__(self, inner: ResponseWriter) -> None:
        super().__init__(inner)
        self.msg: dns.message.Message | None = None

    async def write_msg(self, msg: dns.message.Message) -> int:
        self.msg = msg
        return 0


@dataclass(slots=True)
class AutoPath:
    #: zones autopath acts in
    zones: tuple[str, ...]
    #: the RESOLV-CONF form's search list (with the "" sentinel); empty with ``@PLUGIN``
    static: tuple[str, ...] = ()
    #: the ``@PLUGIN`` name, '' for the RESOLV-CONF form
    plugin: str = ""
    #: kdns's own search domains, appended to a pod's list
    host: tuple[str, ...] = ()
    #: the block's handlers by directive (filled once the chain is built); where ``plugin`` is found
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    next: Handler | None = None
    name: str = NAME
    _source: PodSource | None = None
    _resolved: bool = False
    #: the zones of ``plugin`` (a pod's list is built on the one the query is in)
    _source_zones: tuple[str, ...] = ()
    #: (namespace, zone) -> search list
    _lists: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    # -- which list applies --------------------------------------------------------

    def resolve(self) -> PodSource | None:
        """Find ``@PLUGIN`` in the block (once); None when it is missing or cannot tell namespaces."""
        if self._resolved:
            return self._source
        if not self.handlers:
            return None  # chain not built yet
        self._resolved = True
        if not self.plugin:
            return None
        h = self.handlers.get(self.plugin)
        if h is None:
            log.warning("plugin %s is not in this server block: autopath does nothing", self.plugin)
            return None
        if not isinstance(h, PodSource):
            log.warning("plugin %s cannot tell a client's search path: autopath does nothing", self.plugin)
            return None
        opts = getattr(h, "opts", None)
        pods = getattr(opts, "pods", "verified")
        if pods != "verified":
            log.warning("plugin %s needs 'pods verified' for autopath: autopath does nothing", self.plugin)
            return None
        zones = getattr(opts, "zones", None) or getattr(h, "zones", None) or self.zones
        self._source_zones = tuple(search.fqdn(z) for z in zones)
        self._source = h
        return h

    def search_list(self, qname: str, ip: str) -> tuple[str, ...] | None:
        """The search list for a query, or None when autopath leaves it alone."""
        if search.zone_of(qname, self.zones) is None:
            return None
        if not self.plugin:
            return self.static or None
        src = self._source if self._resolved else self.resolve()
        if src is None:
            return None
        ns = src.pod_namespace(ip)
        if not ns:
            return None
        zone = search.zone_of(qname, self._source_zones)
        if zone is None:
            return None
        key = (ns, zone)
        lst = self._lists.get(key)
        if lst is None:
            if len(self._lists) > 4096:
                self._lists.clear()
            lst = self._lists[key] = search.kube_list(ns, zone, self.host)
        return lst

    def acts(self, qname: str, ip: str) -> tuple[str, ...] | None:
        """The search list when autopath takes this query (qname strictly under its first element)."""
        lst = self.search_list(qname, ip)
        if lst is None or not lst[0] or not search.base_len(qname, lst[0]):
            return None
        return lst

    # -- serving -------------------------------------------------------------------

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        lst = self.acts(req.qname, req.ip)
        if lst is None:
            return await next_or_failure(NAME, self.next, w, req)
        original = req.msg.question[0].name
        base = req.qname_raw[: search.base_len(req.qname, lst[0])]  # the client's case kept
        first_msg: dns.message.Message | None = None
        first_rc: int = dns.rcode.SERVFAIL
        for i, name in enumerate(search.candidates(base, lst)):
            cap = Capture(w)
            sub = req if i == 0 else req.with_question(name, req.qtype)  # the first is the query itself
            rc = await next_or_failure(NAME, self.next, cap, sub)
            if i == 0:
                first_msg, first_rc = cap.msg, rc
            msg = cap.msg
            if not client_wrote(rc) or msg is None or msg.rcode() == dns.rcode.NXDOMAIN:
                continue
            if i:
                msg.answer = search.add_cname(msg.answer, original)
                msg.question = list(req.msg.question)
            await w.write_msg(msg)
            metrics.success[(req.server,)].inc()
            return rc
        if client_wrote(first_rc) and first_msg is not None:
            await w.write_msg(first_msg)
        return first_rc

    # -- cache-hit path ------------------------------------------------------------

    def wire_pass(self, q: WireQuery) -> bool:
        """False when autopath would walk this query's search path (the full path does that)."""
        return self.acts(q.qname, q.remote[0]) is None

    def wire_done(self, q: WireQuery, reply: bytearray, rcode: int) -> None:
        pass
