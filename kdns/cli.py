"""Command line: CoreDNS's flags plus -check and -loop."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from kdns import CORE_VERSION, __version__
from kdns import log as kdns_log
from kdns.config import registry
from kdns.config.parser import Corefile, parse, parse_file
from kdns.core.instance import Instance
from kdns.core.runner import Runner
from kdns.errors import ConfigError

DEFAULT_COREFILE = ".:{port} {{\n    whoami\n    log\n}}\n"
log = kdns_log.logger("main")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kdns", description="A CoreDNS-compatible DNS server.", allow_abbrev=False)
    p.add_argument("-conf", "--conf", metavar="FILE", help="Corefile to load (default ./Corefile)")
    p.add_argument(
        "-dns.port",
        "--dns.port",
        "-p",
        dest="port",
        type=int,
        default=53,
        help="default port for server keys without one (default 53)",
    )
    p.add_argument("-pidfile", "--pidfile", metavar="FILE", help="write the process id to FILE")
    p.add_argument("-plugins", "--plugins", action="store_true", help="list the installed plugins and exit")
    p.add_argument("-quiet", "--quiet", action="store_true", help="quiet mode (no startup lines)")
    p.add_argument("-version", "--version", action="store_true", help="show the version and exit")
    p.add_argument(
        "-check",
        "--check",
        action="store_true",
        help="parse and set up the Corefile without binding sockets; exit 1 on errors",
    )
    p.add_argument(
        "-loop",
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="event loop (default: uvloop when installed)",
    )
    return p


def corefile_loader(conf: str | None, port: int) -> tuple[Callable[[], Corefile], str]:
    """A function that (re)reads the Corefile, and a name for it."""
    if conf is None and os.path.exists("Corefile"):
        conf = "Corefile"
    if conf is None:
        text = DEFAULT_COREFILE.format(port=port)
        return (lambda: parse(text, "<default>")), "<default>"
    path = conf
    return (lambda: parse_file(path)), path


def check(load: Callable[[], Corefile], port: int) -> int:
    """Parse and set up every plugin without binding; print one line per error."""
    try:
        inst = Instance(load(), default_port=port, check_only=True)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    with contextlib.suppress(ConfigError):
        inst.setup()
    for err in inst.errors:
        print(err, file=sys.stderr)
    return 1 if inst.errors else 0


def _list_plugins() -> str:
    registry.load()
    known = registry.known()
    lines = ["Server types:", "  dns", "", "Plugins (chain order):"]
    for name in registry.order():
        spec = known.get(name)
        if spec is not None:
            lines.append(f"  dns.{name}" + (f"  ({spec.module})" if spec.external else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.version:
        print(
            f"kdns-{__version__}\nCoreDNS-{CORE_VERSION} compatible, "
            f"python {platform.python_version()}, {sys.platform}/{platform.machine()}"
        )
        return 0
    if args.plugins:
        print(_list_plugins())
        return 0
    kdns_log.setup(quiet=args.quiet)
    load, _ = corefile_loader(args.conf, args.port)
    if args.check:
        return check(load, args.port)
    runner = Runner(load, default_port=args.port)
    try:
        inst = runner.build()  # config errors are reported before anything is bound
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    return _run(_serve(runner, inst, args.pidfile, args.quiet), args.loop)


def _run(coro: object, loop_kind: str) -> int:
    if loop_kind in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if loop_kind == "uvloop":
                print("uvloop is not installed (pip install 'kdns[fast]')", file=sys.stderr)
                return 1
        else:
            return int(uvloop.run(coro))  # type: ignore[arg-type]
    return int(asyncio.run(coro))  # type: ignore[arg-type]


async def _serve(runner: Runner, inst: Instance, pidfile: str | None, quiet: bool) -> int:
    try:
        await runner.start(inst)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    except OSError as e:
        print(f"listen: {e}", file=sys.stderr)
        await runner.stop()
        return 1
    if pidfile:
        with open(pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")
    if not quiet:
        print(f"kdns-{__version__} (CoreDNS-{CORE_VERSION} compatible)", flush=True)
    loop = asyncio.get_running_loop()
    interrupts = 0

    tasks: set[asyncio.Task[None]] = set()

    def spawn(coro: Coroutine[Any, Any, Any]) -> None:
        t = loop.create_task(coro)
        tasks.add(t)
        t.add_done_callback(tasks.discard)

    def stop() -> None:
        spawn(runner.stop())

    def interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            os._exit(1)  # second Ctrl-C: exit at once
        stop()

    loop.add_signal_handler(signal.SIGTERM, stop)
    loop.add_signal_handler(signal.SIGINT, interrupt)
    loop.add_signal_handler(signal.SIGQUIT, lambda: os._exit(0))
    loop.add_signal_handler(signal.SIGHUP, lambda: None)
    loop.add_signal_handler(signal.SIGUSR1, lambda: spawn(runner.reload()))
    try:
        await runner.stopped.wait()
    finally:
        if pidfile:
            with contextlib.suppress(OSError):
                os.remove(pidfile)
    return 0
