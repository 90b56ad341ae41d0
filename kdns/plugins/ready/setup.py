"""``ready [ADDRESS] { monitor until-ready|continuously }``: once per block."""

from __future__ import annotations

from dataclasses import dataclass

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns.pkg.httpserver import http_addr
from kdns.plugins.ready.plugin import NAME, PATH, Readiness

DEFAULT_ADDR = ":8181"
MONITORS = ("until-ready", "continuously")


@dataclass(frozen=True, slots=True)
class ReadyOptions:
    addr: str = DEFAULT_ADDR
    #: re-ask plugins that were ready before (monitor continuously)
    continuously: bool = False


def parse(c: Controller) -> ReadyOptions:
    d = c.once()
    addr = http_addr(c, d, DEFAULT_ADDR)
    continuously = False
    for opt in d.block or []:
        if opt.name != "monitor":
            raise c.err(f"unknown property '{opt.name}'", at=opt)
        if len(opt.args) != 1 or opt.block is not None:
            raise c.arg_err(opt)
        if opt.args[0] not in MONITORS:
            raise c.err(f"monitor type '{opt.args[0]}' not supported", at=opt)
        continuously = opt.args[0] == "continuously"
    return ReadyOptions(addr, continuously)


@directive(NAME)
def setup(c: Controller) -> None:
    opts = parse(c)
    readiness: Readiness = c.shared(NAME, Readiness)
    if opts.addr not in readiness.addrs:  # blocks sharing an address share its /ready
        readiness.addrs.add(opts.addr)
        c.http_route(opts.addr, PATH, readiness.handle)
    if c.checking:
        return
    readiness.instance = c.instance
    cfg = c.config

    async def collect() -> None:  # the chain is built after setup: ask for its plugins at startup
        readiness.collect(cfg, opts.continuously)

    c.on_startup(collect)
