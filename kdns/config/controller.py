"""What a plugin's ``setup`` gets: its directive lines, the block's config, and hooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from kdns.config.address import Address, normalize
from kdns.config.parser import Directive
from kdns.errors import ConfigError

if TYPE_CHECKING:
    from kdns.core.instance import Instance
    from kdns.pkg.httpserver import HttpHandler
    from kdns.plugin import Handler, PluginFactory

Hook = Callable[[], Awaitable[None]]


@dataclass(eq=False)
class BlockConfig:
    """One server block: its addresses, listen hosts and, after setup, its plugin chain."""

    addresses: list[Address]
    file: str
    line: int
    #: hosts to listen on; [""] means every address (set by *bind*)
    listen_hosts: list[str] = field(default_factory=lambda: [""])
    #: (directive, factory) in setup order; the instance sorts them into chain order
    factories: list[tuple[str, PluginFactory]] = field(default_factory=list)
    #: handler per directive name, filled when the chain is built
    handlers: dict[str, Handler] = field(default_factory=dict)
    chain: Handler | None = None
    #: the chain's handlers, first to last
    ordered: list[Handler] = field(default_factory=list)
    #: directives named in the block (for e.g. "is forward loaded")
    directives: set[str] = field(default_factory=set)

    @property
    def zones(self) -> list[str]:
        seen: list[str] = []
        for a in self.addresses:
            if a.zone not in seen:
                seen.append(a.zone)
        return seen

    @property
    def ports(self) -> list[int]:
        return sorted({a.port for a in self.addresses})


class Controller:
    """Cursor over one directive's lines in one server block (CoreDNS's caddy.Controller)."""

    def __init__(
        self, name: str, lines: list[Directive], config: BlockConfig, instance: Instance | None = None
    ) -> None:
        self.name = name
        self.lines = lines
        self.config = config
        self._instance = instance

    # -- reading -------------------------------------------------------------------

    def __iter__(self) -> Iterator[Directive]:
        return iter(self.lines)

    def once(self) -> Directive:
        """The directive's only line; a second one is an error."""
        if len(self.lines) > 1:
            raise self.err("plugin can only be used once per Server Block", at=self.lines[1])
        return self.lines[0]

    def err(self, msg: str, at: Directive | None = None) -> ConfigError:
        """A located error for this plugin: ``FILE:LINE: plugin/NAME: msg``."""
        d = at or (self.lines[0] if self.lines else None)
        return ConfigError(
            msg, file=d.file if d else self.config.file, line=d.line if d else self.config.line, plugin=self.name
        )

    def arg_err(self, at: Directive | None = None) -> ConfigError:
        return self.err("wrong argument count or unexpected line ending", at=at)

    def fail(self, msg: str, at: Directive | None = None) -> NoReturn:
        raise self.err(msg, at=at)

    def zones(self, args: list[str], at: Directive | None = None) -> list[str]:
        """Normalise zone arguments; none given means the block's zones. CIDRs expand."""
        if not args:
            return list(self.config.zones)
        from kdns.config.address import reverse_zones

        out: list[str] = []
        for a in args:
            try:
                out.extend(reverse_zones(a) if "/" in a else [normalize(a)])
            except ValueError as e:
                raise self.err(str(e), at=at) from e
        return out

    # -- wiring --------------------------------------------------------------------

    @property
    def instance(self) -> Instance:
        if self._instance is None:
            raise RuntimeError("controller has no instance (test controller)")
        return self._instance

    @property
    def checking(self) -> bool:
        """True under ``-check`` or a test controller: do not touch the network or files beyond reading."""
        return self._instance is None or self._instance.check_only

    def add_plugin(self, factory: PluginFactory) -> None:
        self.config.factories.append((self.name, factory))

    def on_startup(self, hook: Hook) -> None:
        if self._instance is not None:
            self._instance.startup_hooks.append(hook)

    def on_listening(self, hook: Hook) -> None:
        """Run once this config serves: its listeners bound and it the running instance (start, reload)."""
        if self._instance is not None:
            self._instance.listening_hooks.append(hook)

    def on_shutdown(self, hook: Hook) -> None:
        """Run when this config goes away: on reload and on stop."""
        if self._instance is not None:
            self._instance.shutdown_hooks.append(hook)

    def on_final_shutdown(self, hook: Hook) -> None:
        """Run only when the process stops (not on reload), before listeners close: lameduck."""
        if self._instance is not None:
            self._instance.final_hooks.append(hook)

    def http_route(self, addr: str, path: str, handler: HttpHandler) -> None:
        """Serve ``path`` on HTTP address ``addr`` (shared with other plugins on that address)."""
        if self._instance is not None:
            table = self._instance.http_routes.setdefault(addr, {})
            if path in table:
                raise self.err(f"{path} is already served on {addr}")
            table[path] = handler

    def shared(self, key: str, make: Callable[[], Any]) -> Any:
        """One object per instance and ``key`` (e.g. a metrics listener shared by blocks)."""
        if self._instance is None:
            return make()
        store = self._instance.shared
        if key not in store:
            store[key] = make()
        return store[key]


def test_controller(text: str, name: str | None = None, zones: tuple[str, ...] = (".",)) -> Controller:
    """A controller for the directive lines in ``text`` (all of one directive), for parse tests."""
    from kdns.config.lexer import tokenize
    from kdns.config.parser import _lines

    lines = _lines(tokenize(text, "Corefile"))
    if not lines:
        raise ValueError("no directive in text")
    dname = name or lines[0].name
    cfg = BlockConfig([Address("dns", normalize(z), 53) for z in zones], "Corefile", 1)
    return Controller(dname, [d for d in lines if d.name == dname], cfg)
