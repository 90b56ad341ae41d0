"""*autopath*: server-side search path completion (one round trip instead of the client's walk)."""

from kdns.plugins.autopath import setup as setup
