"""`kdns nodelocal`: node-cache's agent. Renders the Corefile, sets up the node, serves DNS in-process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import ipaddress
import os
import signal
import sys
from dataclasses import dataclass, field

import dns.asyncquery
import dns.exception
import dns.message
from aiohttp import web
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from kdns import log as kdns_log
from kdns.config.parser import parse_file
from kdns.core.runner import Runner
from kdns.errors import ConfigError
from kdns.metrics import REGISTRY
from kdns.nodelocal import metrics, netsetup, template
from kdns.pkg.httpserver import split_addr

log = kdns_log.logger("nodelocal")
#: seconds between looks at the template and ConfigMap files (node-cache polls its ConfigMap every 10 s)
CONFIG_POLL = 10.0


@dataclass
class Options:
    local_ips: list[str]
    base_corefile: str = "/etc/coredns/Corefile.base"
    conf: str = "/etc/Corefile"
    upstream_svc: str = "kube-dns"
    kubedns_cm: str = "/etc/kube-dns"
    setup_interface: bool = True
    interface_name: str = "nodelocaldns"
    setup_iptables: bool = True
    sync_interval: float = 60.0
    health_port: int = 8080
    skip_teardown: bool = False
    metrics_addr: str = "0.0.0.0:9353"
    reload_with_signal: bool = False
    port: int = 53
    pidfile: str | None = None
    quiet: bool = False
    resolv_conf: str = template.RESOLV_CONF
    config_poll: float = CONFIG_POLL
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))


def _bool(text: str) -> bool:
    """Go's flag booleans: 1/t/true/TRUE/True and 0/f/false/..."""
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if text in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


def _ips(text: str) -> list[str]:
    ips = [s.strip() for s in text.split(",") if s.strip()]
    if not ips:
        raise argparse.ArgumentTypeError("no IP given")
    try:
        versions = {ipaddress.ip_address(ip).version for ip in ips}
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e
    if len(versions) > 1:
        raise argparse.ArgumentTypeError("all local IPs must be of one family")
    return ips


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from e
    if v <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return v


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kdns nodelocal", description="NodeLocal DNSCache agent (node-cache).", allow_abbrev=False
    )

    def opt(name: str, *more: str, **kw: object) -> None:
        p.add_argument(f"-{name}", f"--{name}", *more, **kw)  # type: ignore[arg-type]

    def flag(name: str, default: bool, help: str) -> None:
        opt(name, type=_bool, nargs="?", const=True, default=default, help=help)

    opt("localip", required=True, type=_ips, help="comma-separated IPs to listen on (one family)")
    opt("basecorefile", default=Options.base_corefile, help="the Corefile template")
    opt("conf", "-corefile", "--corefile", default=Options.conf, help="where to write the rendered Corefile")
    opt("upstreamsvc", default=Options.upstream_svc, help="Service whose ClusterIP is __PILLAR__CLUSTER__DNS__")
    opt("kubednscm", default=Options.kubedns_cm, help="the kube-dns ConfigMap mount (stubDomains, upstreamNameservers)")
    flag("setupinterface", True, "create the dummy interface holding the local IPs")
    opt("interfacename", default=Options.interface_name, help="name of that interface")
    flag("setupiptables", True, "add the NOTRACK/ACCEPT rules")
    opt("syncinterval", type=_positive, default=Options.sync_interval, help="seconds between setup checks")
    opt("health-port", dest="health_port", type=_port, default=Options.health_port, help="health port (rules)")
    flag("skipteardown", False, "keep the rules and the interface on exit")
    flag("reloadwithsignal", False, "send SIGUSR1 to self after rewriting the Corefile")
    opt("metrics-listen-address", dest="metrics_addr", default=Options.metrics_addr, help="the agent's metrics")
    opt("dns.port", "-p", dest="port", type=_port, default=53, help="DNS port (default 53)")
    opt("pidfile", help="write the process id to FILE")
    opt("quiet", action="store_true", help="quiet mode")
    return p


