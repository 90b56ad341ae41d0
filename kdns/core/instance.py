"""One loaded Corefile: its blocks set up, chains built, hooks to run. Binds nothing itself."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from kdns.config import registry
from kdns.config.address import parse_keys
from kdns.config.controller import BlockConfig, Controller, Hook
from kdns.config.parser import Corefile, Directive
from kdns.core import fastpath
from kdns.core.server import ANY_CLASS, Route, Server
from kdns.errors import ConfigError
from kdns.log import logger
from kdns.pkg.httpserver import Routes
from kdns.plugin import Handler

if TYPE_CHECKING:
    from kdns.core.runner import Runner

log = logger("instance")


class Instance:
    """The plugins of one Corefile. ``Runner`` binds its listeners and swaps instances on reload."""

    def __init__(self, corefile: Corefile, *, default_port: int = 53, check_only: bool = False) -> None:
        self.corefile = corefile
        self.default_port = default_port
        self.check_only = check_only
        self.blocks: list[BlockConfig] = []
        self.startup_hooks: list[Hook] = []
        #: run after the listeners are bound and this instance serves (e.g. loop's self-probe)
        self.listening_hooks: list[Hook] = []
        self.shutdown_hooks: list[Hook] = []
        self.final_hooks: list[Hook] = []
        self.http_routes: Routes = {}
        self.shared: dict[str, Any] = {}
        #: set when the process begins to stop (ready answers 503 from then on)
        self.stopping = False
        self.servers: dict[tuple[str, int], Server] = {}
        self.runner: Runner | None = None
        #: with check_only, every error found (setup goes on past the first)
        self.errors: list[ConfigError] = []

    # -- setup ----------------------------------------------------------------------

    def setup(self) -> None:
        """Parse every directive with its plugin's setup and build the chains; ConfigError on failure."""
        registry.load()
        order = registry.order()
        rank = {name: i for i, name in enumerate(order)}
        for sb in self.corefile.blocks:
            try:
                addresses = parse_keys(sb.keys, sb.file, sb.line, self.default_port)
            except ConfigError as e:
                self._fail(e)
                continue
            cfg = BlockConfig(addresses, sb.file, sb.line)
            lines: dict[str, list[Directive]] = defaultdict(list)
            for d in sb.directives:
                if d.name not in rank:
                    self._fail(ConfigError(f"unknown directive '{d.name}'", file=d.file, line=d.line))
                elif registry.get(d.name) is None:
                    self._fail(ConfigError("not supported by kdns yet", file=d.file, line=d.line, plugin=d.name))
                else:
                    lines[d.name].append(d)
            cfg.directives = set(lines)
            for name in order:
                if name in lines:
                    spec = registry.get(name)
                    assert spec is not None
                    try:
                        spec.setup(Controller(name, lines[name], cfg, self))
                    except ConfigError as e:
                        self._fail(e)
            self._build_chain(cfg, rank)
            self.blocks.append(cfg)
        try:
            self._check_duplicates()
        except ConfigError as e:
            self._fail(e)
        if self.errors:
            raise self.errors[0]

    def _fail(self, e: ConfigError) -> None:
        """Collect ``e`` when checking (to report every error), raise it otherwise."""
        if not self.check_only:
            raise e
        self.errors.append(e)

    @staticmethod
    def _build_chain(cfg: BlockConfig, rank: dict[str, int]) -> None:
        factories = sorted(cfg.factories, key=lambda f: rank[f[0]])
        nxt: Handler | None = None
        for name, factory in reversed(factories):
            nxt = factory(nxt)
            cfg.handlers[name] = nxt  # the first of several (e.g. forward) wins, as it runs first
            cfg.ordered.insert(0, nxt)
        cfg.chain = nxt

    def _check_duplicates(self) -> None:
        seen: dict[tuple[str, int, str], BlockConfig] = {}
        for cfg in self.blocks:
            for a in cfg.addresses:
                for host in cfg.listen_hosts:
                    key = (host, a.port, a.zone)
                    if key in seen and seen[key] is not cfg:
                        where = f"{host}:{a.port}" if host else f":{a.port}"
                        raise ConfigError(
                            f"cannot serve {a.scheme}://{a.zone}{where} - it is already defined",
                            file=cfg.file,
                            line=cfg.line,
                        )
                    seen[key] = cfg

    # -- what to listen on ----------------------------------------------------------------

    def listen_groups(self) -> dict[tuple[str, int], list[tuple[str, BlockConfig]]]:
        """(host, port) -> [(zone, block)] for every address the instance serves."""
        groups: dict[tuple[str, int], list[tuple[str, BlockConfig]]] = defaultdict(list)
        for cfg in self.blocks:
            for host in cfg.listen_hosts:
                for a in cfg.addresses:
                    groups[(host, a.port)].append((a.zone, cfg))
        return groups

    def make_server(self, label: str, zones: list[tuple[str, BlockConfig]]) -> Server:
        routes = {
            z: Route(z, cfg.chain, bool(cfg.directives & ANY_CLASS), fastpath.build(cfg.ordered)) for z, cfg in zones
        }
        return Server(label, routes, debug=any("debug" in cfg.directives for _, cfg in zones))

    # -- lifecycle ----------------------------------------------------------------------

    async def startup(self) -> None:
        for hook in self.startup_hooks:
            await hook()

    async def listening(self) -> None:
        """Listening hooks; a failing one is logged, the instance keeps serving."""
        for hook in self.listening_hooks:
            try:
                await hook()
            except Exception:
                log.exception("listening hook failed")

    async def lameduck(self) -> None:
        """Final-shutdown hooks (health's lameduck): DNS is still answered while they run."""
        await self._run(self.final_hooks)

    async def shutdown(self) -> None:
        await self._run(self.shutdown_hooks)

    @staticmethod
    async def _run(hooks: list[Hook]) -> None:
        for hook in hooks:
            try:
                await hook()
            except Exception:
                log.exception("shutdown hook failed")

    async def drain(self, timeout: float) -> None:
        await asyncio.gather(*(s.drain(timeout) for s in self.servers.values()))
