"""``rewrite [continue|stop] FIELD ARGS...`` or ``rewrite [continue|stop] { FIELD ARGS... }``.

Every rewrite line is one rule; a block's lines are joined into that one rule (CoreDNS's strict
``name ... / answer ...`` block form). All rules of a server block go into one plugin, in line order.
"""

from __future__ import annotations

from dataclasses import dataclass

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns.plugins.rewrite.plugin import Rewrite
from kdns.plugins.rewrite.rules import NAME, Rule, RuleError, new_rule


@dataclass(frozen=True, slots=True)
class RewriteOptions:
    rules: tuple[Rule, ...] = ()


def parse(c: Controller) -> RewriteOptions:
    rules: list[Rule] = []
    for d in c:
        args = list(d.args)
        if d.block is not None:
            if len(args) > 1:
                raise c.err("a rule on the rewrite line cannot also have a block", at=d)
            for line in d.block:
                if line.block is not None:
                    raise c.err("unexpected nested block in a rewrite rule", at=line)
                args.append(line.name)
                args.extend(line.args)
        try:
            rules.append(new_rule(args))
        except RuleError as e:
            raise c.err(str(e), at=d) from None
    return RewriteOptions(tuple(rules))


@directive(NAME)
def setup(c: Controller) -> None:
    opts = parse(c)
    c.add_plugin(lambda nxt: Rewrite(rules=opts.rules, next=nxt))
