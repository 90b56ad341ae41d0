"""The self-probe: ``<random>.<random>.<zone> HINFO`` sent to the block's own listener until answered."""

from __future__ import annotations

import asyncio
import random
import time

import dns.asyncquery
import dns.exception
import dns.message
import dns.rdatatype

from kdns.plugins.loop.plugin import Loop, Settings, log

_RANDOM = random.SystemRandom()


def probe_name(zone: str) -> str:
    """Two random decimal labels under ``zone`` (a normalised FQDN)."""
    a, b = _RANDOM.getrandbits(63), _RANDOM.getrandbits(63)
    return f"{a}.{b}.{zone}" if zone != "." else f"{a}.{b}."


def target_host(listen_host: str) -> str:
    """Where to send the probe for a listen host: loopback when it listens on every address."""
    if listen_host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if listen_host == "::":
        return "::1"
    return listen_host


async def run(loop: Loop, host: str, port: int, s: Settings) -> None:
    """Probe until one answer arrives or ``s.deadline`` passes, then switch the handler off.

    A probe that fails (no answer in time, refused) resets the count: only copies of one probe
    that come back while it is outstanding mean a loop.
    """
    end = time.monotonic() + s.deadline
    try:
        while (left := end - time.monotonic()) > 0:
            q = dns.message.make_query(loop.qname, dns.rdatatype.HINFO)
            try:
                await dns.asyncquery.udp(q, host, port=port, timeout=min(s.timeout, left))
            except (dns.exception.DNSException, OSError, EOFError):
                loop.seen = 0
                await asyncio.sleep(min(s.interval, max(end - time.monotonic(), 0)))
                continue
            await asyncio.sleep(s.linger)
            return
        log.warning('no answer to the loop probe for zone "%s" in %gs, loop detection is off', loop.zone, s.deadline)
    finally:
        loop.off = True
