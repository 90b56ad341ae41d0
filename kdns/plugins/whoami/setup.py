"""``whoami`` takes no arguments."""

from __future__ import annotations

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns.plugins.whoami.plugin import NAME, Whoami


@directive(NAME)
def setup(c: Controller) -> None:
    d = c.once()
    if d.args or d.block:
        raise c.arg_err(d)
    c.add_plugin(lambda nxt: Whoami(next=nxt))
