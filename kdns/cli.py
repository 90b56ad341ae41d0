"""Command line: CoreDNS's flags plus -check and -loop."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
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
from kdns.pkg import heap

DEFAULT_COREFILE = ".:{port} {{\n    whoami\n    log\n}}\n"
log = kdns_log.logger("main")


def _error(e: object) -> None:
    """Print an error as exactly one line on stderr (a newline in a token would split it)."""
    print(str(e).replace("\r", "\\r").replace("\n", "\\n"), file=sys.stderr, flush=True)


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kdns", description="A CoreDNS-compatible DNS server.", allow_abbrev=False)
    p.add_argument("-conf", "--conf", metavar="FILE", help="Corefile to load (default ./Corefile)")
    p.add_argument(
        "-dns.port",
        "--dns.port",
        "-p",
        dest="port",
        type=_port,
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
    """Parse and set up every plugin without binding; print one line per error, exit code 1 if any."""
    try:
        inst = Instance(load(), default_port=port, check_only=True)
    except ConfigError as e:
        _error(e)
        return 1
    errors: list[str] = []
    try:
        inst.setup()
    except ConfigError:
        pass  # every error is in inst.errors
    except Exception as e:  # a plugin bug: still one line, and the errors found before it
        errors.append(f"{inst.corefile.files[0]}: setup failed: {type(e).__name__}: {e}")
    for line in [str(err) for err in inst.errors] + errors:
        _error(line)
    return 1 if inst.errors or errors else 0


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
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["nodelocal"]:  # the node-local DNS agent (issue 5)
        from kdns import nodelocal

        return nodelocal.main(argv[1:])
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
        return asyncio.run(_in_loop(check, load, args.port))  # setup sees a running loop, as when serving
    return _run(_serve(Runner(load, default_port=args.port), args.pidfile, args.quiet), args.loop)


async def _in_loop(fn: Callable[..., int], *args: Any) -> int:
    return fn(*args)


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


async def _serve(runner: Runner, pidfile: str | None, quiet: bool) -> int:
    try:
        inst = runner.build()  # config errors are reported before anything is bound
    except ConfigError as e:
        _error(e)
        return 1
    except Exception as e:  # a plugin bug during setup: one line too, nothing bound
        _error(f"setup failed: {type(e).__name__}: {e}")
        return 1
    loop = asyncio.get_running_loop()
    started = asyncio.Event()
    tasks: set[asyncio.Task[None]] = set()
    interrupts = 0

    def spawn(action: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run ``action`` once the server has started (a signal may come while it starts)."""

        async def when_started() -> None:
            await started.wait()
            await action()

        t = loop.create_task(when_started())
        tasks.add(t)
        t.add_done_callback(tasks.discard)

    def interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            os._exit(1)  # second Ctrl-C: exit at once
        spawn(runner.stop)

    # handlers before binding: from the first answer on, signals do what they should
    loop.add_signal_handler(signal.SIGTERM, lambda: spawn(runner.stop))
    loop.add_signal_handler(signal.SIGINT, interrupt)
    loop.add_signal_handler(signal.SIGQUIT, lambda: os._exit(0))
    loop.add_signal_handler(signal.SIGHUP, lambda: None)
    loop.add_signal_handler(signal.SIGUSR1, lambda: spawn(runner.reload))
    try:
        await runner.start(inst)
    except ConfigError as e:
        _error(e)
        return 1
    except OSError as e:
        _error(f"listen: {e}")
        await runner.stop()
        return 1
    started.set()
    # what import and setup made lives as long as the process: keep the collector from walking it again
    gc.collect()
    heap.freeze()
    if pidfile:
        try:
            with open(pidfile, "w") as f:
                f.write(f"{os.getpid()}\n")
        except OSError as e:
            _error(f"pidfile: {e}")
            await runner.stop()
            return 1
    if not quiet:
        print(f"kdns-{__version__} (CoreDNS-{CORE_VERSION} compatible)", flush=True)
    try:
        await runner.stopped.wait()
    finally:
        if pidfile:
            with contextlib.suppress(OSError):
                os.remove(pidfile)
    return 0
