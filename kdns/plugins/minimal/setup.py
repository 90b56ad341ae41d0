"""``minimal`` takes no arguments."""

from __future__ import annotations

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns.plugins.minimal.plugin import NAME, Minimal


@directive(NAME)
def setup(c: Controller) -> None:
    for d in c:
        if d.args or d.block:
            raise c.arg_err(d)
    c.add_plugin(lambda nxt: Minimal(next=nxt))
