"""``health [ADDRESS] { lameduck DURATION }``: one endpoint per address, process-wide."""

from __future__ import annotations

from dataclasses import dataclass

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns.pkg.duration import parse_duration
from kdns.pkg.httpserver import http_addr, local_url
from kdns.plugins.health.plugin import NAME, PATH, Health

DEFAULT_ADDR = ":8080"


@dataclass(frozen=True, slots=True)
class HealthOptions:
    addr: str = DEFAULT_ADDR
    #: seconds the process keeps answering after it was told to stop
    lameduck: float = 0.0


def parse(c: Controller) -> HealthOptions:
    d = c.once()
    addr = http_addr(c, d, DEFAULT_ADDR)
    lameduck = 0.0
    for opt in d.block or []:
        if opt.name != "lameduck":
            raise c.err(f"unknown property '{opt.name}'", at=opt)
        if len(opt.args) != 1 or opt.block is not None:
            raise c.arg_err(opt)
        try:
            lameduck = parse_duration(opt.args[0])
        except ValueError as e:
            raise c.err(f"unable to parse lameduck duration value: {opt.args[0]!r}", at=opt) from e
        if lameduck < 0:
            raise c.err(f"lameduck duration must not be negative: {opt.args[0]!r}", at=opt)
    return HealthOptions(addr, lameduck)


@directive(NAME)
def setup(c: Controller) -> None:
    opts = parse(c)

    def url() -> str:
        runner = c.instance.runner
        assert runner is not None
        return local_url(opts.addr, runner.http.port(opts.addr), PATH)

    h = Health(opts.addr, opts.lameduck, url)
    # A second health on the same address (any block) is refused here: one endpoint per address.
    c.http_route(opts.addr, PATH, h.handle)
    if not c.checking:
        c.on_startup(h.start)
        c.on_shutdown(h.stop)
        c.on_final_shutdown(h.enter_lameduck)
