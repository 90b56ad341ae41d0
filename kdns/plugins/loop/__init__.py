"""*loop*: probes the server itself at startup and halts the process on a forwarding loop."""

from kdns.plugins.loop import setup as setup
