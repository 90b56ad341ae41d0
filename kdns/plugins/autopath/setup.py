"""``autopath [ZONES...] RESOLV-CONF|@PLUGIN``."""

from __future__ import annotations

from dataclasses import dataclass

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns.plugin import Handler
from kdns.plugins.autopath import search
from kdns.plugins.autopath.plugin import NAME, AutoPath

#: where kdns's own search domains come from (appended to a pod's search list)
HOST_RESOLV = "/etc/resolv.conf"


@dataclass(frozen=True, slots=True)
class AutoPathOptions:
    zones: tuple[str, ...]
    #: the RESOLV-CONF form's search list, with the "" sentinel; empty with @PLUGIN
    static: tuple[str, ...] = ()
    #: the @PLUGIN name without the @; '' for the RESOLV-CONF form
    plugin: str = ""
    #: kdns's own search domains (read for the @PLUGIN form)
    host: tuple[str, ...] = ()


def parse(c: Controller, host_resolv: str = HOST_RESOLV) -> AutoPathOptions:
    d = c.once()
    if d.block is not None:
        raise c.arg_err(d)
    if not d.args:
        raise c.err("no resolv-conf specified", at=d)
    *zone_args, source = d.args
    zones = tuple(c.zones(zone_args, at=d))
    if source.startswith("@"):
        if len(source) == 1:
            raise c.err("no plugin name after '@'", at=d)
        return AutoPathOptions(zones, plugin=source[1:].lower(), host=_host_search(host_resolv))
    try:
        found = _read_search(source)
    except OSError as e:
        raise c.err(f"failed to parse {source!r}: {e.strerror or e}", at=d) from e
    return AutoPathOptions(zones, static=search.static_list(found))


def _host_search(path: str) -> tuple[str, ...]:
    """kdns's own search domains; none when ``path`` cannot be read."""
    try:
        return tuple(_read_search(path))
    except OSError:
        return ()


def _read_search(path: str) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return search.resolv_search(f.read())


@directive(NAME)
def setup(c: Controller) -> None:
    opts = parse(c)
    handlers = c.config.handlers
    made: list[AutoPath] = []

    def make(nxt: Handler | None) -> AutoPath:
        ap = AutoPath(opts.zones, opts.static, opts.plugin, opts.host, handlers, next=nxt)
        made.append(ap)
        return ap

    async def find_plugin() -> None:
        for ap in made:
            ap.resolve()  # warns now, at start, when @PLUGIN cannot serve

    c.add_plugin(make)
    if opts.plugin:
        c.on_startup(find_plugin)