def parse_args(argv: list[str]) -> Options:
    a = _parser().parse_args(argv)
    return Options(
        local_ips=a.localip,
        base_corefile=a.basecorefile,
        conf=a.conf,
        upstream_svc=a.upstreamsvc,
        kubedns_cm=a.kubednscm,
        setup_interface=a.setupinterface,
        interface_name=a.interfacename,
        setup_iptables=a.setupiptables,
        sync_interval=a.syncinterval,
        health_port=a.health_port,
        skip_teardown=a.skipteardown,
        reload_with_signal=a.reloadwithsignal,
        metrics_addr=a.metrics_addr,
        port=a.port,
        pidfile=a.pidfile,
        quiet=a.quiet,
    )


class AgentError(Exception):
    """Cannot start: bad template or no cluster DNS address."""


class Agent:
    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.rules = netsetup.rules(opts.local_ips, opts.port, opts.health_port)
        self.kubedns = template.KubeDNS()
        self.rules_on = False  # set once the server answered
        self.stop = asyncio.Event()
        self._inputs = ""
        self._metrics: web.AppRunner | None = None

    # -- the Corefile --------------------------------------------------------------------

    def _digest(self) -> str:
        """What the rendered Corefile depends on: the template and the ConfigMap files."""
        h = hashlib.sha256()
        names = [self.opts.base_corefile] + [
            os.path.join(self.opts.kubedns_cm, n) for n in (template.STUB_DOMAINS, template.UPSTREAM_NAMESERVERS)
        ]
        for path in names:
            try:
                with open(path, "rb") as f:
                    h.update(f.read())
            except OSError:
                h.update(b"\0missing\0")
            h.update(b"\0")
        return h.hexdigest()

    def render(self) -> bool:
        """(Re)write the Corefile; True when its text changed. AgentError when there is none to write."""
        self._inputs = self._digest()
        try:
            with open(self.opts.base_corefile, encoding="utf-8") as f:
                base = f.read()
        except OSError as e:
            raise AgentError(f"cannot read the Corefile template: {e}") from e
        try:
            self.kubedns = template.read_kubedns(self.opts.kubedns_cm)
        except template.ConfigMapError as e:
            metrics.count_error("configmap")
            log.error("kube-dns ConfigMap: %s (keeping the last good one)", e)
        env = template.env_name(self.opts.upstream_svc)
        cluster_dns = self.opts.env.get(env, "")
        if not cluster_dns and template.CLUSTER_DNS in base:
            raise AgentError(f"cannot find the address of Service {self.opts.upstream_svc}: ${env} is not set")
        text = template.render(
            base,
            self.opts.local_ips,
            cluster_dns=cluster_dns,
            kubedns=self.kubedns,
            resolv_conf=self.opts.resolv_conf,
            port=self.opts.port,
        )
        try:
            with open(self.opts.conf, encoding="utf-8") as f:
                if f.read() == text:
                    return False
        except OSError:
            pass
        tmp = self.opts.conf + ".tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, self.opts.conf)
        except OSError as e:
            raise AgentError(f"cannot write {self.opts.conf}: {e}") from e
        log.info("wrote %s", self.opts.conf)
        return True

    async def _watch_config(self) -> None:
        while True:
            await asyncio.sleep(self.opts.config_poll)
            if self._digest() == self._inputs:
                continue
            try:
                changed = self.render()
            except AgentError as e:
                metrics.count_error("configmap")
                log.error("%s", e)
                continue
            if changed and self.opts.reload_with_signal:
                os.kill(os.getpid(), signal.SIGUSR1)

    # -- the node ------------------------------------------------------------------------

    def sync(self) -> None:
        """Make sure the interface and (once the server answers) the rules are there; count what fails."""
        if self.opts.setup_interface:
            try:
                if netsetup.ensure_interface(self.opts.interface_name, self.opts.local_ips):
                    log.info("set up interface %s with %s", self.opts.interface_name, ", ".join(self.opts.local_ips))
            except netsetup.SetupError as e:
                metrics.count_error(e.errortype)
                log.error("%s", e)
        if self.opts.setup_iptables and self.rules_on:
            try:
                added = netsetup.ensure_rules(self.rules)
            except netsetup.SetupError as e:
                metrics.count_error(e.errortype)
                log.error("%s", e)
            else:
                if added:
                    log.info("added %d iptables rules", len(added))

    def delete_rules(self) -> None:
        if self.opts.setup_iptables and not self.opts.skip_teardown:
            for err in netsetup.delete_rules(self.rules):
                log.error("removing iptables rule: %s", err)

    def teardown(self) -> None:
        """Remove the interface (the rules went before the server stopped)."""
        if self.opts.skip_teardown:
            return
        if self.opts.setup_interface:
            problem = netsetup.remove_interface(self.opts.interface_name)
            if problem:
                log.error("removing interface %s: %s", self.opts.interface_name, problem)

    async def _answers(self) -> bool:
        """Does the server answer on the first local IP? (A query without a question: the server itself replies.)"""
        q = dns.message.Message()
        try:
            await dns.asyncquery.udp(q, self.opts.local_ips[0], port=self.opts.port, timeout=1.0)
        except (dns.exception.DNSException, OSError):
            return False
        return True

    async def _wait_answering(self) -> None:
        """Poll until the server answers (there is no event for "the kernel delivers to the listener")."""
        answered = False
        while not answered:
            answered = await self._answers()
            if not answered:
                await asyncio.sleep(0.2)

    async def _keep_in_sync(self) -> None:
        if self.opts.setup_iptables:
            await self._wait_answering()
            self.rules_on = True
        while True:
            await asyncio.to_thread(self.sync)
            await asyncio.sleep(self.opts.sync_interval)

    # -- metrics -------------------------------------------------------------------------

    async def _start_metrics(self) -> None:
        async def handler(_: web.Request) -> web.Response:
            body = await asyncio.to_thread(generate_latest, REGISTRY)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})

        app = web.Application()
        app.router.add_get("/metrics", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            host, port = split_addr(self.opts.metrics_addr, 9353)
            await web.TCPSite(runner, host or None, port).start()
        except (OSError, ValueError) as e:
            log.error("metrics on %s: %s", self.opts.metrics_addr, e)
            await runner.cleanup()
            return
        self._metrics = runner

    # -- the whole -----------------------------------------------------------------------

    async def run(self) -> int:
        metrics.init()
        try:
            self.render()
        except AgentError as e:
            print(e, file=sys.stderr, flush=True)
            return 1
        if self.opts.setup_interface:
            await asyncio.to_thread(self.sync)  # before binding: the addresses must exist
        await self._start_metrics()
        runner = Runner(lambda: parse_file(self.opts.conf), default_port=self.opts.port)
        try:
            status = await self._serve(runner)
        finally:
            await asyncio.to_thread(self.teardown)
            if self._metrics is not None:
                await self._metrics.cleanup()
        return status

    async def _serve(self, runner: Runner) -> int:
        try:
            inst = runner.build()
        except ConfigError as e:
            print(e, file=sys.stderr, flush=True)
            return 1
        loop = asyncio.get_running_loop()
        reloads: set[asyncio.Task[bool]] = set()

        def reload() -> None:
            t = loop.create_task(runner.reload())
            reloads.add(t)
            t.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGTERM, self.stop.set)
        loop.add_signal_handler(signal.SIGINT, self.stop.set)
        loop.add_signal_handler(signal.SIGUSR1, reload)
        try:
            await runner.start(inst)
        except ConfigError as e:
            print(e, file=sys.stderr, flush=True)
            return 1
        except OSError as e:
            print(f"listen: {e}", file=sys.stderr, flush=True)
            await runner.stop()
            return 1
        if self.opts.pidfile:
            with open(self.opts.pidfile, "w") as f:
                f.write(f"{os.getpid()}\n")
        tasks = [loop.create_task(self._keep_in_sync()), loop.create_task(self._watch_config())]
        stopped = loop.create_task(runner.stopped.wait())
        stop = loop.create_task(self.stop.wait())
        try:
            await asyncio.wait([stopped, stop], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in [*tasks, stopped, stop]:
                t.cancel()
            await asyncio.gather(*tasks, stopped, stop, return_exceptions=True)
            log.info("stopping")
            # rules go first, so clients fall back to the cluster DNS before the listeners close
            await asyncio.to_thread(self.delete_rules)
            if not runner.stopped.is_set():
                await runner.stop()
            if self.opts.pidfile:
                with contextlib.suppress(OSError):
                    os.remove(self.opts.pidfile)
        return 0
