"""``local { localhost_prefix on|off }``."""

from __future__ import annotations

from dataclasses import dataclass

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns.plugins.local.plugin import NAME, Local


@dataclass(frozen=True, slots=True)
class Options:
    localhost_prefix: bool = True


@directive(NAME)
def setup(c: Controller) -> None:
    opts = parse(c)
    c.add_plugin(lambda nxt: Local(next=nxt, localhost_prefix=opts.localhost_prefix))


def parse(c: Controller) -> Options:
    d = c.once()
    if d.args:
        raise c.arg_err(d)
    prefix = True
    for o in d.block or []:
        if o.name != "localhost_prefix":
            raise c.err(f"unknown property '{o.name}'", at=o)
        if len(o.args) != 1:
            raise c.arg_err(o)
        if o.args[0] not in ("on", "off"):
            raise c.err(f"localhost_prefix must be 'on' or 'off', not '{o.args[0]}'", at=o)
        prefix = o.args[0] == "on"
    return Options(localhost_prefix=prefix)
