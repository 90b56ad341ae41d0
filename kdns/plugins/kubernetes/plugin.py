"""The kubernetes handler: cluster names answered from the Store, memoised per name until it changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from kdns.pkg.fall import Fall, match_zone
from kdns.plugin import Handler, next_or_failure
from kdns.plugins.kubernetes.answers import Answers, Result
from kdns.plugins.kubernetes.options import KubeOptions
from kdns.plugins.kubernetes.store import Store
from kdns.request import Request
from kdns.writer import ResponseWriter

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery

NAME = "kubernetes"

AXFR = dns.rdatatype.AXFR
IXFR = dns.rdatatype.IXFR
A = dns.rdatatype.A
AAAA = dns.rdatatype.AAAA
#: memoised answers kept per store generation before the memo starts over
MEMO_MAX = 10_000


def _true() -> bool:
    return True


class _Capture:
    """A writer that keeps what the rest of the chain wrote for an ExternalName target."""

    __slots__ = ("local", "msg", "proto", "remote", "written")

    def __init__(self, w: ResponseWriter) -> None:
        self.remote = w.remote
        self.local = w.local
        self.proto = w.proto
        self.msg: dns.message.Message | None = None
        self.written = False

    async def write_msg(self, msg: dns.message.Message) -> int:
        self.msg = msg
        self.written = True
        return 0


@dataclass(slots=True)
class Kubernetes:
    opts: KubeOptions
    store: Store
    #: the source's ``synced`` (True once the first list of every watched kind is in the store)
    synced: Callable[[], bool] = _true
    #: this server's own addresses (``ns.dns.<zone>`` and the apex NS glue)
    local_ips: tuple[str, ...] = ()
    next: Handler | None = None
    name: str = NAME
    answers: Answers = field(init=False, repr=False)
    fall: Fall = field(init=False, repr=False)
    _memo: dict[tuple[str, int], Result] = field(init=False, repr=False, default_factory=dict)
    _memo_gen: tuple[int, bool] = field(init=False, repr=False, default=(-1, False))

    def __post_init__(self) -> None:
        self.answers = Answers(self.store, self.opts, self.local_ips)
        self.fall = self.opts.fall

    # -- for ready and autopath ----------------------------------------------------------

    def ready(self) -> bool:
        return self.synced()

    def pod_namespace(self, ip: str) -> str | None:
        """The namespace of the pod with ``ip`` (only with ``pods verified``), for *autopath*."""
        if self.opts.pods != "verified":
            return None
        pods = self.store.pods_by_ip(ip)
        return pods[0].namespace if pods else None

    # -- serving -------------------------------------------------------------------------

    def result(self, req: Request, zone: str) -> Result:
        """The memoised answer to ``req`` (keyed by the query's spelling and type)."""
        gen = (self.store.generation, self.synced())
        if gen != self._memo_gen or len(self._memo) >= MEMO_MAX:
            self._memo = {}
            self._memo_gen = gen
        key = (req.qname_raw, req.qtype)
        res = self._memo.get(key)
        if res is None:
            res = self._memo[key] = self.answers.lookup(req.qname, req.qname_raw, zone, req.qtype)
        return res

    def wire_skip(self, q: WireQuery) -> bool:
        """The cache-miss path may step over kubernetes for names outside its zones."""
        return match_zone(self.opts.zones, q.qname) is None

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        qname = req.qname
        zone = match_zone(self.opts.zones, qname)
        if zone is None:
            return await next_or_failure(NAME, self.next, w, req)
        qtype = req.qtype
        if qtype in (AXFR, IXFR):
            return dns.rcode.REFUSED
        res = self.result(req, zone)
        rcode = res.rcode
        if res.name_error:
            if self.fall.through(qname):
                return await next_or_failure(NAME, self.next, w, req)
            if not self.synced():
                rcode = dns.rcode.SERVFAIL
        reply = req.reply()
        reply.flags |= dns.flags.AA
        if rcode:
            reply.set_rcode(dns.rcode.Rcode.make(rcode))
        # copies: a later plugin may change what it is given, the memo keeps its own
        reply.answer = [r.copy() for r in res.answer]
        reply.authority = [r.copy() for r in res.authority]
        reply.additional = [r.copy() for r in res.extra]
        if res.chase is not None:
            await self._chase(w, req, res.chase, reply)
            rcode = reply.rcode()
        await w.write_msg(reply)
        # SERVFAIL with the SOA is written here: report "written" as CoreDNS does (NOERROR)
        return rcode if rcode != dns.rcode.SERVFAIL else dns.rcode.NOERROR

    async def _chase(self, w: ResponseWriter, req: Request, target: str, reply: dns.message.Message) -> None:
        """Resolve an out-of-zone ExternalName target through the rest of the chain; add what it found.

        Upstream NXDOMAIN makes the reply NXDOMAIN (RFC 6604); a failed lookup leaves the CNAME alone.
        """
        cap = _Capture(w)
        try:
            rcode = await next_or_failure(NAME, self.next, cap, req.with_question(target, req.qtype))
        except Exception:
            return
        got = cap.msg
        if got is None or rcode in (dns.rcode.SERVFAIL, dns.rcode.REFUSED) or got.rcode() not in (0, 3):
            return
        reply.answer.extend(got.answer)
        if got.rcode() == dns.rcode.NXDOMAIN:
            reply.set_rcode(dns.rcode.NXDOMAIN)
        if not got.answer:
            reply.authority = list(got.authority)
        if got.flags & dns.flags.TC:
            reply.flags |= dns.flags.TC
