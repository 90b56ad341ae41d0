"""*local*: answer localhost names and the loopback/this-net/broadcast reverse zones locally."""

from kdns.plugins.local import setup as setup
