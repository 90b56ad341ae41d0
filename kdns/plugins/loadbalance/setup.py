"""``loadbalance [round_robin | weighted WEIGHTFILE] { reload DURATION; prefer CIDR... }``."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns.log import plugin_logger
from kdns.pkg.duration import parse_duration
from kdns.plugins.loadbalance.plugin import NAME, LoadBalance
from kdns.plugins.loadbalance.shuffle import Network, Policy
from kdns.plugins.loadbalance.weighted import WeightFile

log = plugin_logger(NAME)
ROUND_ROBIN = "round_robin"
WEIGHTED = "weighted"


@dataclass(frozen=True, slots=True)
class LoadBalanceOptions:
    policy: str = ROUND_ROBIN
    #: the weight file (weighted only)
    weight_file: str = ""
    #: seconds between weight file checks (weighted only); 0 disables
    reload: float = 30.0
    subnets: tuple[Network, ...] = ()


def parse(c: Controller) -> LoadBalanceOptions:
    """The options of the (single) loadbalance line."""
    d = c.once()
    policy, weight_file = ROUND_ROBIN, ""
    if d.args:
        policy = d.args[0]
        if policy == ROUND_ROBIN:
            if len(d.args) > 1:
                raise c.err(f"unknown property for {policy}", at=d)
        elif policy == WEIGHTED:
            if len(d.args) < 2:
                raise c.err("missing weight file argument", at=d)
            if len(d.args) > 2:
                raise c.err("unexpected argument(s)", at=d)
            weight_file = d.args[1]
        else:
            raise c.err(f"unknown policy: {policy}", at=d)
    reload = 30.0
    subnets: list[Network] = []
    for o in d.block or []:
        if o.block is not None:
            raise c.arg_err(o)
        if o.name == "reload" and policy == WEIGHTED:
            if not o.args:
                raise c.err("reload duration value is missing", at=o)
            if len(o.args) > 1:
                raise c.err("unexpected argument", at=o)
            try:
                reload = parse_duration(o.args[0])
            except ValueError:
                reload = -1
            if reload < 0:
                raise c.err(f"invalid reload duration '{o.args[0]}'", at=o)
        elif o.name == "prefer":
            if not o.args:
                raise c.arg_err(o)
            for cidr in o.args:
                try:
                    if "/" not in cidr:
                        raise ValueError("not in CIDR notation")
                    subnets.append(ipaddress.ip_network(cidr, strict=False))
                except ValueError as e:
                    raise c.err(f'invalid CIDR "{cidr}": {e}', at=o) from None
        else:
            raise c.err(f"unknown property '{o.name}'", at=o)
    return LoadBalanceOptions(policy, weight_file, reload, tuple(subnets))


def load_weights(c: Controller, opts: LoadBalanceOptions) -> WeightFile:
    """The weight file, read now: a parse error fails setup; a missing file too unless it is reloaded."""
    wf = WeightFile(opts.weight_file, opts.reload)
    try:
        wf.read()
    except OSError as e:
        if opts.reload == 0:
            raise c.err(f"weight file open error: {opts.weight_file}: {e.strerror}") from None
        log.warning("Failed to open weight file %s: %s. Will try again in %gs", wf.path, e.strerror, opts.reload)
    except ValueError as e:
        raise c.err(str(e)) from None
    return wf


@directive(NAME)
def setup(c: Controller) -> None:
    opts = parse(c)
    weights = load_weights(c, opts) if opts.policy == WEIGHTED else None
    if weights is not None and not c.checking:
        c.on_startup(weights.start)
        c.on_shutdown(weights.stop)
    policy = Policy(opts.subnets, weights=weights)
    c.add_plugin(lambda nxt: LoadBalance(policy=policy, next=nxt))
