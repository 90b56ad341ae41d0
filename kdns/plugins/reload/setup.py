"""``reload [INTERVAL] [JITTER]``: default 30s and 15s; at least 2s and 1s; jitter at most INTERVAL/2."""

from __future__ import annotations

from dataclasses import dataclass

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns.pkg.duration import parse_duration
from kdns.plugins.reload.reloader import NAME, Reloader

#: smallest interval and jitter a Corefile may ask for (tests lower these, never the Corefile)
MIN_INTERVAL = 2.0
MIN_JITTER = 1.0
DEFAULT_INTERVAL = 30.0
DEFAULT_JITTER = 15.0
SHARED_KEY = "reload.reloader"


@dataclass(frozen=True, slots=True)
class ReloadOptions:
    interval: float = DEFAULT_INTERVAL
    jitter: float = DEFAULT_JITTER


def _duration(c: Controller, text: str, what: str) -> float:
    try:
        return parse_duration(text)
    except ValueError:
        raise c.err(f"invalid {what} duration '{text}'") from None


def parse(c: Controller) -> ReloadOptions:
    d = c.once()
    if len(d.args) > 2 or d.block is not None:
        raise c.arg_err(d)
    interval, jitter = DEFAULT_INTERVAL, DEFAULT_JITTER
    if d.args:
        interval = _duration(c, d.args[0], "interval")
        if interval < MIN_INTERVAL:
            raise c.err(f"interval value must be greater or equal to {MIN_INTERVAL:g}s", at=d)
    if len(d.args) > 1:
        jitter = _duration(c, d.args[1], "jitter")
        if jitter != 0 and jitter < MIN_JITTER:
            raise c.err(f"jitter value must be greater or equal to {MIN_JITTER:g}s (or 0s)", at=d)
    return ReloadOptions(interval, min(jitter, interval / 2))


@directive(NAME)
def setup(c: Controller) -> None:
    opts = parse(c)
    if c.checking:
        return
    inst = c.instance
    if SHARED_KEY in inst.shared:
        return  # one loop per instance, whatever the number of blocks with reload
    runner = inst.runner
    if runner is None:
        return
    r = Reloader(inst.corefile.files, runner.reload, interval=opts.interval, jitter=opts.jitter)
    inst.shared[SHARED_KEY] = r
    c.on_startup(r.start)
    c.on_shutdown(r.stop)
