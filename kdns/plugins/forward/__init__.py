"""*forward*: proxies queries to upstream resolvers over UDP, TCP or TLS, with health checks."""

from kdns.plugins.forward import setup as setup
