"""``log [NAMES...] [FORMAT] { class CLASSES...; minDuration [DURATION] }``."""

from __future__ import annotations

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns.pkg.duration import parse_duration
from kdns.pkg.replacer import COMBINED_LOG_FORMAT, COMMON_LOG_FORMAT
from kdns.pkg.response import Class, class_from_string
from kdns.plugins.log.plugin import NAME, Logger, Rule

#: ``minDuration`` without an argument
DEFAULT_MIN_DURATION = 0.1
_SHORTCUTS = {"{common}": COMMON_LOG_FORMAT, "{combined}": COMBINED_LOG_FORMAT}


@directive(NAME)
def setup(c: Controller) -> None:
    rules = tuple(parse(c))
    c.add_plugin(lambda nxt: Logger(rules=rules, next=nxt))


def parse(c: Controller) -> list[Rule]:
    """One rule per name; every ``log`` line adds its names in order (the first match logs)."""
    rules: list[Rule] = []
    for d in c:
        args = list(d.args)
        fmt = COMMON_LOG_FORMAT
        if len(args) > 1 and "{" in args[-1]:
            fmt = _SHORTCUTS.get(args[-1], args[-1])
            args.pop()
        names = c.zones(args, at=d) if args else ["."]
        classes: set[Class] = set()
        min_duration = 0.0
        for o in d.block or []:
            if o.name == "class":
                if not o.args:
                    raise c.arg_err(o)
                for a in o.args:
                    try:
                        classes.add(class_from_string(a))
                    except ValueError as e:
                        raise c.err(str(e), at=o) from None
            elif o.name == "minDuration":
                if len(o.args) > 1:
                    raise c.arg_err(o)
                min_duration = DEFAULT_MIN_DURATION
                if o.args:
                    try:
                        min_duration = parse_duration(o.args[0])
                    except ValueError:
                        raise c.err(f"Illegal duration found: '{o.args[0]}'", at=o) from None
            else:
                raise c.err(f"unknown property '{o.name}'", at=o)
        cls = frozenset(classes or {Class.ALL})
        rules.extend(Rule(name=n, format=fmt, classes=cls, min_duration=min_duration) for n in names)
    return rules
