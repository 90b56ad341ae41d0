"""``loop`` takes no arguments; it probes the first zone of its block through the block's first listener."""

from __future__ import annotations

import asyncio

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns.plugin import Handler
from kdns.plugins.loop import plugin, probe
from kdns.plugins.loop.plugin import NAME, Loop, host_port


def parse(c: Controller) -> str:
    """The zone to probe: the block's first zone."""
    d = c.once()
    if d.args or d.block is not None:
        raise c.arg_err(d)
    return c.config.zones[0]


@directive(NAME)
def setup(c: Controller) -> None:
    zone = parse(c)
    s = plugin.SETTINGS
    handler = Loop(zone, probe.probe_name(zone), on_loop=s.on_loop)
    c.add_plugin(lambda nxt: _link(handler, nxt))
    if c.checking:
        return
    cfg = c.config
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        listen, port = cfg.listen_hosts[0], cfg.addresses[0].port
        runner = c.instance.runner
        bound = runner.port(listen, port) if runner is not None else port
        handler.address = host_port(listen, bound)
        tasks.append(asyncio.get_running_loop().create_task(probe.run(handler, probe.target_host(listen), bound, s)))

    async def stop() -> None:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    c.on_listening(start)
    c.on_shutdown(stop)


def _link(handler: Loop, nxt: Handler | None) -> Loop:
    handler.next = nxt
    return handler
