"""``errors [stdout] { stacktrace; consolidate DURATION REGEXP [LEVEL] [show_first] }``, once per block."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from kdns.config.controller import Controller
from kdns.config.parser import Directive
from kdns.config.registry import directive
from kdns.pkg.duration import parse_duration
from kdns.plugin import Handler
from kdns.plugins.errors.plugin import NAME, Errors, Pattern

MAX_REGEXP = 10000
LEVELS = {
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}


@dataclass(frozen=True, slots=True)
class Options:
    patterns: tuple[Pattern, ...] = ()
    stacktrace: bool = False


@directive(NAME)
def setup(c: Controller) -> None:
    opts = parse(c)
    made: list[Errors] = []

    def build(nxt: Handler | None) -> Errors:
        h = Errors(patterns=opts.patterns, stacktrace=opts.stacktrace, next=nxt)
        made.append(h)
        return h

    async def stop() -> None:
        for h in made:
            await h.stop()

    c.on_shutdown(stop)
    c.add_plugin(build)


def parse(c: Controller) -> Options:
    d = c.once()
    if len(d.args) > 1:
        raise c.arg_err(d)
    if d.args and d.args[0] != "stdout":
        raise c.err(f"invalid log file: {d.args[0]}", at=d)
    patterns: list[Pattern] = []
    stacktrace = False
    for o in d.block or []:
        if o.name in ("stacktrace", "panicRecoveryStacktrace"):
            if o.args:
                raise c.arg_err(o)
            stacktrace = True
        elif o.name == "consolidate":
            patterns.append(_consolidate(c, o))
        else:
            raise c.err(f"unknown property '{o.name}'", at=o)
    return Options(tuple(patterns), stacktrace)


def _consolidate(c: Controller, o: Directive) -> Pattern:
    args = list(o.args)
    if not 2 <= len(args) <= 4:
        raise c.arg_err(o)
    try:
        period = parse_duration(args[0])
    except ValueError as e:
        raise c.err(str(e), at=o) from None
    if len(args[1]) > MAX_REGEXP:
        raise c.err(f"regexp too long: {len(args[1])} characters, at most {MAX_REGEXP}", at=o)
    try:
        regex = re.compile(args[1])
    except re.error as e:
        raise c.err(f"invalid regexp {args[1]!r}: {e}", at=o) from None
    show_first = False
    if len(args) > 2 and args[-1] == "show_first":
        show_first = True
        args.pop()
    if len(args) == 4:
        raise c.err(f"unknown option in consolidate: {args[3]}", at=o)
    level = logging.ERROR
    if len(args) == 3:
        if args[2] not in LEVELS:
            raise c.err(f"unknown log level argument in consolidate: {args[2]}", at=o)
        level = LEVELS[args[2]]
    return Pattern(period=period, regex=regex, level=level, show_first=show_first)
