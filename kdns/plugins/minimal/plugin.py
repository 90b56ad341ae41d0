"""The minimal handler: wraps the writer and strips Authority and Additional from NOERROR answers."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import dns.message

from kdns.pkg.response import Type, typify
from kdns.plugin import Handler, next_or_failure
from kdns.request import Request
from kdns.writer import ResponseWriter, WriterWrapper

NAME = "minimal"


def minimize(msg: dns.message.Message, do: bool = False) -> dns.message.Message:
    """``msg`` without Authority and Additional when it is a positive answer, else ``msg`` itself.

    A copy is returned: ``msg`` may belong to another plugin's store (a cache, a zone).
    Delegations, denials and errors keep every section (glue, SOA).
    """
    if not (msg.authority or msg.additional) or typify(msg, do=do) != Type.NOERROR:
        return msg
    out = copy.copy(msg)
    out.sections = [msg.sections[0], msg.sections[1], [], []]
    out.index = {}
    return out


class MinimalWriter(WriterWrapper):
    __slots__ = ("do",)

    def __init__(self, inner: ResponseWriter, do: bool) -> None:
        super().__init__(inner)
        self.do = do

    async def write_msg(self, msg: dns.message.Message) -> int:
        return await self.inner.write_msg(minimize(msg, self.do))


@dataclass(slots=True)
class Minimal:
    next: Handler | None = None
    name: str = NAME

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        return await next_or_failure(NAME, self.next, MinimalWriter(w, req.do), req)
