"""The loop handler: counts the arrivals of its own probe name and stops the process on a loop."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dns.rcode
import dns.rdatatype

from kdns.log import plugin_logger
from kdns.plugin import Handler, next_or_failure
from kdns.request import Request
from kdns.writer import ResponseWriter

if TYPE_CHECKING:
    from kdns.core.fastpath import WireQuery

NAME = "loop"
#: a probe seen more often than this means the query came back to us: a loop
MAX_SEEN = 2
HELP = "https://coredns.io/plugins/loop#troubleshooting"

log = plugin_logger(NAME)


def exit_process() -> None:
    """The default reaction to a loop: flush the log and exit with status 1 at once (CoreDNS's log.Fatal)."""
    sys.stderr.flush()
    os._exit(1)


@dataclass
class Settings:
    """What tests may change (before the instance is built): the exit and the probe timing, in seconds."""

    on_loop: Callable[[], None] = exit_process
    #: keep probing this long for a first answer
    deadline: float = 30.0
    #: wait between failed probes
    interval: float = 1.0
    #: per probe
    timeout: float = 2.0
    #: after the first answer, keep counting this long before going quiet (late copies of a loop)
    linger: float = 2.0


SETTINGS = Settings()


def host_port(host: str, port: int) -> str:
    """``host:port`` as Go's JoinHostPort writes it (IPv6 in brackets, ``:port`` for every address)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(slots=True)
class Loop:
    zone: str
    #: the probe name, lower-case FQDN
    qname: str
    next: Handler | None = None
    on_loop: Callable[[], None] = exit_process
    #: the listener probed (for the log line); set when probing starts
    address: str = ""
    seen: int = 0
    #: True once a probe was answered (or probing gave up): from then on every query passes straight through
    off: bool = False
    fired: bool = False
    name: str = NAME

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        if not self.off and req.qtype == dns.rdatatype.HINFO and req.qname == self.qname:
            self.seen += 1
            if self.seen > MAX_SEEN:
                self.detected(req)
                return dns.rcode.SERVFAIL  # do not send it round again
        return await next_or_failure(self.name, self.next, w, req)

    def wire_skip(self, q: WireQuery) -> bool:
        """The cache-miss path may step over loop for anything but HINFO (its probe's type)."""
        return q.qtype != dns.rdatatype.HINFO

    def detected(self, req: Request) -> None:
        self.off = True
        if self.fired:
            return
        self.fired = True
        log.critical(
            'Loop (%s -> %s) detected for zone "%s", see %s. Query: "HINFO %s"',
            host_port(*req.remote),
            self.address,
            self.zone,
            HELP,
            self.qname,
        )
        self.on_loop()
