"""The loadbalance handler: wraps the writer so replies from later plugins are reordered."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dns.message

from kdns.plugin import Handler, next_or_failure
from kdns.plugins.loadbalance.shuffle import Policy
from kdns.plugins.loadbalance.wire import WireBalance
from kdns.request import Request
from kdns.writer import ResponseWriter, WriterWrapper

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery

NAME = "loadbalance"


class ShuffleWriter(WriterWrapper):
    """Writes a reordered copy of each reply (the message handed in is left as it is)."""

    __slots__ = ("policy",)

    def __init__(self, inner: ResponseWriter, policy: Policy) -> None:
        super().__init__(inner)
        self.policy = policy

    async def write_msg(self, msg: dns.message.Message) -> int:
        return await self.inner.write_msg(self.policy.apply(msg))


@dataclass(slots=True)
class LoadBalance:
    policy: Policy = field(default_factory=Policy)
    next: Handler | None = None
    name: str = NAME
    #: the policy on reply bytes, for cache hits
    wire: WireBalance = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.wire = WireBalance(self.policy)

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        return await next_or_failure(NAME, self.next, ShuffleWriter(w, self.policy), req)

    def wire_pass(self, q: WireQuery) -> bool:
        """Round robin and prefer work on the bytes; the weighted policy takes the full path."""
        return self.policy.weights is None

    def wire_done(self, q: WireQuery, reply: bytearray, rcode: int) -> None:
        self.wire.apply(q, reply, rcode)
