"""*any*: answer ANY queries with a short HINFO record (RFC 8482)."""

from kdns.plugins.any import setup as setup
