"""Response writers: what plugins write replies to, and wrappers that observe or change them."""

from __future__ import annotations

import time
from typing import Protocol

import dns.message


class ResponseWriter(Protocol):
    """Where a reply goes. ``write_msg`` returns the number of bytes sent (0 if dropped)."""

    remote: tuple[str, int]
    local: tuple[str, int]
    proto: str

    async def write_msg(self, msg: dns.message.Message) -> int: ...


class WriterWrapper:
    """Base for writers that wrap another: override ``write_msg`` and call ``self.inner``."""

    __slots__ = ("inner", "local", "proto", "remote")

    def __init__(self, inner: ResponseWriter) -> None:
        self.inner = inner
        self.remote = inner.remote
        self.local = inner.local
        self.proto = inner.proto

    async def write_msg(self, msg: dns.message.Message) -> int:
        return await self.inner.write_msg(msg)


class Recorder(WriterWrapper):
    """Remembers what was written: rcode, message, size and when the request started."""

    __slots__ = ("len", "msg", "rcode", "start")

    def __init__(self, inner: ResponseWriter) -> None:
        super().__init__(inner)
        self.rcode = 0
        self.len = 0
        self.msg: dns.message.Message | None = None
        self.start = time.monotonic()

    async def write_msg(self, msg: dns.message.Message) -> int:
        self.rcode = msg.rcode()
        self.msg = msg
        n = await self.inner.write_msg(msg)
        self.len += n
        return n

    @property
    def wrote(self) -> bool:
        return self.msg is not None
