"""``prometheus [ADDRESS] { runtime_metrics }``: once per block; blocks may share an address."""

from __future__ import annotations

from dataclasses import dataclass

from kdns.config.controller import Controller
from kdns.config.registry import directive
from kdns.pkg.httpserver import http_addr
from kdns.plugins.prometheus.exporter import Exporter
from kdns.plugins.prometheus.plugin import NAME, Prometheus

DEFAULT_ADDR = "localhost:9153"
PATH = "/metrics"


@dataclass(frozen=True, slots=True)
class PrometheusOptions:
    addr: str = DEFAULT_ADDR


def parse(c: Controller) -> PrometheusOptions:
    d = c.once()
    addr = http_addr(c, d, DEFAULT_ADDR)
    for opt in d.block or []:
        if opt.name == "runtime_metrics":
            # Go runtime metrics have no Python counterpart; accepted so CoreDNS Corefiles run unchanged.
            if opt.args or opt.block is not None:
                raise c.arg_err(opt)
        elif opt.name == "tls":
            raise c.err("tls is not supported by kdns yet", at=opt)
        else:
            raise c.err(f"unknown option: {opt.name}", at=opt)
    return PrometheusOptions(addr)


@directive(NAME)
def setup(c: Controller) -> None:
    opts = parse(c)
    exporter: Exporter = c.shared(NAME, Exporter)
    exporter.blocks.append(c.config)
    if not c.checking:
        exporter.instance = c.instance
    if opts.addr not in exporter.addrs:  # blocks sharing an address share its /metrics
        exporter.addrs.add(opts.addr)
        c.http_route(opts.addr, PATH, exporter.serve)
    c.add_plugin(lambda nxt: Prometheus(next=nxt))
