"""``hosts [FILE [ZONES...]] { INLINE; ttl S; no_reverse; reload DUR; fallthrough [ZONES...]; ... }``."""

from __future__ import annotations

import os
from dataclasses import dataclass

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns.log import plugin_logger
from kdns.pkg.duration import parse_duration
from kdns.pkg.fall import NEVER, Fall
from kdns.plugins.hosts import metrics
from kdns.plugins.hosts.hostsfile import HostsFile, parse_ip
from kdns.plugins.hosts.plugin import NAME, Hosts

log = plugin_logger(NAME)
DEFAULT_PATH = "/etc/hosts"
OPTIONS = frozenset({"ttl", "no_reverse", "reload", "fallthrough", "fallthrough_unsupported"})


@dataclass(frozen=True, slots=True)
class HostsOptions:
    path: str = DEFAULT_PATH
    origins: tuple[str, ...] = (".",)
    #: inline hosts lines from the block, in order
    inline: tuple[str, ...] = ()
    ttl: int = 3600
    auto_reverse: bool = True
    #: seconds between checks of the file; 0 disables
    reload: float = 5.0
    fall: Fall = NEVER
    fall_unsupported: bool = False


def parse(c: Controller) -> HostsOptions:
    """The options of the (single) hosts line; ConfigError located at the offending line."""
    d = c.once()
    args = list(d.args)
    path = DEFAULT_PATH
    if args:
        path = args.pop(0)
    origins = tuple(c.zones(args, at=d))
    inline: list[str] = []
    ttl, auto_reverse, reload = 3600, True, 5.0
    fall, fall_unsupported = NEVER, False
    for o in d.block or []:
        if o.name not in OPTIONS:
            if fall.enabled or parse_ip(o.name) is None:
                raise c.err(f"unknown property '{o.name}'", at=o)
            if o.block is not None:
                raise c.arg_err(o)
            inline.append(" ".join([o.name, *o.args]))
            continue
        if o.block is not None:
            raise c.arg_err(o)
        if o.name == "ttl":
            if len(o.args) != 1:
                raise c.err("ttl needs a time in second", at=o)
            try:
                ttl = int(o.args[0])
            except ValueError:
                raise c.err("ttl needs a number of second", at=o) from None
            if not 0 < ttl <= 65535:
                raise c.err("ttl provided is invalid", at=o)
        elif o.name == "no_reverse":
            if o.args:
                raise c.arg_err(o)
            auto_reverse = False
        elif o.name == "reload":
            if len(o.args) != 1:
                raise c.err("reload needs a duration (zero seconds to disable)", at=o)
            try:
                reload = parse_duration(o.args[0])
            except ValueError:
                raise c.err(f"invalid duration for reload '{o.args[0]}'", at=o) from None
            if reload < 0:
                raise c.err(f"invalid negative duration for reload '{o.args[0]}'", at=o)
        elif o.name == "fallthrough":
            fall = Fall.from_directive(c, o)
        else:  # fallthrough_unsupported
            if o.args:
                raise c.arg_err(o)
            fall_unsupported = True
    if fall_unsupported and not fall.enabled:
        raise c.err("fallthrough_unsupported requires fallthrough", at=d)
    return HostsOptions(path, origins, tuple(inline), ttl, auto_reverse, reload, fall, fall_unsupported)


def check_path(c: Controller, opts: HostsOptions) -> None:
    """Warn about a missing file or a directory; fail when the file cannot be accessed."""
    try:
        os.stat(opts.path)
    except FileNotFoundError:
        log.warning("File does not exist: %s", opts.path)
        return
    except OSError as e:
        raise c.err(f"unable to access hosts file '{opts.path}': {e.strerror}") from e
    if os.path.isdir(opts.path):
        log.warning("Hosts file %r is a directory", opts.path)


def _report(data: HostsFile, mtime: float) -> None:
    metrics.ENTRIES.labels(data.path).set(data.tables.count)
    if mtime:
        metrics.RELOAD_TIMESTAMP.set(mtime)


@directive(NAME)
def setup(c: Controller) -> None:
    opts = parse(c)
    check_path(c, opts)
    data = HostsFile(
        opts.path,
        inline="\n".join(opts.inline),
        origins=opts.origins,
        ttl=opts.ttl,
        auto_reverse=opts.auto_reverse,
        reload=opts.reload,
        on_change=_report,
    )
    if not data.read():
        _report(data, 0.0)
    if not c.checking:
        c.on_startup(data.start)
        c.on_shutdown(data.stop)
    c.add_plugin(
        lambda nxt: Hosts(
            data=data, origins=opts.origins, fall=opts.fall, fall_unsupported=opts.fall_unsupported, next=nxt
        )
    )
