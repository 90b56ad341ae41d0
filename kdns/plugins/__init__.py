"""Every in-tree plugin, imported here so their ``@directive`` registrations happen in one place."""

from kdns.plugins import (
    acl,
    any,
    bind,
    errors,
    health,
    hosts,
    loadbalance,
    local,
    log,
    minimal,
    prometheus,
    ready,
    reload,
    rewrite,
    whoami,
)

__all__ = [
    "acl",
    "any",
    "bind",
    "errors",
    "health",
    "hosts",
    "loadbalance",
    "local",
    "log",
    "minimal",
    "prometheus",
    "ready",
    "reload",
    "rewrite",
    "whoami",
]
