"""`kdns nodelocal`: the NodeLocal DNSCache node agent (kubernetes/dns node-cache's job)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from kdns import log as kdns_log
from kdns.nodelocal.agent import Agent, Options, parse_args

__all__ = ["Agent", "Options", "main", "parse_args"]


def _run(coro: Coroutine[Any, Any, int]) -> int:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return int(uvloop.run(coro))


def main(argv: list[str]) -> int:
    """Run the agent with node-cache's flags (``argv`` without the ``nodelocal`` word)."""
    opts = parse_args(argv)
    kdns_log.setup(quiet=opts.quiet)
    return _run(_main(opts))


async def _main(opts: Options) -> int:
    return await Agent(opts).run()
