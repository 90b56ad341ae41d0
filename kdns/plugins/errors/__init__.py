"""*errors*: log the errors plugins raise, optionally consolidated per pattern and period."""

from kdns.plugins.errors import setup as setup
