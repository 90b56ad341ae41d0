"""The one chain order (CoreDNS's plugin.cfg). Earlier names see a query first."""

from __future__ import annotations

#: CoreDNS 1.14 plugin.cfg order; kdns implements a subset, the rest are "not supported" directives.
DIRECTIVES: tuple[str, ...] = (
    "root", "metadata", "geoip", "cancel", "proxyproto", "quic", "grpc_server", "https", "https3",
    "timeouts", "multisocket", "reload", "nsid", "bufsize", "bind", "debug", "trace", "ready",
    "health", "pprof", "shed", "prometheus", "errors", "log", "dnstap", "local", "dns64", "any",
    "chaos", "loadbalance", "tsig", "rewrite", "autopath", "acl", "cache", "header", "dnssec",
    "tls", "minimal", "template", "transfer", "hosts", "route53", "azure", "clouddns",
    "k8s_external", "kubernetes", "file", "auto", "secondary", "etcd", "loop", "forward", "grpc",
    "erratic", "whoami", "on", "sign", "view", "nomad",
)  # fmt: skip
